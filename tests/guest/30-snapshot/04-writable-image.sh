#!/bin/bash
# Writes to an image land in the difference storage only, read back from
# the image, and mark both CBT tables of the original.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT

load_blksnap
bs stamp /dev/vdb A 0 1024
bs attach /dev/vdb
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
img=$(image /dev/vdb)
expect_eq "$(bs cbtmap /dev/vdb)" "" "read table before"
# block 5 (new chunk), blocks 200-299 (crossing chunks), and a chunk that
# was preserved by a write to the original first
bs stamp /dev/vdb B 600 1
bs stamp "$img" W 5 1
bs stamp "$img" W 200 100
bs stamp "$img" W 601 1
bs verify "$img" W 5 1 || fail "image block 5"
bs verify "$img" W 200 100 || fail "image 200+100"
bs verify "$img" A 0 5 || fail "image 0+5"
bs verify "$img" A 6 194 || fail "image 6+194"
bs verify "$img" A 600 1 || fail "image 600"
bs verify "$img" W 601 1 || fail "image 601"
bs verify /dev/vdb A 0 600 || fail "original changed by image writes"
bs verify /dev/vdb B 600 1 || fail "original 600"
bs verify /dev/vdb A 601 423 || fail "original 601+"
# 4 KiB block b is CBT block b/16; marked with the previous number (1).
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "0 1 12 1 13 1 14 1 15 1 16 1 17 1 18 1 37 1 " "read table after image writes"
# Unaligned sub-page write through the image (512 bytes)
dd if=/dev/zero of="$img" bs=512 seek=$((300 * 8 + 3)) count=1 oflag=direct status=none || fail "512-byte write"
bs destroy "$id"
bs detach /dev/vdb
exit 0
