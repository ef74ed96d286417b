#!/bin/bash
# Bios that a stacked driver (dm) submits reach the filter of the device
# below, each exactly where it lands; large bios that the block layer splits
# are tracked exactly; a snapshot of the dm device keeps its point in time.
. "$SRC/tests/guest/80-stock/stock-lib.sh"
stock_setup
trap 'blksnap_cleanup; dm_remove bs-stack' EXIT
# 256 MiB of vdc from 1 MiB (sector 2048) on.
dm_create bs-stack "0 524288 linear /dev/vdc 2048"
expect_ok "$BS" attach /dev/vdc
expect_ok "$BS" attach "$DM"
snap() {
	local id
	id=$("$BS" snapshot create --storage /dev/vdd --limit 1G --take /dev/vdc "$DM") ||
		fail "snapshot failed"
	expect_ok "$BS" snapshot destroy "$id"
}
changes() {	# changes DEV GENERATION: ranges changed since the first snapshot
	"$BS" changes "$1" --since 1 --generation "$2"
}
snap
gen_vdc=$("$BS" cbtinfo /dev/vdc --json | json_get generation)
gen_dm=$("$BS" cbtinfo "$DM" --json | json_get generation)
# 4 MiB at 8 MiB of the dm device in one direct write, and 4 KiB at 100 MiB.
dd if=/dev/zero of="$DM" bs=4M seek=2 count=1 oflag=direct status=none || fail "dd"
stamp "$DM" E 25600 1
snap
expect_eq "$(changes "$DM" "$gen_dm")" "$(printf '16384+8192\n204800+128')" "dm device changes"
expect_eq "$(changes /dev/vdc "$gen_vdc")" "$(printf '18432+8192\n206848+128')" "vdc changes, shifted by 1 MiB"

# The dm device's image under writes to it.
stamp "$DM" A 0 2048
id=$("$BS" snapshot create --storage /dev/vdd --limit 1G --take "$DM") || fail "snapshot"
img=$(image "$DM")
stamp "$DM" B 0 2048 &
verify "$img" A 0 2048
wait
verify "$img" A 0 2048
verify "$DM" B 0 2048
expect_ok "$BS" snapshot destroy "$id"
expect_ok "$BS" detach "$DM"
expect_ok "$BS" detach /dev/vdc
exit 0
