#!/bin/bash
# Races: worker threads concurrently attach/detach, create/add/take/destroy
# snapshots (and destroy each other's), open/read/close the images, write
# the originals (read back at once), remove and re-create loop and dm
# devices, and try to unload the module (reloading it when that works).
# Every error must be documented; at the end all workers stop, leftovers
# are destroyed, filters detached, refcount 0, rmmod succeeds (races.c).
# BLKSNAP_SOAK=S: race for S seconds instead of BLKSNAP_RACES_SECS (120).
# A taken snapshot holds its originals open: dm removal is refused (EBUSY)
# and a loop clear is deferred to the destroy.
. "$SRC/tests/guest/20-cbt/bs-lib.sh"
need_blkfilter
RACES=$TBIN/races
[ -x "$RACES" ] || fail "test helper races is not built"
KO=$(ls "$MODDIR"/blksnap/*.ko 2>/dev/null | head -n 1)
[ -n "$KO" ] || fail "module blksnap is not built"
SEED=${BLKSNAP_SEED:-$(( $(date +%s) % 1000000 ))}
SECS=${BLKSNAP_SOAK:-${BLKSNAP_RACES_SECS:-120}}
# Small growth steps: the directory storage grows (fallocate) while racing.
PARAMS="diff_storage_minimum=16384"
log "racing for $SECS s"
echo "# seed=$SEED"

# Cheap cleanup: under this debug kernel every exec costs ~0.6 s, and
# bs_cleanup reads the filter of every disk with one.
bs_off() {
	local id f
	grep -q '^blksnap ' /proc/modules || return 0
	for id in $("$BS" collect 2>/dev/null | grep -v '^count='); do
		"$BS" destroy "$id" >/dev/null 2>&1
	done
	for f in $(grep -lx blksnap /sys/block/*/filter /sys/block/*/*/filter 2>/dev/null); do
		f=${f%/filter}
		"$BS" detach "/dev/${f##*/}" >/dev/null 2>&1
	done
	rmmod blksnap
}
cleanup() {
	bs_off
	grep -qs bsrace /sys/block/dm-*/dm/name &&
		dmsetup remove bsrace0 bsrace1 >/dev/null 2>&1
	for n in 40 41; do
		[ -e /sys/block/loop$n/loop ] && losetup -d /dev/loop$n 2>/dev/null
	done
	rm -rf /tmp/races-ds /tmp/races-loop0 /tmp/races-loop1
	true
}
trap cleanup EXIT

bs_off || fail "cannot unload blksnap"
load_module blksnap $PARAMS
mkdir -p /tmp/races-ds
while read -r k v _; do [ "$k" = Slab: ] && slab_before=$v; done < /proc/meminfo
"$RACES" run "$KO" "$PARAMS" "$SEED" "$SECS" /tmp/races-ds /dev/vdc /dev/vda /dev/vdb
rc=$?
[ $rc = 0 ] || fail "races: exit $rc (seed $SEED)"
# The helper unloaded the module and removed its devices.
grep -q '^blksnap ' /proc/modules && fail "blksnap still loaded"
for f in /dev/blksnap-image_* /tmp/races-ds/* /sys/block/loop4[01]; do
	[ -e "$f" ] && fail "$f left after the end"
done
grep -qs bsrace /sys/block/dm-*/dm/name && fail "dm device left after the end"
read -r f < /sys/block/vdb/filter
expect_eq "$f" "" "filter of vdb"
while read -r k v _; do [ "$k" = Slab: ] && slab_after=$v; done < /proc/meminfo
echo "FIGURE races_slab_kib_before=$slab_before races_slab_kib_after=$slab_after"
exit 0
