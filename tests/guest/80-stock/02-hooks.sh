#!/bin/bash
# The hooks: another module that may modify submit_bio_noacct() or
# del_gendisk() through ftrace makes the first attach fail with EBUSY and a
# log line naming the cause, while the control device keeps answering; an
# attached filter pins the module; nothing stays hooked after a failure.
. "$SRC/tests/guest/80-stock/stock-lib.sh"
stock_setup
trap 'rmmod ftrace_rival 2>/dev/null; blksnap_cleanup' EXIT
rival=$(module_ko ftracerival)

for func in submit_bio_noacct del_gendisk; do
	insmod "$rival" func=$func || fail "cannot load the rival hook on $func"
	dmesg -c > /dev/null
	expect_ctl EBUSY /dev/vdb attach
	dmesg | grep -q "cannot hook $func: another module already modifies it" ||
		fail "no kernel log line naming the cause ($func): $(dmesg | tail -n 3)"
	expect_eq "$(hooks)" 0 "hooks left after the failed attach ($func)"
	expect_eq "$(filters)" "" "filters after the failed attach ($func)"
	"$BS" version > /dev/null || fail "the control device stopped answering"
	rmmod ftrace_rival || fail "cannot unload the rival"
done

expect_ctl OK /dev/vdb attach
expect_ctl OK /dev/vdb cbtinfo
# The module is pinned while a filter is attached.
expect_fail rmmod blksnap
expect_ctl OK /dev/vdb detach
expect_eq "$(hooks)" 0 "hooks after detach"
expect_ok rmmod blksnap
exit 0
