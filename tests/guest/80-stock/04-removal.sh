#!/bin/bash
# A filtered disk that goes away (del_gendisk) is detached as with the
# kernel's framework: its snapshot fails, nothing leaks, and the next disk
# that gets the same device number is a new, unfiltered device.
. "$SRC/tests/guest/80-stock/stock-lib.sh"
stock_setup
trap 'blksnap_cleanup; rmmod scsi_debug 2>/dev/null' EXIT
objects() { cat /sys/kernel/debug/blksnap/objects; }
base=$(objects)

modprobe scsi_debug dev_size_mb=64 || fail "modprobe scsi_debug"
sd=$(scsi_debug_disk)
num=$(devnum /dev/$sd)
expect_ok "$BS" attach /dev/$sd
stamp /dev/$sd A 0 256
id=$("$BS" snapshot create --storage /dev/vdd --limit 256M --take /dev/$sd) ||
	fail "snapshot failed"
img=$(image /dev/$sd)
verify "$img" A 0 256
# Writes race with the deletion; they may fail, the kernel must not. Once
# the node is gone, dd must not create a regular file in its place, which
# would keep devtmpfs from making the new disk's node.
dd if=/dev/zero of=/dev/$sd bs=4096 count=64 oflag=direct conv=nocreat \
	status=none 2>/dev/null &
echo 1 > /sys/block/$sd/device/delete
wait || true
expect_eq "$(filters)" "" "filters after the disk was deleted"
expect_eq "$(hooks)" 0 "hooks after the last filter went with its disk"
# Its writes are no longer seen: the image must fail, not lie.
expect_fail dd if="$img" of=/dev/null bs=4096 count=256 iflag=direct status=none
expect_ok "$BS" snapshot destroy "$id"
expect_eq "$(objects)" "$base" "object counts after the deletion"

# The same device number, a new disk: not filtered, attachable.
echo 1 > /sys/bus/pseudo/drivers/scsi_debug/add_host
sd=$(scsi_debug_disk)
if [ "$(devnum /dev/$sd)" = "$num" ]; then
	log "the new disk $sd reuses $num"
else
	log "the new disk $sd got $(devnum /dev/$sd), not $num"
fi
expect_eq "$(filters)" "" "the new disk is not filtered"
stamp /dev/$sd C 0 16
expect_ok "$BS" attach /dev/$sd
expect_ok "$BS" detach /dev/$sd
expect_ok rmmod blksnap
exit 0
