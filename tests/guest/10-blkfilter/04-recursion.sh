#!/bin/bash
# Recursion guard: in TESTFILTER_MODE_OWN_READ the filter submits a read of
# its own to the device from its submit_bio callback for each write; those
# reads reach the device but never come back to the filter. Checked on a
# blk-mq disk, on a partition and on a bio-based (dm) device.
. "$(dirname "$0")/common.sh"
disk=/dev/vdc
dmname=bf-recursion
cleanup() {
	[ -n "${DM:-}" ] && detach_quiet $DM
	dm_remove $dmname
	detach_quiet ${disk}1
	detach_quiet $disk
	unload_module $TF_MOD
}
trap cleanup EXIT
tf_load

# own_reads DEV: 10 writes, each followed by one own read of the filter
own_reads() {
	local dev=$1
	bf_expect OK reset $dev
	bf_expect OK mode $dev 2
	expect_counter $dev mode 2
	dio_write $dev 4096 10
	bf_expect OK mode $dev 0
	# The own reads complete asynchronously.
	for i in $(seq 50); do
		[ "$(counter $dev own_completed)" = 10 ] && break
		sleep 0.1
	done
	expect_counters $dev write_bios=10 own_submitted=10 own_completed=10 \
		own_errors=0 own_seen=0 read_bios=0 bad_context=0
}

bf_expect OK attach $disk testfilter
own_reads $disk
bf_expect OK detach $disk testfilter

printf 'start=2048, size=20480\n' | sfdisk -q $disk || fail "sfdisk $disk"
wait_for_dev ${disk}1
bf_expect OK attach ${disk}1 testfilter
bf_expect OK attach $disk testfilter
own_reads ${disk}1
# The own reads went to the partition: the disk's filter did not see them.
expect_counter $disk read_bios 0
bf_expect OK detach ${disk}1 testfilter
bf_expect OK detach $disk testfilter

sectors=$(blockdev --getsz $disk)
dm_create $dmname "0 $((sectors / 2)) linear $disk 0"
dm=$DM
bf_expect OK attach $dm testfilter
# The same filter attached below sees the own reads of the dm instance:
# the guard only skips the instance that submitted them.
bf_expect OK attach $disk testfilter
bf_expect OK reset $disk
own_reads $dm
expect_counters $disk write_bios=10 read_bios=10
bf_expect OK detach $disk testfilter
bf_expect OK detach $dm testfilter
expect_ok dmsetup remove $dmname

dd if=/dev/zero of=$disk bs=1M count=1 oflag=direct status=none
blockdev --rereadpt $disk
exit 0
