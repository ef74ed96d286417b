#!/bin/bash
# Writes at known offsets (crossing block boundaries, discard, write
# zeroes, on a partition) show exactly in the read table after a take.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT
K=65536

load_blksnap
bs attach /dev/vdb
take_cycle /dev/vdc /dev/vdb
expect_eq "$(cbt /dev/vdb changes)" 1 "changes after the first take"
expect_eq "$(bs cbtmap /dev/vdb)" "" "read table after take 1 (nothing written)"

dd if=/dev/urandom of=/dev/vdb bs=4096 seek=$((10 * K / 4096)) count=1 oflag=direct status=none
# 8 KiB across the boundary between blocks 19 and 20
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=$((20 * K / 4096 - 1)) count=2 oflag=direct status=none
# last sector of block 25
dd if=/dev/urandom of=/dev/vdb bs=512 seek=$((26 * K / 512 - 1)) count=1 oflag=direct status=none
blkdiscard -o $((30 * K)) -l $K /dev/vdb || fail "discard"
blkdiscard -z -o $((40 * K)) -l $((2 * K)) /dev/vdb || fail "write zeroes"
# last block of the device
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=$(((1 << 30) / 4096 - 1)) count=1 oflag=direct status=none

take_cycle /dev/vdc /dev/vdb
expect_eq "$(cbt /dev/vdb changes)" 2 "changes after the second take"
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "10 2 19 2 20 2 25 2 30 2 40 2 41 2 16383 2 " "read table after take 2"
# A partial read of the table
expect_eq "$(bs cbtmap /dev/vdb 19 3 | tr '\n' ' ')" "19 2 20 2 " "cbtmap 19+3"

# A new write: value 3 while the older ones keep 2.
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=$((10 * K / 4096)) count=1 oflag=direct status=none
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=$((50 * K / 4096)) count=1 oflag=direct status=none
take_cycle /dev/vdc /dev/vdb
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "10 3 19 2 20 2 25 2 30 2 40 2 41 2 50 3 16383 2 " "read table after take 3"
bs detach /dev/vdb

# A partition: sectors are relative to the partition.
printf 'label: dos\nstart=2048, size=204800\nstart=206848, size=409600\n' | sfdisk -q /dev/vdd || fail sfdisk
blockdev --rereadpt /dev/vdd 2>/dev/null
[ -b /dev/vdd2 ] || fail "no /dev/vdd2"
bs attach /dev/vdd2
expect_eq "$(cbt /dev/vdd2 block_count)" $((409600 * 512 / K)) "partition block count"
take_cycle /dev/vdc /dev/vdd2
dd if=/dev/urandom of=/dev/vdd2 bs=4096 seek=$((5 * K / 4096)) count=1 oflag=direct status=none
dd if=/dev/urandom of=/dev/vdd1 bs=4096 seek=$((7 * K / 4096)) count=1 oflag=direct status=none
dd if=/dev/urandom of=/dev/vdd bs=4096 seek=$((206848 * 512 / 4096 + 9 * K / 4096)) count=1 oflag=direct status=none
take_cycle /dev/vdc /dev/vdd2
# Only the write through the partition itself is seen by its filter.
expect_eq "$(bs cbtmap /dev/vdd2 | tr '\n' ' ')" "5 2 " "partition read table"
bs detach /dev/vdd2
dd if=/dev/zero of=/dev/vdd bs=1M count=1 status=none
blockdev --rereadpt /dev/vdd 2>/dev/null
exit 0
