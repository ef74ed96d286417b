#!/bin/bash
# Harness self-test: load the splat module with mode=warn. The test itself passes; the runner must still report it as failed.
. "$SRC/tests/lib/guest.sh"
load_module splat mode=warn
unload_module splat_selftest
