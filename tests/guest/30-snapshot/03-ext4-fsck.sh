#!/bin/bash
# ext4 on the original under a writer: the image taken meanwhile is a clean
# file system, and it can be mounted and written (changes stay in the
# difference storage).
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
cleanup() {
	kill $writer 2>/dev/null; wait 2>/dev/null
	fsfreeze -u /mnt/orig 2>/dev/null
	umount /mnt/img /mnt/orig 2>/dev/null; blksnap_cleanup; true
}
trap cleanup EXIT
writer=

load_blksnap
mkfs.ext4 -q -F /dev/vdb || fail mkfs
mkdir -p /mnt/orig /mnt/img
mount /dev/vdb /mnt/orig || fail mount
bs attach /dev/vdb
( i=0; while :; do
	dd if=/dev/urandom of=/mnt/orig/f$((i % 20)) bs=64k count=4 status=none
	i=$((i + 1))
done ) &
writer=$!
sleep 3
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
sleep 3
img=$(image /dev/vdb)
e2fsck -fn "$img" > e2fsck.log 2>&1 || { cat e2fsck.log; fail "fsck of the image is not clean"; }

# Mount it and write: the original must not change.
kill $writer; wait $writer 2>/dev/null; writer=
# Freeze the original: ext4 itself still writes to it (journal commits, the
# lazy inode-table init of a fresh mkfs), and only blksnap's writes count.
fsfreeze -f /mnt/orig || fail "fsfreeze -f"
# A copy to compare with (cmp is cheaper than a hash in the guest), read
# past the page cache: ext4 writes file data around the block device's
# cache, which can still hold older pages of those blocks.
dd if=/dev/vdb of=/tmp/orig64 bs=1M count=64 iflag=direct status=none || fail "copy of the original"
head -c 4M /dev/urandom > /tmp/new4 || fail "random data"
mount "$img" /mnt/img || fail "mount image"
cp /tmp/new4 /mnt/img/new || fail "write to image"
sync -f /mnt/img || fail "syncfs of the image"
echo 3 > /proc/sys/vm/drop_caches
cmp -s /tmp/new4 /mnt/img/new || fail "file written to the image reads back different"
umount /mnt/img || fail "umount image"
e2fsck -fn "$img" > e2fsck.log 2>&1 || { cat e2fsck.log; fail "fsck after writing to the image"; }
diff=$(dd if=/dev/vdb bs=1M count=64 iflag=direct status=none | cmp /tmp/orig64 - 2>&1) ||
	fail "the original changed when the image was written: $diff"
fsfreeze -u /mnt/orig || fail "fsfreeze -u"
rm -f /tmp/orig64 /tmp/new4
bs destroy "$id"
umount /mnt/orig
bs detach /dev/vdb
exit 0
