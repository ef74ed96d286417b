#!/bin/bash
# ioctl fuzzer (fuzz.c): seeded random and structure-aware calls to every
# control ioctl and every BLKFILTER ioctl / blksnap ctl command, from
# several threads, on whole disks, a partition, a loop device and a dm
# device, with direct writes (read back) and image I/O in between so that
# copy-on-write runs. Every call must return success or a documented error;
# no splat, no hang. Afterwards: no snapshot and no filter left, module
# refcount 0, rmmod works.
# BLKSNAP_SEED=n replays a run; BLKSNAP_SOAK=S fuzzes for S seconds instead
# of BLKSNAP_FUZZ_CALLS (100000) calls.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
FUZZ=$TBIN/fuzz
[ -x "$FUZZ" ] || fail "test helper fuzz is not built"
# (no process for the seed: every exec costs ~0.6 s in the guest)
SEED=${BLKSNAP_SEED:-$(( ${EPOCHREALTIME/./} % 1000000000 ))}
CALLS=${BLKSNAP_FUZZ_CALLS:-100000}
THREADS=${BLKSNAP_FUZZ_THREADS:-4}

LOOP=
cleanup() {
	blksnap_cleanup
	dmsetup remove fuzz-lin 2>/dev/null
	[ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
	if [ -b /dev/vdc1 ]; then
		dd if=/dev/zero of=/dev/vdc bs=4096 count=1 conv=notrunc status=none
		blockdev --rereadpt /dev/vdc 2>/dev/null
	fi
	rm -rf /tmp/fuzz-ds /tmp/fuzz-ds.img /tmp/fuzz-fifo /tmp/fuzz-loop.img
	true
}
trap cleanup EXIT

# Small growth steps: file storages grow by 1 MiB, not by 1 GiB of tmpfs.
load_blksnap diff_storage_minimum=2048

# A partition of vdc far from the region fuzz writes on vdc itself.
printf 'start=1048576, size=262144\n' | sfdisk -q /dev/vdc || fail "sfdisk /dev/vdc"
wait_for_dev /dev/vdc1
truncate -s 64M /tmp/fuzz-loop.img
LOOP=$(losetup -f --show /tmp/fuzz-loop.img) || fail "losetup"
dm_create fuzz-lin "0 524288 linear /dev/vdd 0"
# Difference storages: a directory, a regular file, a block device (vda).
mkdir -p /tmp/fuzz-ds
: > /tmp/fuzz-ds.img
mkfifo /tmp/fuzz-fifo

log "setup done at ${SECONDS}s"
if [ -n "${BLKSNAP_SOAK:-}" ]; then
	run=(-t "$BLKSNAP_SOAK")
else
	run=(-n "$CALLS")
fi
start=$SECONDS
"$FUZZ" -s "$SEED" -j "$THREADS" "${run[@]}" ro:/dev/vda /dev/vdb /dev/vdc /dev/vdc1 "$LOOP" "$DM"
rc=$?
log "fuzz: exit $rc after $(( SECONDS - start )) s"
[ $rc = 0 ] || fail "fuzz: exit $rc (seed $SEED)"

# Nothing left behind: the fuzzer destroyed its snapshots and detached.
out=$("$BSCTL" collect)
expect_eq "$out" "count=0" "snapshots left"
left=$(attached_filters)
[ -z "$left" ] || fail "filters left: $left"
imgs=(/dev/blksnap-image_*)
[ -e "${imgs[0]}" ] && fail "images left: ${imgs[*]}"
expect_eq "$(cat /sys/module/blksnap/refcnt)" 0 "module refcount"
rmmod blksnap || fail "rmmod blksnap"
log "checks done at ${SECONDS}s"
exit 0
