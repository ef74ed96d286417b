# Shell helpers for in-guest tests: . "$SRC/tests/lib/guest.sh"
# A test exits 0 to pass, 77 to skip, anything else to fail; `fail` prints a
# "FAIL: ..." line that the runner shows in the result table.
# Built on it, in this folder: dev.sh (block devices), blksnap.sh (the
# blksnap module, its cleanup), bsctl.sh (the bsctl test helper).
set -u

log() { printf '# %s\n' "$*"; }

# fail MESSAGE: the test fails, wherever this runs. The message goes to
# stderr, so that `x=$(... fail ...)` does not swallow it into x, and a
# fail inside a subshell (command substitution, pipeline, background job)
# stops the test itself, not only the subshell: the test's own shell gets
# SIGUSR1 and exits 1 (running its EXIT trap) as soon as it regains control.
TEST_PID=$$
trap 'exit 1' USR1
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	[ "$BASHPID" = "$TEST_PID" ] || kill -USR1 "$TEST_PID" 2>/dev/null
	exit 1
}
skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# stock_kernel: the guest runs a distribution kernel without our blkfilter
# series (the VM sets BLKSNAP_KERNEL: debug, bench, stock-6.1, stock-6.12)
stock_kernel() { [[ ${BLKSNAP_KERNEL:-} == stock-* ]]; }

# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# expect_ok CMD...: the command must succeed
expect_ok() {
	"$@" || fail "command failed ($?): $*"
}

# expect_fail CMD...: the command must fail
expect_fail() {
	if "$@"; then fail "command succeeded but should fail: $*"; fi
}

# module_ko DIR: path of $MODDIR/DIR/*.ko (one module per dir); fails the
# test if it is not built
module_ko() {
	local ko
	for ko in "$MODDIR/$1"/*.ko; do
		[ -e "$ko" ] && { echo "$ko"; return 0; }
	done
	fail "module $1 is not built ($MODDIR/$1)"
}

# load_module DIR [PARAMS...]: insmod $MODDIR/DIR/*.ko (one module per dir)
load_module() {
	local dir=$1 ko
	shift
	ko=$(module_ko "$dir") || exit 1
	insmod "$ko" "$@" || fail "insmod $ko $* failed"
}

# unload_module NAME: rmmod if loaded
unload_module() {
	if grep -q "^$1 " /proc/modules; then rmmod "$1" || fail "rmmod $1 failed"; fi
}

# kv_get VAR KEY TEXT: VAR = the value of KEY in TEXT's "key=value" words
# (one per line or several on a line), "" if none; no subshell, no sed
kv_get() {
	local w
	printf -v "$1" '%s' ''
	for w in $3; do
		[[ $w == "$2="* ]] && printf -v "$1" '%s' "${w#*=}"
	done
	return 0
}

# json_get KEY: value of KEY in the one-line JSON on stdin (strings
# unquoted); of its last occurrence if the key is repeated
json_get() {
	sed -n 's/.*"'"$1"'":\(\("\([^"]*\)"\)\|\(-\{0,1\}[0-9][0-9]*\)\|\(true\|false\)\).*/\3\4\5/p' | head -n 1
}

# Data stamps: every 4 KiB block holds "<tag> <block number>", padded.
# stamp_data TAG FIRST_BLOCK COUNT: write the stamps to stdout
stamp_data() {
	awk -v tag="$1" -v first="$2" -v count="$3" 'BEGIN {
		pad = sprintf("%4096s", "")
		for (b = first; b < first + count; b++) {
			s = tag " " b "\n"
			printf "%s%s", s, substr(pad, 1, 4096 - length(s))
		}
	}'
}

# stamp DEV TAG FIRST_BLOCK COUNT  (direct I/O, blocks of 4 KiB)
stamp() {
	local dev=$1 tag=$2 first=$3 count=$4
	stamp_data "$tag" "$first" "$count" | dd of="$dev" bs=4096 seek="$first" count="$count" iflag=fullblock \
		oflag=direct conv=notrunc status=none || fail "stamp $dev failed"
}

# verify DEV TAG FIRST_BLOCK COUNT: the blocks hold exactly those stamps
verify() {
	local dev=$1 tag=$2 first=$3 count=$4
	cmp <(stamp_data "$tag" "$first" "$count") <(dd if="$dev" bs=4096 skip="$first" count="$count" iflag=direct status=none) \
		|| fail "verify $dev: blocks $first+$count do not hold stamp '$tag'"
}
