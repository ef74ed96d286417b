#!/bin/bash
# Difference-storage overflow seen through the tool: corrupted event from
# "snapshot watch", error code in "snapshot info", failing image, intact
# original. Also the ways "snapshot watch" ends.
. "$SRC/tests/guest/60-tool/tool-lib.sh"
blksnap_loaded && rmmod blksnap
tool_setup diff_storage_minimum=2048

mkfs.ext4 -q -F /dev/vdc || fail "mkfs failed"
mkdir -p /mnt/ds && mount /dev/vdc /mnt/ds || fail "mount failed"
stamp /dev/vda A 0 4096

id=$("$BS" snapshot create --storage /mnt/ds --limit 4M --take /dev/vda) || fail "create failed"
img=$(image /dev/vda)
"$BS" snapshot watch "$id" --json --count 1 --timeout 60000 > /tmp/events &
watcher=$!
sleep 1
# 16 MiB of overwrites: far more than 4 MiB of difference storage.
stamp /dev/vda B 0 4096
wait $watcher || fail "watch exited with $?"
log "events: $(cat /tmp/events)"
expect_eq "$(json_get event < /tmp/events)" corrupted "event name"
expect_eq "$(json_get error_code < /tmp/events)" -28 "event error code (ENOSPC)"
expect_eq "$(json_get major < /tmp/events):$(json_get minor < /tmp/events)" "$(devnum /dev/vda)" "event device"
expect_eq "$(json_get device < /tmp/events)" /dev/vda "event device name"
expect_eq "$(json_get id < /tmp/events)" "$id" "event snapshot id"

expect_eq "$("$BS" snapshot info /dev/vda --json | json_get error_code)" -28 "info error code"
"$BS" snapshot info /dev/vda | grep -q '^error: -28 (No space left on device)$' || fail "human info error"
expect_fail dd if="$img" of=/dev/null bs=1M count=16 iflag=direct status=none
verify /dev/vda B 0 4096
expect_ok "$BS" snapshot destroy "$id"

# watch ends with status 0: when the snapshot is destroyed ...
id=$("$BS" snapshot create --storage /mnt/ds --limit 256M /dev/vda) || fail "create failed"
"$BS" snapshot watch "$id" > /tmp/watch.out &
watcher=$!
sleep 1
expect_ok "$BS" snapshot destroy "$id"
wait $watcher || fail "watch after destroy exited with $?"
expect_eq "$(tail -n 1 /tmp/watch.out)" "snapshot $id is gone" "watch reports the destroyed snapshot"

# ... after its timeout, with no output when nothing happens ...
id=$("$BS" snapshot create --storage /mnt/ds --limit 256M /dev/vda) || fail "create failed"
start=$(date +%s%N)
out=$("$BS" snapshot watch "$id" --timeout 1500) || fail "watch --timeout failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "$out" "" "watch output without events"
[ "$ms" -ge 1400 ] && [ "$ms" -lt 10000 ] || fail "watch --timeout 1500 took ${ms} ms"

# ... and when interrupted.
"$BS" snapshot watch "$id" > /dev/null &
watcher=$!
sleep 1
kill -INT $watcher
wait $watcher || fail "watch interrupted exited with $?"
expect_ok "$BS" snapshot destroy "$id"

expect_tool_err 1 "blksnap: snapshot watch: $id: no such snapshot" "$BS" snapshot watch "$id" --timeout 100
expect_ok "$BS" detach /dev/vda
