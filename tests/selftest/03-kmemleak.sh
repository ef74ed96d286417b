#!/bin/bash
# Harness self-test: load the splat module with mode=leak. The test itself
# passes; the runner must still report the leak. The module stays loaded so
# that kmemleak's backtrace names it.
. "$SRC/tests/lib/guest.sh"
load_module splat mode=leak
