#!/bin/bash
# changes_number grows by one per take; the generation stays the same until
# the number would reach 256, then a new generation starts from 0.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT

load_blksnap
bs attach /dev/vdb
gen0=$(cbt /dev/vdb generation)
bs cycles /dev/vdb /dev/vdc 3 > takes.txt
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=16 count=1 oflag=direct status=none
bs cycles /dev/vdb /dev/vdc 251 | awk '{ print $1 + 3, $2, $3 }' >> takes.txt
expect_eq "$(wc -l < takes.txt)" 254 "takes done"
# Every take: changes = take number, same generation.
bad=$(awk -v g="$gen0" '$2 != $1 || $3 != g' takes.txt | head -n 3)
expect_eq "$bad" "" "takes with a wrong number or generation"
expect_eq "$(cbt /dev/vdb changes)" 254 "changes after take 254"
# Written after take 3, i.e. with number 4.
expect_eq "$(bs cbtmap /dev/vdb 1 1)" "1 4" "block written after take 3"

# Take 255: the active number would reach 256: new generation.
take_cycle /dev/vdc /dev/vdb
gen1=$(cbt /dev/vdb generation)
[ "$gen1" != "$gen0" ] || fail "generation did not change at the wrap"
expect_eq "$(cbt /dev/vdb changes)" 0 "changes after the wrap"
expect_eq "$(bs cbtmap /dev/vdb)" "" "read table after the wrap"
dd if=/dev/urandom of=/dev/vdb bs=4096 seek=32 count=1 oflag=direct status=none
take_cycle /dev/vdc /dev/vdb
expect_eq "$(cbt /dev/vdb changes)" 1 "changes after the wrap + 1"
expect_eq "$(cbt /dev/vdb generation)" "$gen1" "generation after the wrap + 1"
expect_eq "$(bs cbtmap /dev/vdb)" "2 1" "read table after the wrap + 1"
exit 0
