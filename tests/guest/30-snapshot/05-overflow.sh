#!/bin/bash
# Difference storage overflow: the snapshot of the device is corrupted with
# ENOSPC, one corrupted event is queued, image I/O fails, the original
# keeps every write and CBT keeps tracking.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap 'blksnap_cleanup /mnt' EXIT

load_blksnap diff_storage_minimum=2048	# 1 MiB steps
mkfs.ext4 -q -F /dev/vdd || fail mkfs
mkdir -p /mnt && mount /dev/vdd /mnt || fail mount
bs stamp /dev/vdb A 0 4096
bs attach /dev/vdb
dev=$(devnum /dev/vdb)
# limit 4 MiB; 16 MiB get overwritten
id=$(snap_take /mnt $((4 * 2048)) /dev/vdb) || exit 1
img=$(image /dev/vdb)
bs stamp /dev/vdb B 0 4096
sync
expect_eq "$(bs wait "$id" 30000 2>/dev/null)" "code=0 dev=$dev err=-28" "corrupted event"
expect_errno ENOENT wait "$id" 100
expect_eq "$(bs info /dev/vdb)" "error=-28 image=${img#/dev/}" "info"
if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	fail "image read succeeded after overflow"
fi
if dd if=/dev/zero of="$img" bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
	fail "image write succeeded after overflow"
fi
bs verify /dev/vdb B 0 4096 || fail "original lost data"
bs stamp /dev/vdb C 10 1
bs verify /dev/vdb C 10 1 || fail "original after overflow"
bs destroy "$id"
take_cycle /dev/vdc /dev/vdb
expect_eq "$(bs cbtmap /dev/vdb 0 1)" "0 2" "CBT kept tracking"
bs detach /dev/vdb
exit 0
