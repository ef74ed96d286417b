#!/bin/bash
# IOCTL_BLKSNAP_BDEV_FILTER with bad input: each case gets its documented
# errno (section 3.8 of the specification) and leaves nothing attached.
. "$SRC/tests/guest/80-stock/stock-lib.sh"
stock_setup
echo data > /tmp/regular

expect_ctl ENOTBLK /tmp/regular attach
expect_ctl ENOTBLK /tmp attach
expect_ctl ENOTBLK /dev/null attach
expect_ctl EBADF fd:1000 attach
expect_ctl EBADF fd:-1 attach
expect_ctl EINVAL /dev/vdb 0
expect_ctl EINVAL /dev/vdb 0x12345678
expect_ctl ENOENT /dev/vdb attach nosuchfilter
expect_ctl ENOENT /dev/vdb detach
expect_ctl ENOENT /dev/vdb cbtinfo
expect_eq "$(filters)" "" "filters after the bad commands"
expect_eq "$(hooks)" 0 "hooks after the bad commands"

# Attached: the other errors of the framework's ioctls.
expect_ctl OK /dev/vdb attach
expect_ctl EALREADY /dev/vdb attach
expect_ctl EINVAL /dev/vdb detach otherfilter
expect_ctl ENOENT /dev/vdb cbtinfo otherfilter
# A name without its terminating zero.
expect_ctl EINVAL /dev/vdb attach "$(printf 'x%.0s' $(seq 40))"

# The snapshot image itself cannot be filtered.
id=$("$BS" snapshot create --storage /dev/vdd --limit 256M --take /dev/vdb) ||
	fail "snapshot failed"
expect_ctl EINVAL "$(image /dev/vdb)" attach
expect_ok "$BS" snapshot destroy "$id"
expect_ctl OK /dev/vdb detach

# A partition has a filter of its own; the partition cannot be deleted
# while it is filtered.
echo ',64M' | sfdisk -q /dev/vdc || fail "sfdisk"
wait_for_dev /dev/vdc1
expect_ctl OK /dev/vdc1 attach
expect_eq "$(filters)" "$(devnum /dev/vdc1) vdc1" "the partition's filter"
stamp /dev/vdc1 P 0 16
"$BS" readcbtmap /dev/vdc1 > /dev/null || fail "readcbtmap of the partition"
expect_fail blockdev --rereadpt /dev/vdc
expect_ctl OK /dev/vdc1 detach
expect_ok blockdev --rereadpt /dev/vdc
wipefs -qa /dev/vdc > /dev/null

# A disk being removed: its descriptor stays open after the deletion.
modprobe scsi_debug dev_size_mb=64 || fail "modprobe scsi_debug"
sd=$(scsi_debug_disk)
exec 7< /dev/$sd
echo 1 > /sys/block/$sd/device/delete
expect_ctl ENODEV fd:7 attach
exec 7<&-
rmmod scsi_debug

expect_eq "$(filters)" "" "nothing attached at the end"
expect_eq "$(hooks)" 0 "no hook at the end"
exit 0
