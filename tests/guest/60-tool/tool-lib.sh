# shellcheck shell=bash
# Helpers of the 60-tool suite (sourced, not a test: not executable).
#   . "$SRC/tests/guest/60-tool/tool-lib.sh"
# BS is the blksnap console tool under test here (elsewhere bsctl is
# $BSCTL). The module, its cleanup, devnum and image come from
# tests/lib/blksnap.sh.
. "$SRC/tests/lib/blksnap.sh"

BS=${BINDIR:?}/blksnap
[ -x "$BS" ] || fail "the blksnap tool is not built ($BS)"

# expect_tool_err STATUS PREFIX CMD...: the command exits STATUS, prints
# nothing on stdout and exactly one stderr line starting with PREFIX (how
# the tool reports an error). Sets $ERR to that line.
expect_tool_err() {
	local want=$1 prefix=$2 rc out
	shift 2
	out=$("$@" 2>/tmp/expect_tool_err.$$) && rc=0 || rc=$?
	ERR=$(cat /tmp/expect_tool_err.$$)
	rm -f /tmp/expect_tool_err.$$
	[ "$rc" = "$want" ] || fail "$*: exit $rc, expected $want (stderr: $ERR)"
	[ -z "$out" ] || fail "$*: unexpected output on stdout: $out"
	[ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] || fail "$*: stderr is not one line: $ERR"
	case $ERR in
	"$prefix"*) ;;
	*) fail "$*: stderr '$ERR' does not start with '$prefix'" ;;
	esac
}

# tool_setup [PARAMS...]: load the module (with PARAMS) unless it is loaded;
# at exit, blksnap_cleanup (and unmount /mnt/ds, a difference storage).
tool_setup() {
	blksnap_loaded || load_module blksnap "$@"
	trap 'blksnap_cleanup /mnt/ds' EXIT
}
