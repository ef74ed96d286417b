# shellcheck shell=bash
# Helpers of the 60-tool suite (sourced, not a test: not executable).
#   . "$SRC/tests/guest/60-tool/tool-lib.sh"
. "$SRC/tests/lib/guest.sh"

BS=${BINDIR:?}/blksnap
[ -x "$BS" ] || fail "the blksnap tool is not built ($BS)"

# json_get KEY: value of KEY in the one-line JSON on stdin (strings unquoted;
# our output has unique keys per line).
json_get() {
	sed -n 's/.*"'"$1"'":\(\("\([^"]*\)"\)\|\(-\{0,1\}[0-9][0-9]*\)\|\(true\|false\)\).*/\3\4\5/p' | head -n 1
}

# majmin DEV: "MAJOR:MINOR" of a block device
majmin() {
	cat "/sys/class/block/$(basename "$(readlink -f "$1")")/dev"
}

# expect_err STATUS PREFIX CMD...: the command exits STATUS, prints nothing on
# stdout and exactly one stderr line starting with PREFIX. Sets $ERR.
expect_err() {
	local want=$1 prefix=$2 rc out
	shift 2
	out=$("$@" 2>/tmp/expect_err.$$) && rc=0 || rc=$?
	ERR=$(cat /tmp/expect_err.$$)
	rm -f /tmp/expect_err.$$
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want (stderr: $ERR)"
	[ -z "$out" ] || fail "$*: unexpected output on stdout: $out"
	[ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "$*: stderr is not one line: $ERR"
	case $ERR in
	"$prefix"*) ;;
	*) fail "$*: stderr '$ERR' does not start with '$prefix'" ;;
	esac
}

# Load the module (with PARAMS) for this test; clean everything at exit.
tool_setup() {
	grep -q '^blksnap ' /proc/modules || load_module blksnap "$@"
	trap tool_cleanup EXIT
}

tool_cleanup() {
	local id d
	for id in $("$BS" snapshot collect 2>/dev/null); do
		"$BS" snapshot destroy "$id" || true
	done
	for d in /dev/vd[a-d] /dev/vd[a-d][0-9]; do
		[ -b "$d" ] || continue
		"$BS" detach "$d" 2>/dev/null || true
	done
	grep -q ' /mnt/ds ' /proc/mounts && umount /mnt/ds
	grep -q '^blksnap ' /proc/modules && rmmod blksnap
	true
}
