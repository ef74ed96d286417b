#!/bin/bash
# Incremental backup support: readcbtmap, changes (ranges, full backup
# needed), markdirty.
. "$SRC/tests/guest/60-tool/tool-lib.sh"
tool_setup

expect_ok "$BS" attach /dev/vda
snap() {	# create + take + destroy a snapshot of vda
	local id
	id=$("$BS" snapshot create --storage /dev/vdd --limit 1G --take /dev/vda) || fail "snapshot failed"
	expect_ok "$BS" snapshot destroy "$id"
}
snap
info=$("$BS" cbtinfo /dev/vda --json)
gen=$(json_get generation <<<"$info")
expect_eq "$(json_get changes_number <<<"$info")" 1 "changes number after the first snapshot"

# 4 KiB at 100 MiB (CBT block 1600) and 128 KiB at 200 MiB - 4 KiB
# (blocks 3199..3201).
stamp /dev/vda D 25600 1
stamp /dev/vda D 51199 32
snap
expect_eq "$("$BS" cbtinfo /dev/vda --json | json_get changes_number)" 2 "changes number"
out=$("$BS" changes /dev/vda --since 1 --generation "$gen") || fail "changes failed"
expect_eq "$out" "$(printf '204800+128\n409472+384')" "ranges changed since snapshot 1"
json=$("$BS" changes /dev/vda --since 1 --generation "$gen" --json)
expect_eq "$(json_get full_backup <<<"$json")" false "full_backup (json)"
expect_eq "$(json_get sectors <<<"$json")" 512 "changed sectors (json)"
expect_eq "$("$BS" changes /dev/vda --since 2 --generation "$gen")" "" "nothing changed since 2"

# readcbtmap: runs and raw table.
runs=$("$BS" readcbtmap /dev/vda | grep -v '^#')
expect_eq "$runs" "$(printf '1600+1 2\n3199+3 2')" "readcbtmap runs"
"$BS" readcbtmap /dev/vda -o /tmp/cbt.bin || fail "readcbtmap -o failed"
expect_eq "$(stat -c %s /tmp/cbt.bin)" 16384 "raw table size"
expect_eq "$(od -An -tu1 -j1600 -N1 /tmp/cbt.bin | tr -d ' ')" 2 "raw table byte 1600"

# Full backup needed: newer change number, other generation.
expect_tool_err 3 "blksnap: changes: /dev/vda: full backup needed" \
	"$BS" changes /dev/vda --since 3 --generation "$gen"
expect_tool_err 3 "blksnap: changes: /dev/vda: full backup needed" \
	"$BS" changes /dev/vda --since 1 --generation 00000000-0000-0000-0000-000000000001
json=$("$BS" changes /dev/vda --since 3 --generation "$gen" --json 2>/dev/null) && fail "exit 0"
expect_eq "$(json_get full_backup <<<"$json")" true "full_backup true (json)"

# markdirty: the ranges show up after the next take; changes output is
# accepted as a range file.
expect_ok "$BS" markdirty /dev/vda 0+8 1048576-1048577
printf '# from changes\n204800+128\n' > /tmp/ranges
expect_ok "$BS" markdirty /dev/vda --file /tmp/ranges
snap
out=$("$BS" changes /dev/vda --since 2 --generation "$gen")
expect_eq "$out" "$(printf '0+128\n204800+128\n1048576+128')" "ranges after markdirty"
expect_tool_err 2 "blksnap: markdirty: invalid range list" "$BS" markdirty /dev/vda 5-4

# Detach and attach: a new generation, so a full backup is needed.
expect_ok "$BS" detach /dev/vda
expect_ok "$BS" attach /dev/vda
expect_tool_err 3 "blksnap: changes: /dev/vda: full backup needed" \
	"$BS" changes /dev/vda --since 0 --generation "$gen"
expect_ok "$BS" detach /dev/vda
