#!/usr/bin/env bash
# Soak run of the reliability suite: every test of tests/guest/70-reliability
# keeps going for its share of DURATION seconds, in one VM boot on the debug
# kernel, then a summary of what was exercised is printed.
#
#   vm/soak.sh DURATION [SEED]      (make soak DURATION=3600 [SEED=n])
#
# Pass/fail as in `make check`: a test fails on its own checks, on any
# kernel splat while it runs, and the suite on a kmemleak report at its end.
# The last line is "N passed, N failed"; exit status 0 only if none failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:?usage: vm/soak.sh DURATION_SECONDS [SEED]}
suite=70-reliability
tests=$(find "$top/tests/guest/$suite" -maxdepth 1 -name '[0-9]*.sh' -perm -u+x | wc -l)
[ "$tests" -gt 0 ] || { echo "vm/soak.sh: no tests in tests/guest/$suite" >&2; exit 2; }
per=$(( duration / tests ))
[ "$per" -ge 30 ] || per=30
export BLKSNAP_SOAK=$per BLKSNAP_TEST_TIMEOUT=$(( per * 2 + 600 ))
[ -z "${2:-}" ] || export BLKSNAP_SEED=$2
run=$top/build/vm/runs/soak
echo "[soak] $tests tests x ${per}s (limit per test ${BLKSNAP_TEST_TIMEOUT}s)${BLKSNAP_SEED:+, seed $BLKSNAP_SEED}"
bash "$top/vm/run.sh" --quiet --name soak --timeout $(( tests * BLKSNAP_TEST_TIMEOUT + 300 )) \
	"$top/vm/guest-runner.sh" "/src/tests/guest/$suite"
rc=$?

pass=0 failn=0
echo
echo "== soak results (build/vm/runs/soak)"
while IFS= read -r line; do
	case "$line" in
	"ok "*|"not ok "*)
		name=$(sed -E 's/^(not )?ok [0-9]+ - ?//; s/ # .*//' <<<"$line")
		splat=$(awk -F'\t' -v t="$suite/$name" '$1 == t { print $2; exit }' "$run/splats.txt" 2>/dev/null)
		if [[ $line == "not ok"* ]]; then verdict=FAIL
		elif [ -n "$splat" ]; then verdict=FAIL line+=" (kernel splat: $splat)"
		else verdict=PASS; fi
		[ $verdict = PASS ] && pass=$((pass + 1)) || failn=$((failn + 1))
		printf '  %-4s %s\n' "$verdict" "${line#*- }"
		grep -h '^FIGURE' "$run/logs/$name.log" 2>/dev/null | sed 's/^FIGURE/         /'
		grep -h '^# seed=' "$run/logs/$name.log" 2>/dev/null | head -n 1 | sed 's/^#/        /' ;;
	esac
done < "$run/results.tap"
if grep -q 'unreferenced object' "$run/kmemleak.txt" 2>/dev/null; then
	failn=$((failn + 1)); echo "  FAIL kmemleak: $(grep -c 'unreferenced object' "$run/kmemleak.txt") objects"
elif [ -f "$run/kmemleak.txt" ]; then
	pass=$((pass + 1)); echo "  PASS kmemleak: no leak"
fi
s=$(awk -F'\t' '$1 == "-" { print $2; exit }' "$run/splats.txt" 2>/dev/null)
[ -z "$s" ] || { failn=$((failn + 1)); echo "  FAIL kernel splat outside the tests: $s"; }
case $rc in 124|125) failn=$((failn + 1)); echo "  FAIL the VM hung or died (vm/run.sh exit $rc)" ;; esac
echo
echo "$pass passed, $failn failed"
[ "$failn" = 0 ]
