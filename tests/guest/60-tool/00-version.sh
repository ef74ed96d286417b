#!/bin/bash
# blksnap version: fails cleanly without the module, reports 2.0.0.0 with it
# and the filter backend the module must have here (blkfilter on our kernel,
# ftrace on a stock one).
. "$SRC/tests/guest/60-tool/tool-lib.sh"

blksnap_loaded && rmmod blksnap
expect_tool_err 1 "blksnap: version: /dev/blksnap-control: blksnap module is not loaded" "$BS" version
expect_tool_err 1 "blksnap: snapshot collect: /dev/blksnap-control: blksnap module is not loaded" \
	"$BS" snapshot collect

tool_setup
out=$("$BS" version) || fail "blksnap version failed"
printf '%s\n' "$out" | grep -q '^module: *2\.0\.0\.0$' || fail "unexpected version output: $out"
backend=$(kernel_backend)
printf '%s\n' "$out" | grep -q "^backend: *$backend\$" || fail "no 'backend: $backend' in: $out"
expect_eq "$("$BS" version --json | json_get backend)" "$backend" "filter backend (json)"
expect_eq "$("$BS" version --json | json_get module)" "2.0.0.0" "module version (json)"
expect_eq "$("$BS" --json version | json_get library)" "1.0.0" "library version (json)"
"$BS" --help | grep -q 'snapshot watch' || fail "--help lacks 'snapshot watch'"
expect_eq "$("$BS" snapshot collect)" "" "no snapshots at start"
expect_eq "$("$BS" snapshot collect --json)" '{"snapshots":[]}' "empty collect (json)"
