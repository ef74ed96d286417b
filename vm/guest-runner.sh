#!/usr/bin/env bash
# Run one test suite inside the guest (called through vm/run.sh).
#
#   guest-runner.sh SUITE_DIR
#
# Environment: BLKSNAP_ONLY=REGEX runs only matching tests;
# BLKSNAP_TEST_TIMEOUT overrides the per-test limit (900 s).
#
# Every executable NN-name.sh in SUITE_DIR is one test: exit 0 = pass,
# 77 = skip, anything else = fail. Each test's output goes to
# /out/logs/<name>.log; a "blksnap-test: START <suite>/<name>" marker goes to
# the kernel log so that the host can tie any kernel splat to the test. TAP
# lines go to stdout and /out/results.tap. At the end kmemleak is scanned and
# its report saved to /out/kmemleak.txt.
set -u
dir=${1:?suite folder}
suite=$(basename "$dir")
test_timeout=${BLKSNAP_TEST_TIMEOUT:-${TEST_TIMEOUT:-900}}
export SUITE=$suite TBIN=$BUILD/tests/$suite
mkdir -p /out/logs
: > /out/results.tap
tests=()
for t in "$dir"/*.sh; do
	# BLKSNAP_ONLY=REGEX runs only the tests whose name matches.
	[ -n "${BLKSNAP_ONLY:-}" ] && ! [[ $(basename "$t") =~ $BLKSNAP_ONLY ]] && continue
	[ -x "$t" ] && tests+=("$t")
done
echo "1..${#tests[@]}" | tee -a /out/results.tap
n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	name=$(basename "$t" .sh)
	echo "blksnap-test: START $suite/$name" > /dev/kmsg
	work=$(mktemp -d /tmp/test.XXXXXX)
	start=$(date +%s)
	(cd "$work" && exec timeout -k 10 "$test_timeout" bash "$t") \
		> "/out/logs/$name.log" 2>&1 < /dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	rm -rf "$work"
	echo "blksnap-test: END $suite/$name rc=$rc" > /dev/kmsg
	case $rc in
	0) line="ok $n - $name # time=${secs}s" ;;
	77) why=$(tail -n 1 "/out/logs/$name.log")	# skip's "SKIP: why"
	    line="ok $n - $name # SKIP ${why#SKIP: }" ;;
	124) line="not ok $n - $name # TIMEOUT after ${test_timeout}s" ;;
	*) line="not ok $n - $name # exit $rc: $(grep -m1 '^FAIL' "/out/logs/$name.log" || tail -n 1 "/out/logs/$name.log")" ;;
	esac
	echo "$line" | tee -a /out/results.tap
done

# Leaks: objects must be older than 5 s before kmemleak reports them.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo "blksnap-test: START $suite/kmemleak" > /dev/kmsg
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > /out/kmemleak.txt
	echo "blksnap-test: END $suite/kmemleak" > /dev/kmsg
fi
exit 0
