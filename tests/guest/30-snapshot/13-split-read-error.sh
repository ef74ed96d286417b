#!/bin/bash
# An image read that fails in part fails whole. The image splits a 256 KiB
# read in two; the original has 128 KiB it cannot read (dm "error"). The
# read must fail whichever half is unreadable, and each readable half still
# reads back right alone. A completion that cleared the error of the other
# half would return a buffer that nothing was read into.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
cleanup() { blksnap_cleanup; dm_remove bsbad; true; }
trap cleanup EXIT

load_blksnap
S=$(blockdev --getsz /dev/vdb) || fail "size of /dev/vdb"
bs stamp /dev/vdb A 0 256		# 1 MiB of 4 KiB stamps
# sectors 256-511 (the second 128 KiB) cannot be read
dm_create bsbad "0 256 linear /dev/vdb 0
256 256 error
512 $((S - 512)) linear /dev/vdb 512"
bs attach "$DM"
id=$(snap_take /dev/vdc 0 "$DM") || exit 1
img=$(image "$DM")

# read_img OFFSET_KIB LEN_KIB: one O_DIRECT read of the image
read_img() {
	dd if="$img" of=/dev/null iflag=direct,skip_bytes skip=$(($1 * 1024)) \
		bs=$(($2 * 1024)) count=1 status=none 2>/dev/null
}
read_img 0 128 || fail "the readable first 128 KiB"
read_img 256 256 || fail "the readable 256-512 KiB"
bs verify "$img" A 0 32 || fail "image data of the first 128 KiB"
bs verify "$img" A 64 64 || fail "image data of 256-512 KiB"
expect_fail read_img 128 128		# unreadable alone
expect_fail read_img 0 256		# second half unreadable
expect_fail read_img 128 256		# first half unreadable
# An error of the original is the reader's, not the snapshot's.
expect_eq "$(bs info "$DM")" "error=0 image=${img#/dev/}" "snapshot after the read errors"
bs destroy "$id"
bs detach "$DM"
exit 0
