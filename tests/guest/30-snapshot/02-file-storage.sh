#!/bin/bash
# Regular-file and directory (O_TMPFILE) difference storage, one and two
# devices in a snapshot; the file grows in steps up to the limit.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap 'blksnap_cleanup /mnt' EXIT
N=2048

load_blksnap diff_storage_minimum=8192	# grow by 4 MiB
mkfs.ext4 -q -F /dev/vdd || fail mkfs
mkdir -p /mnt && mount /dev/vdd /mnt || fail mount

# Regular file, initially empty: it grows while the snapshot is held.
: > /mnt/diff
bs stamp /dev/vdb A 0 $N
bs attach /dev/vdb
id=$(snap_take /mnt/diff $((64 * 2048)) /dev/vdb) || exit 1
# the file is ours while the snapshot lives
expect_errno EBUSY create /mnt/diff 0
bs stamp /dev/vdb B 0 $N
sz=$(stat -c %s /mnt/diff)
[ "$sz" -ge $((8 << 20)) ] && [ "$sz" -le $((64 << 20)) ] || fail "diff file size $sz"
[ $((sz % (4 << 20))) = 0 ] || fail "diff file not grown in 4 MiB steps: $sz"
bs verify "$(image /dev/vdb)" A 0 $N || fail "image (file storage)"
bs destroy "$id"
rm -f /mnt/diff

# Directory: an unnamed temporary file; two devices in one snapshot.
bs stamp /dev/vda A 0 $N
bs attach /dev/vda
used0=$(df --output=used /mnt | tail -n 1)
id=$(snap_take /mnt $((64 * 2048)) /dev/vda /dev/vdb) || exit 1
expect_eq "$(ls -A /mnt | grep -v lost+found)" "" "no visible file in the directory"
bs stamp /dev/vda C 0 $N
bs stamp /dev/vdb C 100 500
bs verify "$(image /dev/vda)" A 0 $N || fail "image of vda"
bs verify "$(image /dev/vdb)" B 0 $N || fail "image of vdb"
bs verify /dev/vda C 0 $N || fail "original vda"
bs destroy "$id"
sync
used1=$(df --output=used /mnt | tail -n 1)
[ $((used1 - used0)) -lt 1024 ] || fail "temporary file not released ($used0 -> $used1 KiB)"
expect_errno EINVAL create /mnt 0	# a directory needs a limit
bs detach /dev/vda
bs detach /dev/vdb
exit 0
