#!/usr/bin/env bash
# The test runner behind `make check`.
#
#   vm/check.sh [--kernel K]... [lint] [host] [selftest] [SUITE...]
#                                                   (default: everything)
#
# 0. checkpatch --strict on the kernel series and our kernel C files,
# 1. host tests (tests/host, sanitizers), 2. every guest suite of
# tests/guest/ in its own VM boot, 3. the harness self-test. Prints a table
# of every test and, as its very last line, "N passed, N failed[, N skipped]".
# Exit status 0 only when nothing failed.
#
# A suite boots the kernel named in its folder's KERNEL file (stock-6.1:
# Debian's own, see vm/stock-kernel.sh), else our debug kernel. --kernel K
# (repeatable) runs every guest suite given on kernel K instead, each
# result named SUITE@K (`make check-stock`). CHECK_RESULTS sets the folder
# of the results (default build/check).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
res=${CHECK_RESULTS:-$top/build/check}
mkdir -p "$res"
: > "$res/results.txt"

kernels=()
while [ "${1:-}" = --kernel ]; do
	kernels+=("$2")
	shift 2
done
want=("$@")
if [ ${#want[@]} = 0 ]; then
	want=(lint host packaging)
	for d in "$top"/tests/guest/*/; do
		ls "$d"*.sh >/dev/null 2>&1 && want+=("$(basename "$d")")
	done
	want+=(selftest)
fi
# The stock-kernel suite loads the module that the packaging test builds.
if [[ " ${want[*]} " == *" 80-stock "* && " ${want[*]} " != *" packaging "* ]]; then
	want=(packaging "${want[@]}")
fi

record() {	# record STATUS NAME DETAIL
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$res/results.txt"
	printf '  %-4s %s %s\n' "$1" "$2" "$3"
}

# TAP lines -> records (prefix/name)
from_tap() {
	local prefix=$1 file=$2 line name detail
	while IFS= read -r line; do
		case "$line" in
		"ok "*|"not ok "*)
			name=$(sed -E 's/^(not )?ok [0-9]+ - ?//; s/ # .*//' <<<"$line")
			detail=$(sed -n 's/^[^#]*# //p' <<<"$line")
			if [[ $line == "not ok"* ]]; then record FAIL "$prefix/$name" "$detail"
			elif [[ $detail == SKIP* ]]; then record SKIP "$prefix/$name" "$detail"
			else record PASS "$prefix/$name" "$detail"; fi ;;
		esac
	done < "$file"
}

run_lint() {
	echo "== kernel style (checkpatch --strict)"
	bash "$top/vm/checkpatch.sh" > "$res/lint.tap" 2>&1
	from_tap lint "$res/lint.tap"
	grep '^# ' "$res/lint.tap" | head -n 40
}

run_host() {
	echo "== host tests (ASan/UBSan)"
	if [ ! -f "$top/tests/host/Makefile" ]; then
		echo "  (no host tests)"; return
	fi
	make -s -C "$top/tests/host" check BUILD="$top/build" > "$res/host.tap" 2> "$res/host.err"
	local rc=$?
	from_tap host "$res/host.tap"
	if [ $rc != 0 ] && ! grep -q '^not ok' "$res/host.tap"; then
		record FAIL host/build "make -C tests/host check exited $rc (see build/check/host.err)"
		tail -n 20 "$res/host.err"
	fi
}

# The DKMS build of the packaged module for Debian's kernels (those given
# with --kernel, else 6.1, which the stock-kernel suite boots).
run_packaging() {
	local ks=() k
	echo "== packaging (DKMS builds for Debian's kernels)"
	for k in "${kernels[@]}"; do [[ $k == stock-* ]] && ks+=("${k#stock-}"); done
	[ ${#ks[@]} -gt 0 ] || ks=(6.1)
	bash "$top/tests/packaging/dkms-build.sh" "${ks[@]}" > "$res/packaging.tap" 2>&1
	from_tap packaging "$res/packaging.tap"
}

# run_suite NAME GUEST_DIR [KERNEL]: one VM boot; results in
# build/vm/runs/suite-NAME
run_suite() {
	local name=$1 gdir=$2 kernel=${3:-debug} run=$top/build/vm/runs/suite-$1 rc
	"$top/vm/run.sh" --quiet --name "suite-$name" --kernel "$kernel" \
		--timeout "${SUITE_TIMEOUT:-2700}" \
		"$top/vm/guest-runner.sh" "$gdir" 2> "$res/$name.vm.err"
	rc=$?
	tail -n 3 "$res/$name.vm.err" | sed 's/^/  /'
	return $rc
}

# splat lines of one test of a run
splats_of() { awk -F'\t' -v t="$2" '$1 == t { print $2 }' "$1/splats.txt" 2>/dev/null; }

# guest_suite SUITE [KERNEL]: results named SUITE, or SUITE@KERNEL when
# the kernel is given
guest_suite() {
	local dir=$1 kernel=${2:-} suite=$1 run rc t s
	if [ -n "$kernel" ]; then
		suite=$dir@$kernel
	elif [ -f "$top/tests/guest/$dir/KERNEL" ]; then
		kernel=$(head -n 1 "$top/tests/guest/$dir/KERNEL")
	fi
	run=$top/build/vm/runs/suite-$suite
	echo "== guest suite $suite"
	run_suite "$suite" "/src/tests/guest/$dir" "${kernel:-debug}"
	rc=$?
	[ -f "$run/results.tap" ] && while IFS= read -r line; do
		# A test with a kernel splat fails whatever it returned.
		case "$line" in "ok "*)
			t=$(sed -E 's/^ok [0-9]+ - ?//; s/ # .*//' <<<"$line")
			s=$(splats_of "$run" "$dir/$t" | head -n 1)
			[ -n "$s" ] && line="not ok - $t # kernel splat: $s" ;;
		esac
		echo "$line"
	done < "$run/results.tap" > "$run/results.final"
	from_tap "$suite" "$run/results.final"
	# Splats outside any test (boot, suite end) fail the suite.
	s=$(splats_of "$run" "-" | head -n 1)
	[ -z "$s" ] || record FAIL "$suite/(outside tests)" "kernel splat: $s"
	if [ -f "$run/kmemleak.txt" ]; then
		if grep -q 'unreferenced object' "$run/kmemleak.txt"; then
			record FAIL "$suite/kmemleak" "$(grep -c 'unreferenced object' "$run/kmemleak.txt") leaked objects (build/vm/runs/suite-$suite/kmemleak.txt)"
		else
			record PASS "$suite/kmemleak" "no leak"
		fi
	fi
	case $rc in
	124) record FAIL "$suite/(vm)" "guest hung: killed at the time limit" ;;
	125) record FAIL "$suite/(vm)" "guest died before the suite finished" ;;
	esac
}

