# shellcheck shell=bash
# Helpers of the 80-stock suite (sourced, not a test: not executable):
# blksnap on an unmodified kernel, with its own ftrace hook.
#   . "$SRC/tests/guest/80-stock/stock-lib.sh"
#
#   stock_setup [DIR]   skip unless on a stock kernel; load the module of
#                       $MODDIR/DIR (default blksnap; blksnap-dkms: the one
#                       DKMS built from the package) and clean up at exit
#   hooks               how many of blksnap's two hooks are registered
#                       (ftrace's enabled_functions)
#   scsi_debug_disk     name of the scsi_debug disk (sdX), once its node exists
#   filters             the debugfs list of filtered devices, one line each
#   CTLF DEV|fd:N CMD [NAME]   the IOCTL_BLKSNAP_BDEV_FILTER test helper
#   expect_ctl ENAME|OK ARGS...   CTLF ARGS must print that
. "$SRC/tests/guest/60-tool/tool-lib.sh"

CTLF=$BUILD/tests/80-stock/ctlfilter
[ -x "$CTLF" ] || fail "test helper ctlfilter is not built"
TRACEFS=/sys/kernel/tracing

stock_setup() {
	case ${BLKSNAP_KERNEL:-} in
	stock-*) ;;
	*) skip "the ftrace backend's own tests: this is not a stock kernel (${BLKSNAP_KERNEL:-unknown})" ;;
	esac
	[ -e $TRACEFS/enabled_functions ] || mount -t tracefs tracefs $TRACEFS ||
		fail "cannot mount tracefs"
	blksnap_cleanup
	load_module "${1:-blksnap}"
	tool_setup
	expect_eq "$(cat /sys/module/blksnap/parameters/filter_backend)" ftrace \
		"filter_backend on a stock kernel"
}

hooks() {
	grep -E '^(submit_bio_noacct|del_gendisk) ' $TRACEFS/enabled_functions |
		grep -c '\[blksnap\]'
}

scsi_debug_disk() {
	local b i
	# No udev to load the disk driver when the device shows up.
	modprobe sd_mod || fail "modprobe sd_mod"
	for i in $(seq 50); do
		for b in /sys/block/sd*; do
			grep -qs scsi_debug "$b/device/model" || continue
			wait_for_dev "/dev/${b##*/}"
			echo "${b##*/}"
			return 0
		done
		sleep 0.1
	done
	fail "no scsi_debug disk"
}

filters() {
	cat /sys/kernel/debug/blksnap/filters
}

expect_ctl() {
	local want=$1 out
	shift
	out=$("$CTLF" "$@" 2>&1)
	case $want in
	OK) [ "$out" = OK ] ;;
	*) [ "$out" = "ERR $want" ] ;;
	esac || fail "ctlfilter $*: got '$out', expected '$want'"
}
