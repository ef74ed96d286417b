#!/usr/bin/env bash
# Scan a guest console log for kernel splats.
#
#   vm/scan-console.sh CONSOLE.log
#
# Prints one line per splat: "<test>\t<console line>", where <test> is the
# test that was running (from the "blksnap-test: START name" markers the
# guest runner writes to /dev/kmsg), or "-" outside any test.
# Exit status: 0 when there is no splat, 1 otherwise.
set -euo pipefail
log=$1
pat=$(grep -v -e '^#' -e '^$' "$(dirname "$0")/splat-patterns" | paste -sd'|')
awk -v pat="$pat" '
	{ sub(/\r$/, "") }
	/blksnap-test: START / { cur = $0; sub(/.*blksnap-test: START /, "", cur); next }
	$0 ~ pat { n++; printf "%s\t%s\n", (cur == "" ? "-" : cur), $0 }
	END { exit n > 0 }
' "$log"
