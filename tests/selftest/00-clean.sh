#!/bin/bash
# Harness self-test: load the splat module with mode=none. Nothing must be reported.
. "$SRC/tests/lib/guest.sh"
load_module splat mode=none
unload_module splat_selftest
