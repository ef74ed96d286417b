#!/bin/bash
# Harness self-test: load the splat module with mode=uaf. The test itself passes; the runner must still report it as failed.
. "$SRC/tests/lib/guest.sh"
load_module splat mode=uaf
unload_module splat_selftest
