#!/bin/bash
# The filter takes every write bio, postpones it to a work queue and sends
# it on with resubmit_filtered_bio(): the data must be intact (fio verify),
# and every postponed bio resubmitted once. On blk-mq and bio-based devices.
. "$(dirname "$0")/common.sh"
disk=/dev/vdd
dmname=bf-postpone
cleanup() {
	[ -n "${DM:-}" ] && detach_quiet $DM
	dm_remove $dmname
	detach_quiet $disk
	unload_module $TF_MOD
}
trap cleanup EXIT
tf_load

# fio_verify DEV EXTRA-ARGS...: write then verify with crc32c
fio_verify() {
	local dev=$1
	shift
	fio --name=postpone --filename="$dev" --size=8M --bsrange=4k-64k \
		--rw=randwrite --verify=crc32c --verify_fatal=1 --do_verify=1 \
		--randseed=$RANDOM "$@" --output=/tmp/fio.out >/dev/null 2>&1 \
		|| { cat /tmp/fio.out; fail "fio $* on $dev"; }
}

# postpone DEV MODE
postpone() {
	local dev=$1 mode=$2
	bf_expect OK reset $dev
	bf_expect OK mode $dev $mode
	fio_verify $dev --direct=1 --ioengine=libaio --iodepth=16
	fio_verify $dev --direct=0 --ioengine=psync --end_fsync=1
	bf_expect OK mode $dev 0
	local p r
	p=$(counter $dev postponed)
	r=$(counter $dev resubmitted)
	[ "$p" -gt 0 ] || fail "$dev: no bio postponed"
	expect_eq "$r" "$p" "$dev: resubmitted bios"
	expect_counter $dev postponed "$(counter $dev write_bios)"
	expect_counters $dev own_seen=0 bad_context=0
}

bf_expect OK attach $disk testfilter
postpone $disk 1
postpone $disk 3
bf_expect OK detach $disk testfilter

sectors=$(blockdev --getsz $disk)
dm_create $dmname "0 $((sectors / 4)) linear $disk 0"
bf_expect OK attach $DM testfilter
postpone $DM 1
bf_expect OK detach $DM testfilter
expect_ok dmsetup remove $dmname
exit 0
