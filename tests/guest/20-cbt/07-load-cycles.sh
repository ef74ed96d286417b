#!/bin/bash
# The module loads and unloads cleanly 100 times in a row, with a tracker
# attached (and written through) and detached in between; the refcount is
# 1 with the tracker and 0 without, and at the end nothing holds a
# reference (kmemleak runs at the suite's end). The rounds run inside
# bsctl: a process per step would cost more than the loads themselves.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT
blksnap_cleanup
ko=$(module_ko blksnap)
out=$("$BSCTL" loadcycles "$ko" /dev/vdc 100) || fail "load cycles: $out"
expect_eq "$out" "100 rounds" "load cycles"
blksnap_loaded && fail "module still loaded"
# The device still works and the filter is really gone.
expect_eq "$(filter_of /dev/vdc)" "" "filter after the rounds"
dd if=/dev/vdc of=/dev/null bs=64k count=1 skip=5 iflag=direct status=none ||
	fail "read after the rounds"
exit 0
