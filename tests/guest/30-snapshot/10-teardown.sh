#!/bin/bash
# Ends that must be clean: destroy with the image mounted, module unload
# with snapshots alive, removal of the original device while its snapshot
# is held (refused for dm, deferred for loop, forced by null_blk).
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
cleanup() {
	umount /mnt/img 2>/dev/null
	blksnap_cleanup
	dmsetup remove -f bsorig 2>/dev/null
	[ -n "${loopdev:-}" ] && losetup -d "$loopdev" 2>/dev/null
	[ -d /sys/kernel/config/nullb/bsnb ] && { echo 0 > /sys/kernel/config/nullb/bsnb/power; rmdir /sys/kernel/config/nullb/bsnb; }
	true
}
trap cleanup EXIT

load_blksnap
# 1. Destroy while the image is mounted.
mkfs.ext4 -q -F /dev/vdb || fail mkfs
bs attach /dev/vdb
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
mkdir -p /mnt/img
mount -o ro "$(image /dev/vdb)" /mnt/img || fail "mount image"
ls /mnt/img > /dev/null
bs destroy "$id"
ls /mnt/img > /dev/null 2>&1
umount /mnt/img 2>/dev/null || umount -l /mnt/img
expect_eq "$(bs collect null)" "count=0" "no snapshot left"

# 2. Open image held by a process during destroy.
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
exec 7< "$(image /dev/vdb)"
bs destroy "$id"
dd of=/dev/null bs=4096 count=1 status=none <&7 2>/dev/null
exec 7<&-

# 3. Unload with snapshots alive (created, and taken then detached).
mkdir -p /tmp/ds
bs create /tmp/ds 65536 >/dev/null
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
if rmmod blksnap 2>/dev/null; then fail "rmmod succeeded with a filter attached"; fi
bs detach /dev/vdb
expect_errno ENOENT info /dev/vdb
rmmod blksnap || fail "rmmod with snapshots alive"
load_blksnap

# 4. A snapshot holds its originals open from the take to the destroy:
# a dm original cannot be removed under it and the image stays exact.
dmsetup create bsorig --table "0 262144 linear /dev/vda 0" || fail dmsetup
bs stamp /dev/mapper/bsorig A 0 256
bs attach /dev/mapper/bsorig
dev=$(devnum /dev/mapper/bsorig)
img=$(image /dev/mapper/bsorig)
id=$(snap_take /dev/vdc 0 /dev/mapper/bsorig) || exit 1
bs stamp /dev/mapper/bsorig B 0 16
out=$(dmsetup remove bsorig 2>&1) && fail "dmsetup remove of a snapshot's original succeeded"
case "$out" in *busy*) ;; *) fail "dmsetup remove: expected busy, got: $out" ;; esac
bs verify "$img" A 0 256 || fail "image after the refused removal"
bs verify /dev/mapper/bsorig B 0 16 || fail "original after the refused removal"
# Detaching the filter is allowed: the snapshot can no longer follow the
# writes, so it reports itself corrupted and its image fails.
bs detach /dev/mapper/bsorig
# An event the kernel cannot copy out (read-only argument) stays queued.
expect_eq "$("$BSCTL" wait "$id" 10000 ro-filled 2>/dev/null)" "ERR EFAULT" "wait into a read-only argument"
expect_eq "$(bs wait "$id" 10000 2>/dev/null)" "code=0 dev=$dev err=-19" "corrupted event on detach"
if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	fail "image read succeeded after the filter was detached"
fi
bs destroy "$id"
dmsetup remove bsorig || fail "dmsetup remove after destroy"

# 5. A loop original detached under a snapshot is cleared at the destroy
# (loop defers it to the last close), not while the image reads it.
truncate -s 64M /tmp/loop-orig.img
loopdev=$(losetup -f --show /tmp/loop-orig.img) || fail losetup
bs stamp "$loopdev" A 0 256
bs attach "$loopdev"
img=$(image "$loopdev")
id=$(snap_take /dev/vdc 0 "$loopdev") || exit 1
bs stamp "$loopdev" B 0 16
losetup -d "$loopdev" || fail "losetup -d"
bs verify "$img" A 0 256 || fail "image after losetup -d"
bs verify "$loopdev" B 0 16 || fail "loop original after losetup -d"
[ -e "/sys/block/${loopdev#/dev/}/loop/backing_file" ] || fail "loop cleared while its snapshot holds it"
bs destroy "$id"
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -e "/sys/block/${loopdev#/dev/}/loop/backing_file" ] || break
	sleep 0.2
done
[ -e "/sys/block/${loopdev#/dev/}/loop/backing_file" ] && fail "loop not cleared after the destroy"
rm -f /tmp/loop-orig.img

# 6. Hot removal: null_blk deletes its disk even while it is open. The
# snapshot is corrupted with -ENODEV, its image fails, destroy is clean.
modprobe null_blk nr_devices=0 || fail "modprobe null_blk"
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config || fail "mount configfs"
nb=/sys/kernel/config/nullb/bsnb
mkdir "$nb" || fail "nullb mkdir"
echo 64 > "$nb/size"
echo 1 > "$nb/memory_backed"
echo 1 > "$nb/power" || fail "nullb power on"
# 6.12 names the disk after the configfs item; older kernels nullb<index>.
nbdev=/dev/bsnb
[ -b "$nbdev" ] || nbdev=/dev/nullb$(cat "$nb/index")
[ -b "$nbdev" ] || fail "no $nbdev"
bs stamp "$nbdev" A 0 256
bs attach "$nbdev"
dev=$(devnum "$nbdev")
img=$(image "$nbdev")
id=$(snap_take /dev/vdc 0 "$nbdev") || exit 1
bs stamp "$nbdev" B 0 16
bs verify "$img" A 0 256 || fail "null_blk image before removal"
echo 0 > "$nb/power" || fail "nullb power off"
expect_eq "$(bs wait "$id" 10000 2>/dev/null)" "code=0 dev=$dev err=-19" "corrupted event on hot removal"
if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	fail "image read succeeded after the original went away"
fi
bs destroy "$id"
rmdir "$nb" || fail "nullb rmdir"
rmmod null_blk || fail "rmmod null_blk"
exit 0
