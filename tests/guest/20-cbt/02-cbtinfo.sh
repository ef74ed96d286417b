#!/bin/bash
# CBTINFO arithmetic: block size and count for several device sizes and
# tracking parameters, including sizes that are not a multiple of a block.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
cleanup() { blksnap_cleanup; dmsetup remove -f odd1 odd2 2>/dev/null; true; }
trap cleanup EXIT

# check DEV BYTES BLOCK_SIZE BLOCK_COUNT
check() {
	bs attach "$1"
	expect_eq "$(cbt "$1" capacity)" "$2" "$1 capacity"
	expect_eq "$(cbt "$1" block_size)" "$3" "$1 block size"
	expect_eq "$(cbt "$1" block_count)" "$4" "$1 block count"
	expect_eq "$(cbt "$1" changes)" 0 "$1 changes before any take"
	expect_eq "$(cbt "$1" optlen)" 40 "$1 optlen written back"
	g=$(cbt "$1" generation)
	[ "$g" != 00000000-0000-0000-0000-000000000000 ] || fail "$1 null generation"
	bs detach "$1"
}

dmsetup create odd1 --table "0 12345 linear /dev/vdb 0" || fail dmsetup
dmsetup create odd2 --table "0 131073 linear /dev/vdb 20000" || fail dmsetup

load_blksnap
check /dev/vda $((1 << 30)) 65536 16384
check /dev/vdd $((4 << 30)) 65536 65536
check /dev/mapper/odd1 $((12345 * 512)) 65536 97
check /dev/mapper/odd2 $((131073 * 512)) 65536 1025
# Two attachments get different generations.
bs attach /dev/vda; bs attach /dev/vdb
[ "$(cbt /dev/vda generation)" != "$(cbt /dev/vdb generation)" ] || fail "same generation"
bs detach /dev/vda; bs detach /dev/vdb

# At most 1000 blocks: 1 GiB needs 2 MiB blocks (512 of them).
load_blksnap tracking_block_minimum_shift=12 tracking_block_maximum_count=1000
check /dev/vda $((1 << 30)) 2097152 512
check /dev/mapper/odd1 $((12345 * 512)) 8192 772
# Capped block size: the count may exceed the maximum.
load_blksnap tracking_block_minimum_shift=12 tracking_block_maximum_count=1000 \
	tracking_block_maximum_shift=20
check /dev/vdd $((4 << 30)) 1048576 4096
exit 0
