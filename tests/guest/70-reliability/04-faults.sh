#!/bin/bash
# Faults at random moments (before, during the take, during copy-on-write,
# transient): errors of the difference storage (block device; file system
# of a growing file storage), errors of the original itself
# (fail_make_request, dm-flakey), failing memory allocations on the
# copy-on-write path (failslab, fail_page_alloc). The original never loses
# an acknowledged write; the snapshot stays exact or reports itself
# corrupted (see faults.c). BLKSNAP_SOAK=S: S seconds in all.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
FAULTS=$TBIN/faults
[ -x "$FAULTS" ] || fail "test helper faults is not built"
for a in fail_make_request failslab fail_page_alloc; do
	[ -d /sys/kernel/debug/$a ] || skip "no $a fault injection in this kernel"
done
ORIG=/dev/mapper/bsforig
STORE=/dev/mapper/bsfstore
FS=/dev/mapper/bsffs
cleanup() {
	echo 0 > /sys/kernel/debug/fail_make_request/probability
	echo 0 > /sys/kernel/debug/failslab/probability
	echo 0 > /sys/kernel/debug/fail_page_alloc/probability
	for f in /sys/block/*/make-it-fail; do echo 0 > "$f"; done
	blksnap_cleanup /mnt/bsf
	for d in bsforig bsfstore bsffs; do dmsetup remove "$d" 2>/dev/null; done
	true
}
trap cleanup EXIT
disk() { basename "$(readlink -f /sys/dev/block/"$(devnum "$1")")"; }
# soak: the time is shared by the 7 runs of the helper below
[ -n "${BLKSNAP_SOAK:-}" ] && export BLKSNAP_SOAK=$((BLKSNAP_SOAK / 7 + 1))
[ -n "${BLKSNAP_SEED:-}" ] || export BLKSNAP_SEED=$(date +%s)
log "seed=$BLKSNAP_SEED"
figures=()
run() {
	local out
	# a seed of its own for each run, derived from the printed one
	out=$(BLKSNAP_SEED=$((BLKSNAP_SEED + ${#figures[@]})) "$FAULTS" "$@")
	rc=$?
	printf '%s\n' "$out"
	figures+=("$(grep '^FIGURE' <<< "$out")")
	[ $rc = 0 ] || fail "faults $* failed (exit $rc)"
}

load_blksnap diff_storage_minimum=2048	# files grow in 1 MiB steps
dmsetup create bsforig --table "0 $((32 * 2048)) linear /dev/vdb 0" || fail dmsetup
dmsetup create bsfstore --table "0 $((512 * 2048)) linear /dev/vdc 0" || fail dmsetup
dmsetup create bsffs --table "0 $((256 * 2048)) linear /dev/vdc $((512 * 2048))" || fail dmsetup

# (a) the difference storage fails: a block device, by fail_make_request
# and by a switch of its table to dm-flakey
run $ORIG $STORE 0 "mif:$(disk $STORE)" 3
run $ORIG $STORE 0 flakey:bsfstore 1
# (a) a file storage fails while it grows (a file system on a failing
# device). A file system that saw I/O errors may stay broken (an aborted
# journal makes even the O_TMPFILE create fail): a new one for each run of
# one round, also in a soak, which repeats them for two runs' share.
mkdir -p /mnt/bsf
fs_run() {
	mkfs.ext4 -q -F $FS || fail mkfs
	mount -o errors=continue $FS /mnt/bsf || fail mount
	BLKSNAP_SOAK= run $ORIG /mnt/bsf $((128 * 2048)) "mif:$(disk $FS)" 1
	umount /mnt/bsf || fail umount
}
fs_run
fs_run
if [ -n "${BLKSNAP_SOAK:-}" ]; then
	end=$((SECONDS + 2 * BLKSNAP_SOAK))
	while [ $SECONDS -lt $end ]; do fs_run; done
fi
# (b) the original fails (the filter is attached to the failing device)
run $ORIG $STORE 0 "mif:$(disk $ORIG)" 2
run $ORIG $STORE 0 flakey:bsforig 1
# (c) allocations fail in copy-on-write and in the writers
run $ORIG $STORE 0 mem 2

# Totals of the runs.
printf '%s\n' "${figures[@]}" | awk '{
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] != "fault" && kv[1] != "seed") sum[kv[1]] += kv[2]
	}
} END {
	printf "FIGURE faults_injected=%d scenarios=%d snapshots_corrupted=%d snapshots_exact=%d bytes_verified=%.0f acknowledged_writes_lost=%d writes_ok=%d writes_failed=%d image_reads_eio=%d seed='"$BLKSNAP_SEED"'\n",
		sum["faults_injected"], sum["scenarios"], sum["snapshots_corrupted"], sum["snapshots_exact"],
		sum["bytes_verified"], sum["acknowledged_writes_lost"], sum["writes_ok"], sum["writes_failed"],
		sum["image_reads_eio"]
}'
bs detach $ORIG
exit 0
