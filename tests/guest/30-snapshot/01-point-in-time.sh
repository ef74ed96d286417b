#!/bin/bash
# Point-in-time correctness with a block-device difference storage, for
# several overwrite patterns; the image appears and disappears with the
# snapshot and has the original's size and block sizes.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT
N=4096	# 16 MiB of 4 KiB stamps

load_blksnap
bs stamp /dev/vdb A 0 $N
bs attach /dev/vdb
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
img=$(image /dev/vdb)
[ -b "$img" ] || fail "no image $img"
expect_eq "$(bs info /dev/vdb)" "error=0 image=${img#/dev/}" "snapshot info"
expect_eq "$(blockdev --getsize64 "$img")" "$(blockdev --getsize64 /dev/vdb)" "image size"
expect_eq "$(blockdev --getss "$img")" "$(blockdev --getss /dev/vdb)" "logical block size"
expect_eq "$(blockdev --getpbsz "$img")" "$(blockdev --getpbsz /dev/vdb)" "physical block size"

# Overwrite: a whole chunk range, single blocks, a range crossing chunks,
# the same block twice, and discard + write zeroes.
bs stamp /dev/vdb B 0 64
for b in 100 163 700 1000 1001 2047; do bs stamp /dev/vdb B $b 1; done
bs stamp /dev/vdb B 60 10
bs stamp /dev/vdb C 100 1
bs stamp /dev/vdb B 3000 200
blkdiscard -o $((3500 * 4096)) -l $((64 * 4096)) /dev/vdb || fail discard
blkdiscard -z -o $((3700 * 4096)) -l $((8 * 4096)) /dev/vdb || fail zeroout
# Buffered writes through the page cache too
bs stamp /dev/vdb B 4000 10
dd if=/dev/zero of=/dev/vdb bs=4096 seek=4050 count=5 conv=notrunc status=none
sync

bs verify "$img" A 0 $N || fail "image differs from the point in time"
bs verify /dev/vdb B 0 60 || fail "original 0-59"
bs verify /dev/vdb C 100 1 || fail "original 100"
bs verify /dev/vdb B 3000 200 || fail "original 3000+200"
# Reading the image twice and while writing goes on
bs stamp /dev/vdb D 2000 100 &
bs verify "$img" A 1900 300 || fail "image while writing"
wait
bs verify "$img" A 0 $N || fail "image second pass"
bs destroy "$id"
[ ! -e "$img" ] || fail "image still there after destroy"
expect_eq "$(bs info /dev/vdb)" "error=0 image=" "info after destroy"
bs verify /dev/vdb D 2000 100 || fail "original after destroy"
bs detach /dev/vdb
exit 0
