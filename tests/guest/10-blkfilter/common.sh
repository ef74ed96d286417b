# Shared by the tests of this suite: . "$(dirname "$0")/common.sh"
# (not executable, so the runner does not take it for a test). The
# testfilter module and the blkfilter helper; block devices (wait_for_dev,
# dm_create, dm_remove) come from tests/lib/dev.sh. On a stock kernel
# ($BLKSNAP_KERNEL stock-*) every test of the suite skips here.
. "$SRC/tests/lib/guest.sh"
. "$SRC/tests/lib/dev.sh"

# This suite tests the kernel's block-device filter framework (our blkfilter
# series): a stock kernel has none (blksnap brings its own hook there, which
# the blksnap suites test). Our kernel must have it: a failure, not a skip.
stock_kernel && skip "stock kernel: no block-device filter framework (BLKFILTER_* ioctls, testfilter) to test"
[ -e /sys/block/vda/filter ] ||
	fail "the kernel has no block-device filters (/sys/block/vda/filter is missing)"

BF=$TBIN/blkfilter
[ -x "$BF" ] || fail "helper $BF is not built"
TF_MOD=blkfilter_test

tf_load() {
	grep -q "^$TF_MOD " /proc/modules || load_module testfilter "$@"
}

# (helpers read with builtins: a process costs about a second in the guest)
tf_refcnt() {
	local r
	read -r r < "/sys/module/$TF_MOD/refcnt" && printf '%s\n' "$r"
}

# bf_expect RESULT ARGS...: `blkfilter ARGS` must print RESULT first
bf_expect() {
	local want=$1 out
	shift
	out=$("$BF" "$@" 2>&1)
	out=${out%%$'\n'*}
	[ "$out" = "$want" ] || fail "blkfilter $*: got '$out', expected '$want'"
}

# counter DEV KEY [FILTER]: one testfilter counter of DEV
counter() {
	local out v
	out=$("$BF" counters "$1" ${3:+"$3"}) || fail "counters of $1: $out"
	kv_get v "$2" "$out"
	printf '%s\n' "$v"
}

# expect_counters DEV KEY=VALUE...: the counters of DEV, read once
expect_counters() {
	local dev=$1 out kv got
	shift
	out=$("$BF" counters "$dev") || fail "counters of $dev: $out"
	for kv in "$@"; do
		kv_get got "${kv%%=*}" "$out"
		expect_eq "$got" "${kv#*=}" "$dev ${kv%%=*}"
	done
}

# expect_counter DEV KEY VALUE
expect_counter() { expect_counters "$1" "$2=$3"; }

# sysfs_filter DEV: content of /sys/class/block/<dev>/filter ("" if none)
sysfs_filter() {
	local p=$1 f
	[ -L "$p" ] && p=$(readlink -f "$p")
	read -r f < "/sys/class/block/${p##*/}/filter" || return 1
	printf '%s\n' "$f"
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

# count_io DEV [strict]: direct writes and reads of known sizes, then the
# exact counters; a large write, split or not, is seen sector by sector.
# "strict" also checks that nothing was postponed and that the large write
# came with no read bio (02-counters-mq checks these, 03-counters-bio not).
count_io() {
	local dev=$1 strict=${2:-}
	bf_expect OK reset "$dev"
	dio_write "$dev" 4096 8
	dio_write "$dev" 512 3 100
	dio_read "$dev" 4096 5
	dio_read "$dev" 1024 2 10
	expect_counters "$dev" write_bios=11 write_sectors=$((8 * 8 + 3)) \
		read_bios=7 read_sectors=$((5 * 8 + 2 * 2)) other_bios=0 \
		bad_context=0 ${strict:+postponed=0}
	# A large write: split or not, every sector is seen exactly once.
	bf_expect OK reset "$dev"
	dio_write "$dev" 1M 2
	expect_counters "$dev" write_sectors=4096 ${strict:+read_bios=0}
	[ "$(counter "$dev" write_bios)" -ge 2 ] || fail "$dev: fewer bios than writes"
}

# set_param NAME VALUE: set a parameter of the test module if it is loaded
set_param() {
	local p=/sys/module/$TF_MOD/parameters/$1
	[ -e "$p" ] && echo "$2" > "$p"
	return 0
}
