#!/bin/bash
# Races: worker threads concurrently attach/detach, create/add/take/destroy
# snapshots (and destroy each other's), open/read/close the images, write
# the originals (read back at once), remove and re-create loop and dm
# devices, and try to unload the module (reloading it when that works).
# Every error must be documented; at the end all workers stop, leftovers
# are destroyed, filters detached, refcount 0, rmmod succeeds (races.c).
# BLKSNAP_SOAK=S: race for S seconds instead of BLKSNAP_RACES_SECS (60 in make check;
# make soak races for hours).
# A taken snapshot holds its originals open: dm removal is refused (EBUSY)
# and a loop clear is deferred to the destroy.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
RACES=$TBIN/races
[ -x "$RACES" ] || fail "test helper races is not built"
KO=$(module_ko blksnap)
SEED=${BLKSNAP_SEED:-$(( $(date +%s) % 1000000 ))}
SECS=${BLKSNAP_SOAK:-${BLKSNAP_RACES_SECS:-60}}
# Small growth steps: the directory storage grows (fallocate) while racing.
PARAMS="diff_storage_minimum=16384"
log "racing for $SECS s"
echo "# seed=$SEED"

cleanup() {
	blksnap_cleanup
	grep -qs bsrace /sys/block/dm-*/dm/name &&
		dmsetup remove bsrace0 bsrace1 >/dev/null 2>&1
	for n in 40 41; do
		[ -e /sys/block/loop$n/loop ] && losetup -d /dev/loop$n 2>/dev/null
	done
	rm -rf /tmp/races-ds /tmp/races-loop0 /tmp/races-loop1
	true
}
trap cleanup EXIT

blksnap_cleanup || fail "cannot unload blksnap"
load_module blksnap $PARAMS
mkdir -p /tmp/races-ds
while read -r k v _; do [ "$k" = Slab: ] && slab_before=$v; done < /proc/meminfo
"$RACES" run "$KO" "$PARAMS" "$SEED" "$SECS" /tmp/races-ds /dev/vdc /dev/vda /dev/vdb
rc=$?
[ $rc = 0 ] || fail "races: exit $rc (seed $SEED)"
# The helper unloaded the module and removed its devices.
blksnap_loaded && fail "blksnap still loaded"
for f in /dev/blksnap-image_* /tmp/races-ds/* /sys/block/loop4[01]; do
	[ -e "$f" ] && fail "$f left after the end"
done
grep -qs bsrace /sys/block/dm-*/dm/name && fail "dm device left after the end"
expect_eq "$(filter_of /dev/vdb)" "" "filter of vdb"
while read -r k v _; do [ "$k" = Slab: ] && slab_after=$v; done < /proc/meminfo
echo "FIGURE races_slab_kib_before=$slab_before races_slab_kib_after=$slab_after"
exit 0
