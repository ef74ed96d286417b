# shellcheck shell=bash
# The bsctl test helper (tests/guest/20-cbt/bsctl.c: the blksnap ioctls
# issued directly; on failure it prints "ERR <ENAME>" on stdout and exits
# 1), for the kernel suites (20-cbt, 30-snapshot, 70-reliability):
#   . "$SRC/tests/lib/bsctl.sh"     (sources blksnap.sh, dev.sh, guest.sh)
#
#   bs ARGS...                  run bsctl, print its output, fail on error
#   expect_errno ENAME ARGS...  bsctl ARGS must fail with errno ENAME
#   cbt DEV FIELD               one field of bsctl cbtinfo DEV
#   snap_take STORAGE LIMIT DEV...  create, add, take; prints the id
#   take_cycle STORAGE DEV...   create, add, take, destroy
# "$BSCTL" runs it directly (to look at a failure yourself).
. "$SRC/tests/lib/blksnap.sh"

# bs ARGS: run the helper; prints its output; fails the test on error
bs() {
	local out
	out=$("$BSCTL" "$@") || fail "bsctl $* failed: $out"
	[ -z "$out" ] || printf '%s\n' "$out"
}

# expect_errno ENAME ARGS: the helper must fail with that errno (its last
# line of output is "ERR ENAME")
expect_errno() {
	local want=$1 out
	shift
	out=$("$BSCTL" "$@" 2>/dev/null | tail -n 1)
	[ "$out" = "ERR $want" ] || fail "bsctl $*: got '$out', expected 'ERR $want'"
}

# cbt DEV FIELD: one field of cbtinfo
cbt() {
	local out v
	out=$("$BSCTL" cbtinfo "$1")
	kv_get v "$2" "$out"
	printf '%s\n' "$v"
}

# snap_take STORAGE LIMIT DEV...: create, add the devices, take; prints id
snap_take() {
	local storage=$1 limit=$2 id d
	shift 2
	id=$(bs create "$storage" "$limit") || exit 1
	for d in "$@"; do
		bs add "$d" "$id" || exit 1
	done
	bs take "$id" || exit 1
	echo "$id"
}

# take_cycle STORAGE DEV...: one complete take (create/add/take/destroy)
take_cycle() {
	local storage=$1 id
	shift
	id=$(snap_take "$storage" 0 "$@") || exit 1
	bs destroy "$id"
}
