#!/bin/bash
# Ends that must be clean: destroy with the image mounted, module unload
# with snapshots alive, removal of the original device while its snapshot
# is held.
. "$SRC/tests/guest/20-cbt/bs-lib.sh"
need_blkfilter
cleanup() { umount /mnt/img 2>/dev/null; bs_cleanup; dmsetup remove -f bsorig 2>/dev/null; true; }
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
expect_err ENOENT info /dev/vdb
rmmod blksnap || fail "rmmod with snapshots alive"
load_blksnap

# 4. The original device disappears while its snapshot is held.
dmsetup create bsorig --table "0 262144 linear /dev/vda 0" || fail dmsetup
bs stamp /dev/mapper/bsorig A 0 256
bs attach /dev/mapper/bsorig
dev=$(devnum /dev/mapper/bsorig)
img=$(image /dev/mapper/bsorig)
id=$(snap_take /dev/vdc 0 /dev/mapper/bsorig) || exit 1
bs stamp /dev/mapper/bsorig B 0 16
dmsetup remove bsorig || fail "dmsetup remove"
expect_eq "$(bs wait "$id" 10000 2>/dev/null)" "code=0 dev=$dev err=-19" "corrupted event on removal"
if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	fail "image read succeeded after the original went away"
fi
bs destroy "$id"
exit 0