# The harness must report each deliberate splat as a failure.
selftest() {
	local run=$top/build/vm/runs/suite-selftest
	echo "== harness self-test (deliberate splats)"
	run_suite selftest /src/tests/selftest
	local rc=$?
	if [ $rc = 0 ]; then
		record FAIL selftest/run-fails "vm/run.sh exited 0 despite deliberate splats"
	else
		record PASS selftest/run-fails "vm/run.sh exited $rc"
	fi
	expect_result() {	# TEST PATTERN WHAT
		local tap splat
		tap=$(grep -E "^ok [0-9]+ - $1( |$)" "$run/results.tap" 2>/dev/null)
		splat=$(splats_of "$run" "selftest/$1" | grep -E "$2" | head -n 1)
		if [ -z "$tap" ]; then record FAIL "selftest/$3" "test $1 did not run cleanly"
		elif [ -z "$splat" ]; then record FAIL "selftest/$3" "no '$2' report tied to $1"
		else record PASS "selftest/$3" "$splat"; fi
	}
	if [ -n "$(splats_of "$run" selftest/00-clean)" ] || ! grep -q '^ok [0-9]* - 00-clean' "$run/results.tap" 2>/dev/null; then
		record FAIL selftest/clean-load "a harmless module load was reported"
	else
		record PASS selftest/clean-load "nothing reported"
	fi
	expect_result 01-warn 'WARNING:' detects-warn
	expect_result 02-kasan-uaf 'KASAN: .*use-after-free' detects-kasan
	if grep -q 'splat_selftest' "$run/kmemleak.txt" 2>/dev/null && grep -q 'unreferenced object' "$run/kmemleak.txt"; then
		record PASS selftest/detects-leak "$(grep -m1 'unreferenced object' "$run/kmemleak.txt")"
	else
		record FAIL selftest/detects-leak "kmemleak did not report the deliberate leak"
	fi
}

for w in "${want[@]}"; do
	case "$w" in
	lint) run_lint ;;
	host) run_host ;;
	packaging) run_packaging ;;
	selftest) selftest ;;
	*)	if [ ! -d "$top/tests/guest/$w" ]; then
			record FAIL "$w" "no such suite (tests/guest/$w)"
		elif [ ${#kernels[@]} = 0 ]; then
			guest_suite "$w"
		else
			for k in "${kernels[@]}"; do guest_suite "$w" "$k"; done
		fi ;;
	esac
done

pass=$(grep -c '^PASS' "$res/results.txt")
failn=$(grep -c '^FAIL' "$res/results.txt")
skipn=$(grep -c '^SKIP' "$res/results.txt")
echo
echo "== results"
column -t -s $'\t' "$res/results.txt" 2>/dev/null || cat "$res/results.txt"
echo
summary="$pass passed, $failn failed"
[ "$skipn" = 0 ] || summary+=", $skipn skipped"
echo "$summary"
[ "$failn" = 0 ] && [ "$pass" -gt 0 ]
