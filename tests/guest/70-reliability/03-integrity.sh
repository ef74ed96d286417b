#!/bin/bash
# Integrity at scale: two devices in one snapshot, >= 100,000 random
# overwrites (512 B - 1 MiB, O_DIRECT and buffered, several writer threads)
# while another thread reads the images; every image must equal the
# point-in-time content and every original what was written, sector by
# sector (see integrity.c). BLKSNAP_SOAK=S: rounds of snapshots for S s.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
INT=$TBIN/integrity
[ -x "$INT" ] || fail "test helper integrity is not built"
MIB=128		# each original; the 4 GiB storage holds both whole
D0=/dev/mapper/bsint0
D1=/dev/mapper/bsint1
# Few processes: each exec costs about a second here.
cleanup() {
	blksnap_cleanup
	dmsetup remove bsint0 2>/dev/null
	dmsetup remove bsint1 2>/dev/null
	true
}
trap cleanup EXIT

blksnap_loaded && fail "blksnap is loaded already"
load_module blksnap
dmsetup create bsint0 --table "0 $((MIB * 2048)) linear /dev/vda 0" || fail dmsetup
dmsetup create bsint1 --table "0 $((MIB * 2048)) linear /dev/vdb 0" || fail dmsetup
"$INT" $D0 $D1 /dev/vdd ${BLKSNAP_INTEGRITY_WRITES:-} || exit 1
bs detach $D0
bs detach $D1
exit 0
