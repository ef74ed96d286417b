#!/bin/bash
# A device deleted while a filter is attached: the filter is detached
# automatically, its module reference dropped, postponed bios flushed, no
# splat. Loop devices (whole disk and partition), brd, dm.
. "$(dirname "$0")/common.sh"
img=/tmp/bf-delete.img
loop=
cleanup() {
	[ -n "$loop" ] && [ -b "$loop" ] && { detach_quiet ${loop}p1; detach_quiet $loop; losetup -d $loop 2>/dev/null; }
	[ -b /dev/ram0 ] && detach_quiet /dev/ram0
	[ -n "${DM:-}" ] && [ -b "$DM" ] && detach_quiet $DM
	dm_remove bf-delete
	grep -q '^brd ' /proc/modules && rmmod brd
	set_param mode 0
	unload_module $TF_MOD
	rm -f $img
}
trap cleanup EXIT
tf_load
truncate -s 64M $img

# gone DEV: wait for the node to disappear
gone() {
	local i
	for i in $(seq 50); do
		[ -e "$1" ] || return 0
		sleep 0.1
	done
	fail "$1 still exists"
}

# 1. Loop device: clearing it keeps the disk (and the filter); removing it
#    deletes the disk and detaches the filter.
loop=$(losetup -f --show $img) || fail "losetup"
n=${loop#/dev/loop}
bf_expect OK attach $loop testfilter
dio_write $loop 4096 4
expect_counter $loop write_bios 4
expect_ok losetup -d $loop
expect_eq "$(sysfs_filter $loop)" testfilter "filter of a cleared loop device"
expect_eq "$(tf_refcnt)" 1 "refcnt with the cleared loop device"
bf_expect OK looprm $n
gone /sys/block/loop$n
expect_eq "$(tf_refcnt)" 0 "refcnt after removing the loop device"
loop=

# 2. Loop device with a filtered partition (and postponed writes).
printf 'start=2048, size=20480\n' | sfdisk -q $img || fail "sfdisk $img"
loop=$(losetup -f -P --show $img) || fail "losetup -P"
n=${loop#/dev/loop}
wait_for_dev ${loop}p1
bf_expect OK attach ${loop}p1 testfilter
bf_expect OK mode ${loop}p1 1
dio_write ${loop}p1 4096 4
expect_counter ${loop}p1 postponed 4
expect_ok losetup -d $loop
bf_expect OK looprm $n
gone /sys/block/loop$n
expect_eq "$(tf_refcnt)" 0 "refcnt after removing the partitioned loop device"
loop=

# 3. brd: rmmod with filters attached, writes postponed.
if modprobe brd rd_nr=2 rd_size=8192 2>/dev/null; then
	wait_for_dev /dev/ram0
	wait_for_dev /dev/ram1
	echo 1 > /sys/module/$TF_MOD/parameters/mode
	bf_expect OK attach /dev/ram0 testfilter
	bf_expect OK attach /dev/ram1 testfilter2
	echo 0 > /sys/module/$TF_MOD/parameters/mode
	dio_write /dev/ram0 4096 8
	expect_counter /dev/ram0 postponed 8
	expect_eq "$(tf_refcnt)" 2 "refcnt with brd attached"
	expect_ok rmmod brd
	expect_eq "$(tf_refcnt)" 0 "refcnt after rmmod brd"
else
	log "brd is not available"
fi

# 4. dm: dmsetup remove (marks the disk dead, then deletes it).
dm_create bf-delete "0 65536 linear /dev/vdc 0"
bf_expect OK attach $DM testfilter
dio_write $DM 4096 4
expect_counter $DM write_bios 4
expect_ok dmsetup remove bf-delete
DM=
expect_eq "$(tf_refcnt)" 0 "refcnt after dmsetup remove"

expect_ok rmmod $TF_MOD
exit 0
