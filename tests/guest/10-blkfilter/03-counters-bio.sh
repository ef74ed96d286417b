#!/bin/bash
# Exact counters on bio-based devices: brd and dm-linear. A filter on a
# dm device and one on the disk below it each see the bios once.
. "$(dirname "$0")/common.sh"
lower=/dev/vdc
dmname=bf-linear
cleanup() {
	[ -b /dev/ram0 ] && detach_quiet /dev/ram0
	[ -n "${DM:-}" ] && detach_quiet $DM
	detach_quiet $lower
	dm_remove $dmname
	grep -q '^brd ' /proc/modules && rmmod brd
	unload_module $TF_MOD
}
trap cleanup EXIT
tf_load

# brd (bio-based, in-tree module of the test kernel)
if modprobe brd rd_nr=1 rd_size=16384 2>/dev/null; then
	wait_for_dev /dev/ram0
	bf_expect OK attach /dev/ram0 testfilter
	expect_eq "$(cat /sys/block/ram0/filter)" testfilter "/sys/block/ram0/filter"
	count_io /dev/ram0
	bf_expect OK detach /dev/ram0 testfilter
	expect_ok rmmod brd
else
	log "brd is not available: dm-linear only"
fi

# dm-linear over a virtio disk, both filtered
sectors=$(blockdev --getsz $lower)
dm_create $dmname "0 $((sectors / 2)) linear $lower 0"
dm=$DM
bf_expect OK attach $dm testfilter
expect_eq "$(sysfs_filter $dm)" testfilter "dm sysfs filter"
count_io $dm

bf_expect OK attach $lower testfilter
bf_expect OK reset $dm
bf_expect OK reset $lower
dio_write $dm 4096 6
dio_read $dm 4096 4
expect_counters $dm write_bios=6 read_bios=4
expect_counters $lower write_bios=6 read_bios=4 write_sectors=48
bf_expect OK detach $lower testfilter
bf_expect OK detach $dm testfilter
expect_ok dmsetup remove $dmname
expect_eq "$(tf_refcnt)" 0 "refcnt"
exit 0
