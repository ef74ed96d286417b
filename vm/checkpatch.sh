#!/usr/bin/env bash
# Kernel style gate: scripts/checkpatch.pl --strict on every patch of the
# blkfilter series and on every kernel C file of ours (module, test modules).
# Prints TAP lines; exit status non-zero when anything is reported.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cp=$top/build/kernel/src/scripts/checkpatch.pl
[ -x "$cp" ] || { echo "checkpatch: no kernel tree (run 'make kernel')" >&2; exit 2; }
opts=(--strict --quiet --no-summary --show-types)
n=0 bad=0
check() {	# check NAME ARGS...
	local name=$1 out
	shift
	n=$((n + 1))
	out=$(PATH=/usr/bin:$PATH perl "$cp" "${opts[@]}" "$@" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - $name"
	else
		bad=1
		echo "not ok $n - $name # $(grep -m1 -E 'ERROR|WARNING|CHECK' <<<"$out")"
		sed 's/^/# /' <<<"$out" | head -n 40
	fi
}
for p in "$top"/kernel/patches/*.patch; do
	[ -e "$p" ] && check "checkpatch ${p#"$top"/}" "$p"
done
for f in "$top"/kernel/blksnap/*.[ch] "$top"/tests/modules/*/*.[ch]; do
	[ -e "$f" ] && check "checkpatch ${f#"$top"/}" --no-tree -f "$f"
done
echo "1..$n"
exit $bad
