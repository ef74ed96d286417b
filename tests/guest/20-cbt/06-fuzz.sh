#!/bin/bash
# Bad input for every command: zero and huge lengths, offsets past the end,
# NULL and unmapped pointers. Nothing may crash or splat.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap blksnap_cleanup EXIT

load_blksnap
bs attach /dev/vdb
N=$(cbt /dev/vdb block_count)

# CBTMAP bounds: never partial, never wrapping
expect_eq "$(bs cbtmap-raw /dev/vdb 0 $N ok)" OK "whole table"
expect_eq "$(bs cbtmap-raw /dev/vdb 0 0 ok)" OK "zero length"
expect_eq "$(bs cbtmap-raw /dev/vdb $N 0 ok)" OK "zero length at the end"
expect_eq "$(bs cbtmap-raw /dev/vdb 0 $N edge)" OK "buffer ending at an unmapped page"
expect_errno EINVAL cbtmap-raw /dev/vdb 0 $((N + 1)) ok
expect_errno EINVAL cbtmap-raw /dev/vdb 1 $N ok
expect_errno EINVAL cbtmap-raw /dev/vdb $((N + 1)) 0 ok
expect_errno EINVAL cbtmap-raw /dev/vdb 1 4294967295 ok
expect_errno EINVAL cbtmap-raw /dev/vdb 4294967295 1 ok
expect_errno EINVAL cbtmap-raw /dev/vdb 4294967295 4294967295 ok
expect_errno EFAULT cbtmap-raw /dev/vdb 0 16 null
expect_errno EFAULT cbtmap-raw /dev/vdb 0 16 bad
expect_errno EFAULT cbtmap-raw /dev/vdb 0 16 ro

# Option buffers: too short, NULL, unmapped, read-only for output
for cmd in 0 1 2 3 4; do
	expect_errno EINVAL ctl-raw /dev/vdb $cmd 0 ok
	expect_errno EINVAL ctl-raw /dev/vdb $cmd 1 ok
	expect_errno EFAULT ctl-raw /dev/vdb $cmd 4096 null
	expect_errno EFAULT ctl-raw /dev/vdb $cmd 4096 bad
done
expect_errno EFAULT ctl-raw /dev/vdb 0 4096 ro
expect_errno EFAULT ctl-raw /dev/vdb 4 4096 ro
# huge optlen with a valid small buffer is fine for output commands
bs ctl-raw /dev/vdb 0 4294967295 ok >/dev/null
# unknown commands
expect_errno ENOTTY ctl-raw /dev/vdb 5 64 ok
expect_errno ENOTTY ctl-raw /dev/vdb 4294967295 64 ok
# SNAPSHOTADD with an all-zero id: no such snapshot
expect_errno ESRCH ctl-raw /dev/vdb 3 16 ok

# Control device
expect_errno EINVAL create null 0
expect_errno EFAULT create-raw null
expect_errno EFAULT create-raw bad
expect_errno EINVAL create /dev/null 0
expect_errno ENOENT create /nonexistent/file 0
expect_errno ESRCH take 00000000-0000-0000-0000-000000000000
expect_errno ESRCH destroy 00000000-0000-0000-0000-000000000000
expect_errno ESRCH wait 00000000-0000-0000-0000-000000000000 10
expect_errno EFAULT wait 00000000-0000-0000-0000-000000000000 10 null
expect_errno EFAULT wait 00000000-0000-0000-0000-000000000000 10 bad
bs detach /dev/vdb
exit 0
