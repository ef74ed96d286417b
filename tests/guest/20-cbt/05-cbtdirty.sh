#!/bin/bash
# CBTDIRTY marks both tables; bad requests are refused and change nothing.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT
S=$(( (1 << 30) / 512 ))	# sectors of vdb

load_blksnap
bs attach /dev/vdb
take_cycle /dev/vdc /dev/vdb
take_cycle /dev/vdc /dev/vdb
expect_eq "$(cbt /dev/vdb changes)" 2 "changes"
# Block 3 (sectors 384..511), blocks 5-6 (crossing), the last sector.
bs markdirty /dev/vdb 384:1 767:2 $((S - 1)):1 >/dev/null
# Visible at once in the read table, with the previous number.
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "3 2 5 2 6 2 16383 2 " "read table right after markdirty"
take_cycle /dev/vdc /dev/vdb
# And in the write table: the next take shows them with number 3.
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "3 3 5 3 6 3 16383 3 " "read table after the next take"

# Bad requests
expect_errno EINVAL markdirty /dev/vdb $S:1
expect_errno EINVAL markdirty /dev/vdb $((S - 1)):2
expect_errno EINVAL markdirty /dev/vdb 0:$((S + 1))
expect_errno EINVAL markdirty /dev/vdb 18446744073709551615:2
expect_errno EINVAL markdirty /dev/vdb 8:18446744073709551615
# a good range followed by a bad one marks nothing
expect_errno EINVAL markdirty /dev/vdb 0:1 $S:1
expect_errno EINVAL markdirty-raw /dev/vdb 0 ok
expect_errno EINVAL markdirty-raw /dev/vdb 4294967295 ok
expect_errno EFAULT markdirty-raw /dev/vdb 1 null
expect_errno EFAULT markdirty-raw /dev/vdb 3 bad
expect_errno EINVAL ctl-raw /dev/vdb 2 4 ok
expect_errno EFAULT ctl-raw /dev/vdb 2 16 null
take_cycle /dev/vdc /dev/vdb
expect_eq "$(bs cbtmap /dev/vdb | tr '\n' ' ')" "3 3 5 3 6 3 16383 3 " "nothing marked by the bad requests"
exit 0
