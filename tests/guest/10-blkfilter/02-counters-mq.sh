#!/bin/bash
# Exact counters on a blk-mq device (virtio-blk): whole disk and partitions,
# each seen only by its own filter; sysfs attribute of disks and partitions;
# a partition with a filter is busy.
. "$(dirname "$0")/common.sh"
disk=/dev/vdb
cleanup() {
	for d in ${disk}1 ${disk}2 $disk; do detach_quiet $d; done
	unload_module $TF_MOD
}
trap cleanup EXIT
tf_load

# Two partitions of 10 MiB.
printf 'start=2048, size=20480\nstart=22528, size=20480\n' | sfdisk -q $disk \
	|| fail "sfdisk $disk"
wait_for_dev ${disk}1
wait_for_dev ${disk}2

# Whole disk.
bf_expect OK attach $disk testfilter
expect_eq "$(cat /sys/block/vdb/filter)" testfilter "/sys/block/vdb/filter"
expect_eq "$(cat /sys/block/vdb/vdb1/filter)" "" "/sys/block/vdb/vdb1/filter"
count_io $disk strict
# I/O to a partition is seen by the partition's filter, not the disk's.
bf_expect OK reset $disk
dio_write ${disk}1 4096 4
dio_read ${disk}2 4096 4
expect_counters $disk write_bios=0 read_bios=0

# First partition, with the disk still filtered.
bf_expect OK attach ${disk}1 testfilter
expect_eq "$(cat /sys/block/vdb/vdb1/filter)" testfilter "/sys/block/vdb/vdb1/filter"
expect_eq "$(cat /sys/block/vdb/vdb2/filter)" "" "/sys/block/vdb/vdb2/filter"
count_io ${disk}1 strict
bf_expect OK reset $disk
bf_expect OK reset ${disk}1
dio_write ${disk}2 4096 4
dio_write $disk 4096 2
expect_counter ${disk}1 write_bios 0
expect_counter $disk write_bios 2

# Another filter on the second partition.
bf_expect OK attach ${disk}2 testfilter2
expect_eq "$(cat /sys/block/vdb/vdb2/filter)" testfilter2 "/sys/block/vdb/vdb2/filter"
bf_expect EBUSY attach ${disk}2 testfilter
expect_eq "$(tf_refcnt)" 3 "refcnt with three attachments"

# Filtered partitions cannot be deleted.
expect_fail blockdev --rereadpt $disk
[ -b ${disk}1 ] || fail "${disk}1 deleted while filtered"

bf_expect OK detach ${disk}2 testfilter2
bf_expect OK detach ${disk}1 testfilter
expect_eq "$(cat /sys/block/vdb/vdb1/filter)" "" "/sys/block/vdb/vdb1/filter after detach"
expect_ok blockdev --rereadpt $disk
bf_expect OK detach $disk testfilter
expect_eq "$(cat /sys/block/vdb/filter)" "" "/sys/block/vdb/filter after detach"
expect_eq "$(tf_refcnt)" 0 "refcnt after detaching all"

# Leave the disk without a partition table.
dd if=/dev/zero of=$disk bs=1M count=1 oflag=direct status=none
blockdev --rereadpt $disk
exit 0
