#!/bin/bash
# WAIT_EVENT timeout (milliseconds) and EINTR; COLLECT with NULL, too small
# and exact arrays.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT

load_blksnap
expect_eq "$(bs collect null)" "count=0" "collect with no snapshot"
a=$(bs create /dev/vdc 0)
mkdir -p /tmp/ds
b=$(bs create /tmp/ds 65536)
c=$(bs create /tmp/ds 65536)
expect_eq "$(bs collect null)" "count=3" "collect NULL"
expect_eq "$("$BSCTL" collect 2 | tr '\n' ' ')" "count=3 ERR ENODATA " "collect too small"
expect_eq "$(bs collect 3 | sort | tr '\n' ' ')" "$(printf '%s\n' count=3 $a $b $c | sort | tr '\n' ' ')" "collect exact"

# Timeout in milliseconds
for t in 0 200 1500; do
	ms=$("$BSCTL" wait "$a" $t 2>&1 >/dev/null | sed -n 's/elapsed_ms=//p')
	expect_eq "$("$BSCTL" wait "$a" $t 2>/dev/null)" "ERR ENOENT" "wait $t ms"
	[ "$ms" -ge "$t" ] && [ "$ms" -le $((t + 1000)) ] || fail "wait $t ms took $ms ms"
done
# A signal interrupts the wait
"$BSCTL" wait "$a" 20000 > wait.out 2>/dev/null &
p=$!
sleep 1
kill -USR1 $p
wait $p
expect_eq "$(cat wait.out)" "ERR EINTR" "wait interrupted"
# Destroying the snapshot ends a wait
"$BSCTL" wait "$b" 20000 > wait.out 2>/dev/null &
p=$!
sleep 1
bs destroy "$b"
wait $p
expect_eq "$(cat wait.out)" "ERR ESRCH" "wait on a destroyed snapshot"
bs destroy "$a"
bs destroy "$c"
expect_eq "$(bs collect null)" "count=0" "collect after destroy"
exit 0
