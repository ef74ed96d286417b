#!/bin/bash
# attach / detach / cbtinfo on a disk and a partition; the module cannot be
# unloaded while a filter is attached.
. "$SRC/tests/guest/60-tool/tool-lib.sh"
tool_setup

expect_tool_err 1 "blksnap: cbtinfo: /dev/vda: the blksnap filter is not attached" "$BS" cbtinfo /dev/vda
expect_tool_err 1 "blksnap: detach: /dev/vda: no filter is attached" "$BS" detach /dev/vda
expect_ok "$BS" attach /dev/vda
expect_eq "$(filter_of /dev/vda)" "blksnap" "filter after attach"
expect_tool_err 1 "blksnap: attach: /dev/vda: the filter is already attached" "$BS" attach /dev/vda
expect_tool_err 1 "blksnap: attach: /dev/vda: no such filter is registered" "$BS" attach /dev/vda --filter nosuch
expect_fail rmmod blksnap

info=$("$BS" cbtinfo /dev/vda --json) || fail "cbtinfo failed"
log "$info"
expect_eq "$(json_get capacity <<<"$info")" 1073741824 "capacity"
expect_eq "$(json_get block_size <<<"$info")" 65536 "CBT block size (64 KiB minimum)"
expect_eq "$(json_get block_count <<<"$info")" 16384 "CBT block count"
expect_eq "$(json_get changes_number <<<"$info")" 0 "changes number at start"
gen=$(json_get generation <<<"$info")
[[ $gen =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "bad generation '$gen'"
"$BS" cbtinfo /dev/vda | grep -q "^generation: *$gen\$" || fail "human cbtinfo lacks the generation"

expect_ok "$BS" detach /dev/vda
expect_eq "$(filter_of /dev/vda)" "" "filter after detach"
expect_ok "$BS" attach /dev/vda
gen2=$("$BS" cbtinfo /dev/vda --json | json_get generation)
[ "$gen2" != "$gen" ] || fail "re-attach kept generation $gen"
expect_ok "$BS" detach /dev/vda

# A partition.
echo ',256M' | sfdisk -q /dev/vdb || fail "sfdisk failed"
wait_for_dev /dev/vdb1
expect_ok "$BS" attach /dev/vdb1
expect_eq "$(filter_of /dev/vdb1)" "blksnap" "filter of the partition"
expect_eq "$(filter_of /dev/vdb)" "" "the whole disk has no filter"
expect_eq "$("$BS" cbtinfo /dev/vdb1 --json | json_get capacity)" 268435456 "partition capacity"
expect_ok "$BS" detach /dev/vdb1
wipefs -qa /dev/vdb >/dev/null 2>&1 || dd if=/dev/zero of=/dev/vdb bs=1M count=1 status=none
blockdev --rereadpt /dev/vdb 2>/dev/null || true
