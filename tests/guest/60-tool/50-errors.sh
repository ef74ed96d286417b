#!/bin/bash
# Every error of the snapshot lifecycle reaches the user as one line that
# says what is wrong, with exit status 1.
. "$SRC/tests/guest/60-tool/tool-lib.sh"
tool_setup

none=00000000-0000-0000-0000-0000000000ff
expect_tool_err 1 "blksnap: snapshot take: $none: no such snapshot" "$BS" snapshot take $none
expect_tool_err 1 "blksnap: snapshot destroy: $none: no such snapshot" "$BS" snapshot destroy $none
expect_tool_err 1 "blksnap: snapshot add: /dev/vda: no such snapshot" "$BS" snapshot add $none /dev/vda
expect_ok "$BS" detach /dev/vda

expect_tool_err 1 "blksnap: snapshot create: /tmp/nonexistent" \
	"$BS" snapshot create --storage /tmp/nonexistent --limit 1G
mkfifo /tmp/fifo
expect_tool_err 1 "blksnap: snapshot create: /tmp/fifo: the difference storage must be" \
	"$BS" snapshot create --storage /tmp/fifo --limit 1G
rm -f /tmp/fifo

id=$("$BS" snapshot create --storage /dev/vdd --limit 1G) || fail "create failed"
expect_tool_err 1 "blksnap: snapshot take: $id: the snapshot has no devices" "$BS" snapshot take "$id"
expect_tool_err 1 "blksnap: snapshot add: /dev/vda: the blksnap filter is not attached" \
	"$BS" snapshot add "$id" /dev/vda --no-attach
expect_ok "$BS" snapshot add "$id" /dev/vda
expect_tool_err 1 "blksnap: snapshot add: /dev/vda: the device is already part of this snapshot" \
	"$BS" snapshot add "$id" /dev/vda
expect_tool_err 1 "blksnap: snapshot add: /dev/vdd: the device holds this snapshot's difference storage" \
	"$BS" snapshot add "$id" /dev/vdd

id2=$("$BS" snapshot create --storage /dev/vdc --limit 1G) || fail "second create failed"
expect_tool_err 1 "blksnap: snapshot add: /dev/vda: device is already part of another snapshot" \
	"$BS" snapshot add "$id2" /dev/vda
expect_ok "$BS" snapshot destroy "$id2"

expect_ok "$BS" snapshot take "$id"
expect_tool_err 1 "blksnap: snapshot take: $id: the snapshot has already been taken" "$BS" snapshot take "$id"
expect_tool_err 1 "blksnap: snapshot add: /dev/vdb: device is already part of another snapshot, or the snapshot has already been taken" \
	"$BS" snapshot add "$id" /dev/vdb

# A failed create with devices leaves no snapshot behind.
expect_tool_err 1 "blksnap: snapshot create: /dev/vda: device is already part of another snapshot" \
	"$BS" snapshot create --storage /dev/vdc --limit 1G /dev/vdb /dev/vda
expect_eq "$("$BS" snapshot collect)" "$id" "only the first snapshot exists"
expect_ok "$BS" snapshot destroy "$id"

# A range past the end of the device: an error, or (if the module clips
# ranges) accepted; never anything else.
if "$BS" markdirty /dev/vda 4194304+8 2>/tmp/err; then
	log "note: the module accepts ranges past the end of the device"
else
	expect_eq "$(grep -c '^blksnap: markdirty: /dev/vda: ' /tmp/err)" 1 "markdirty error line"
fi
expect_ok "$BS" detach /dev/vda
expect_ok "$BS" detach /dev/vdb
expect_tool_err 1 "blksnap: detach: /dev/vda: no filter is attached" "$BS" detach /dev/vda
