# Shared by the tests of this suite: . "$(dirname "$0")/common.sh"
# (not executable, so the runner does not take it for a test).
. "$SRC/tests/lib/guest.sh"

BF=$TBIN/blkfilter
[ -x "$BF" ] || fail "helper $BF is not built"
TF_MOD=blkfilter_test

tf_load() {
	grep -q "^$TF_MOD " /proc/modules || load_module testfilter "$@"
}

tf_refcnt() {
	cat "/sys/module/$TF_MOD/refcnt"
}

# bf_expect RESULT ARGS...: `blkfilter ARGS` must print RESULT first
bf_expect() {
	local want=$1 out
	shift
	out=$("$BF" "$@" 2>&1 | head -n 1)
	[ "$out" = "$want" ] || fail "blkfilter $*: got '$out', expected '$want'"
}

# counter DEV KEY [FILTER]: one testfilter counter of DEV
counter() {
	local out
	out=$("$BF" counters "$1" ${3:+"$3"}) || fail "counters of $1: $out"
	sed -n "s/^$2=//p" <<<"$out"
}

# expect_counter DEV KEY VALUE
expect_counter() {
	expect_eq "$(counter "$1" "$2")" "$3" "$1 $2"
}

# sysfs_filter DEV: content of /sys/class/block/<dev>/filter ("" if none)
sysfs_filter() {
	cat "/sys/class/block/$(basename "$(readlink -f "$1")")/filter"
}

# detach_quiet DEV [NAME]: detach whatever testfilter is attached, for cleanup
detach_quiet() {
	local dev=$1 name
	[ -b "$dev" ] || return 0
	name=$(sysfs_filter "$dev" 2>/dev/null)
	[ -n "$name" ] && "$BF" detach "$dev" "$name" >/dev/null
	return 0
}

# dio_write DEV BS COUNT [SEEK]: COUNT direct writes of BS bytes (one bio each)
dio_write() {
	dd if=/dev/urandom of="$1" bs="$2" count="$3" seek="${4:-0}" oflag=direct \
		conv=notrunc status=none || fail "write to $1 failed"
}

# dio_read DEV BS COUNT [SKIP]
dio_read() {
	dd if="$1" of=/dev/null bs="$2" count="$3" skip="${4:-0}" iflag=direct \
		status=none || fail "read from $1 failed"
}

# wait_for_dev PATH: devtmpfs creates nodes asynchronously
wait_for_dev() {
	local i
	for i in $(seq 50); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear"
}

# dm_create NAME TABLE: create a dm device, set DM to its node (/dev/dm-N;
# there is no udev in the guest to make /dev/mapper/NAME)
dm_create() {
	local minor
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1"
	minor=$(dmsetup info -c --noheadings -o minor "$1" | tr -d ' ')
	[ -n "$minor" ] || fail "no minor for dm device $1"
	DM=/dev/dm-$minor
	wait_for_dev "$DM"
}

# dm_remove NAME: remove the dm device if it exists
dm_remove() {
	dmsetup info "$1" >/dev/null 2>&1 || return 0
	dmsetup remove "$1"
}

# set_param NAME VALUE: set a parameter of the test module if it is loaded
set_param() {
	local p=/sys/module/$TF_MOD/parameters/$1
	[ -e "$p" ] && echo "$2" > "$p"
	return 0
}
