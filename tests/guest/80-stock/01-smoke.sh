#!/bin/bash
# The stock-kernel path end to end, with the blksnap tool and the module
# that DKMS built from the blksnap-dkms package: load, attach
# through the control device, exact changed-block tracking, a two-device
# snapshot that keeps its point in time under writes, detach, unload. The
# hooks are registered only while a filter is attached.
. "$SRC/tests/guest/80-stock/stock-lib.sh"
stock_setup blksnap-dkms
N=4096	# 16 MiB of 4 KiB stamps

expect_eq "$("$BS" version | sed -n 's/^backend: *//p')" ftrace "blksnap version: backend"
expect_eq "$(hooks)" 0 "hooks after load"
expect_ok "$BS" attach /dev/vdb
expect_eq "$(hooks)" 2 "hooks after the first attach"
expect_ok "$BS" attach /dev/vdc
expect_eq "$(filters | sort)" "$(printf '%s vdb\n%s vdc' "$(devnum /dev/vdb)" "$(devnum /dev/vdc)")" \
	"debugfs list of filters"
expect_tool_err 1 "blksnap: attach: /dev/vdb" "$BS" attach /dev/vdb
case $ERR in *"already"*) ;; *) fail "second attach: $ERR" ;; esac

# Changed-block tracking, exactly: 4 KiB at 100 MiB (CBT block 1600) and
# 128 KiB at 200 MiB - 4 KiB (blocks 3199..3201), between two snapshots.
snap() {
	local id
	id=$("$BS" snapshot create --storage /dev/vdd --limit 1G --take /dev/vdb) ||
		fail "snapshot failed"
	expect_ok "$BS" snapshot destroy "$id"
}
snap
gen=$("$BS" cbtinfo /dev/vdb --json | json_get generation)
stamp /dev/vdb D 25600 1
stamp /dev/vdb D 51199 32
snap
expect_eq "$("$BS" changes /dev/vdb --since 1 --generation "$gen")" \
	"$(printf '204800+128\n409472+384')" "ranges changed since snapshot 1"

# A snapshot of two devices keeps its point in time while both change.
stamp /dev/vdb A 0 $N
stamp /dev/vdc A 0 $N
id=$("$BS" snapshot create --storage /dev/vdd --limit 1G --take /dev/vdb /dev/vdc) ||
	fail "two-device snapshot failed"
ib=$(image /dev/vdb) ic=$(image /dev/vdc)
[ -b "$ib" ] && [ -b "$ic" ] || fail "images missing: $ib $ic"
stamp /dev/vdb B 0 $N &
stamp /dev/vdc B 1000 1000 &
verify "$ib" A 0 $N || fail "vdb image changed under writes"
verify "$ic" A 0 $N || fail "vdc image changed under writes"
wait
verify "$ib" A 0 $N || fail "vdb image after the writes"
verify "$ic" A 0 $N || fail "vdc image after the writes"
verify /dev/vdb B 0 $N || fail "vdb original"
verify /dev/vdc B 1000 1000 || fail "vdc original"
expect_ok "$BS" snapshot destroy "$id"
[ ! -e "$ib" ] || fail "image still there after destroy"

expect_ok "$BS" detach /dev/vdb
expect_eq "$(hooks)" 2 "hooks while vdc is attached"
expect_ok "$BS" detach /dev/vdc
expect_eq "$(hooks)" 0 "hooks after the last detach"
expect_eq "$(filters)" "" "no filter left"
expect_ok rmmod blksnap
exit 0
