#!/bin/bash
# 100 take/destroy rounds while fio writes to the original with verify: what
# fio writes must read back right while snapshots come and go; each image
# must show its point in time (stamp blocks that the loop overwrites with a
# new generation right after every take); the change number grows by exactly
# one per take. The loop is one bsctl process (takeloop).
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
command -v fio > /dev/null || skip "no fio"
seed=${BLKSNAP_SEED:-$(date +%s)}
echo "# seed=$seed"
SOAK=${BLKSNAP_SOAK:-0}
ROUNDS=100
[ "$SOAK" -gt 0 ] && ROUNDS=100000000
fiopid=
cleanup() {
	[ -n "$fiopid" ] && kill "$fiopid" 2>/dev/null && wait "$fiopid"
	blksnap_cleanup
	true
}
trap cleanup EXIT

load_blksnap
bs attach /dev/vdb
expect_eq "$(cbt /dev/vdb changes)" 0 "changes after attach"
# fio owns 16 MiB..48 MiB (128 chunks: every take has chunks to preserve
# soon); the stamps are one block in each of chunks 0-7.
fio --name=verify --filename=/dev/vdb --offset=16M --size=32M \
	--rw=randwrite --bs=4k --direct=1 --ioengine=psync \
	--verify=crc32c --verify_backlog=64 --verify_fatal=1 \
	--randseed="$seed" --time_based --runtime=$((SOAK + 3600)) \
	--output-format=normal,terse --terse-version=3 --output=fio.log &
fiopid=$!
# Let fio start writing before the first take.
sleep 3
kill -0 "$fiopid" 2>/dev/null || { cat fio.log; fail "fio did not start"; }
out=$("$BSCTL" takeloop /dev/vdb /dev/vdc $ROUNDS 0 8 64 "$SOAK") ||
	fail "takeloop: $out"
echo "# $out"
rounds=$(tr ' ' '\n' <<< "$out" | sed -n 's/^rounds=//p')
ms=$(tr ' ' '\n' <<< "$out" | sed -n 's/^ms=//p')
kill -0 "$fiopid" 2>/dev/null || { cat fio.log; fail "fio ended before the takes"; }
kill -INT "$fiopid"
wait "$fiopid"
rc=$?
fiopid=
cat fio.log
# fio exits with 128 after SIGINT when nothing else went wrong
[ "$rc" = 0 ] || { [ "$rc" = 128 ] && grep -q 'terminating on signal 2' fio.log; } ||
	fail "fio exit status $rc"
grep -qi 'verify.*fail\|bad magic\|bad header' fio.log && fail "fio verify errors"
# terse v3: 5 error, 6 read KiB (the verify reads), 47 write KiB
t=$(grep '^3;' fio.log | tail -n 1)
[ -n "$t" ] || fail "no terse fio result"
ferr=$(cut -d';' -f5 <<< "$t")
rkib=$(cut -d';' -f6 <<< "$t")
wkib=$(cut -d';' -f47 <<< "$t")
expect_eq "$ferr" 0 "fio error"
[ "$wkib" -gt 0 ] && [ "$rkib" -gt 0 ] || fail "fio wrote $wkib KiB, verified $rkib KiB"
[ "$SOAK" -gt 0 ] || expect_eq "$rounds" 100 "rounds"
# The number restarts at 0 with a new generation when it would reach 256.
expect_eq "$(cbt /dev/vdb changes)" $((rounds % 255)) "changes after $rounds takes"
echo "FIGURE rounds=$rounds round_ms=$((ms / rounds)) fio_write_kib=$wkib fio_verify_kib=$rkib fio_errors=$ferr"
bs detach /dev/vdb
exit 0
