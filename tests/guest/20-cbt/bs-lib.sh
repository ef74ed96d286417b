# Helpers shared by the blksnap kernel suites (20-cbt, 30-snapshot).
# Source after setting nothing: . "$SRC/tests/guest/20-cbt/bs-lib.sh"
. "$SRC/tests/lib/guest.sh"

BS=$BUILD/tests/20-cbt/bsctl
[ -x "$BS" ] || BS=${TBIN:-/nonexistent}/bsctl
[ -x "$BS" ] || fail "test helper bsctl is not built"

# bs ARGS: run the helper; prints its output; fails the test on error
bs() {
	local out
	out=$("$BS" "$@") || fail "bsctl $* failed: $out"
	[ -z "$out" ] || printf '%s\n' "$out"
}

# expect_err ENAME ARGS: the helper must fail with that errno
expect_err() {
	local want=$1 out
	shift
	out=$("$BS" "$@" 2>/dev/null | tail -n 1)
	[ "$out" = "ERR $want" ] || fail "bsctl $*: got '$out', expected 'ERR $want'"
}

need_blkfilter() {
	[ -e /sys/block/vda/filter ] || skip "kernel has no blkfilter"
}

# devnum DEV: MAJOR:MINOR
devnum() {
	printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")"
}

# cbt DEV FIELD: one field of cbtinfo
cbt() {
	"$BS" cbtinfo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# Remove everything blksnap: snapshots, filters, module.
bs_cleanup() {
	local id d
	if [ -e /dev/blksnap-control ]; then
		for id in $("$BS" collect 2>/dev/null | grep -v '^count='); do
			"$BS" destroy "$id" >/dev/null 2>&1
		done
	fi
	for d in /sys/block/*/filter /sys/block/*/*/filter; do
		[ -r "$d" ] || continue
		if [ "$(cat "$d" 2>/dev/null)" = blksnap ]; then
			d=${d%/filter}
			"$BS" detach "/dev/${d##*/}" >/dev/null 2>&1
		fi
	done
	grep -q '^blksnap ' /proc/modules && rmmod blksnap
	return 0
}

load_blksnap() {
	bs_cleanup
	load_module blksnap "$@"
	[ -c /dev/blksnap-control ] || fail "no /dev/blksnap-control"
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

# image DEV: path of the snapshot image of DEV
image() {
	echo "/dev/blksnap-image_$(devnum "$1")"
}
