#!/bin/bash
# Memory accounting (issue 7): slab + vmalloc per tracked device and per
# changed chunk, and over 1,000 take/destroy cycles (more with
# BLKSNAP_SOAK; each writing a chunk,
# so copy-on-write state is created and freed, and checking the image):
# memory must come back to the baseline, the module's own vmalloc areas
# (/proc/vmallocinfo, [blksnap]) exactly. Measurements: memcycles stat.
. "$SRC/tests/guest/20-cbt/bs-lib.sh"
need_blkfilter
MC=$TBIN/memcycles
[ -x "$MC" ] || fail "helper memcycles is not built"
seed=${BLKSNAP_SEED:-$(date +%s)}
echo "# seed=$seed"
RANDOM=$seed
SOAK=${BLKSNAP_SOAK:-0}
# A checked cycle costs about 0.1 s of guest time (debug kernel under
# emulation, no other VM); 1,000 cross three generation wraps of the
# change number. BLKSNAP_SOAK=<seconds> runs as many as fit.
CYCLES=1000
[ "$SOAK" -gt 0 ] && CYCLES=100000000
NDEV=4			# tracked loop devices
DEVSIZE=16G		# sparse: 256 Ki CBT blocks of 64 KiB each
K=4096			# chunks changed under one snapshot
# KASAN's quarantine holds freed slab objects (tens of MiB, counted in
# Slab): memcycles stat shrinks every slab cache first, which empties it.
# BLKSNAP_MEM_FILL=<polls> also churns it (8 MiB a poll), to diagnose.
FILL=${BLKSNAP_MEM_FILL:-0}
loops=()
cleanup() {
	bs_cleanup
	for l in "${loops[@]}"; do losetup -d "$l"; done
	rm -f /tmp/mem-*.img
	true
}
trap cleanup EXIT

# st NAME: measure; sets NAME_slab_kib, NAME_vmalloc_kib, NAME_bsv_bytes...
# (no process per field: each exec costs more than half a second here)
st() {
	local line kv
	line=$("$MC" stat 3 $FILL) || fail "memcycles stat $1: $line"
	log "$1: $line"
	for kv in $line; do printf -v "$1_${kv%%=*}" %s "${kv#*=}"; done
}
# grown A B FIELD: B_FIELD - A_FIELD
grown() { local a=$1_$3 b=$2_$3; echo $(( ${!b} - ${!a} )); }

# 4 KiB chunks: a chunk's bookkeeping does not depend on its size, and
# thousands of small chunks are cheap to change (the buffers are pages).
load_blksnap chunk_minimum_shift=12
chunk=$((1 << $(cat /sys/module/blksnap/parameters/chunk_minimum_shift)))
stride=$((chunk / 4096))
bs attach /dev/vdb
# Warm up: the first takes create caches and workers that stay.
bs takeloop /dev/vdb /dev/vdc 5 0 1 1 > /dev/null

# Noise: the idle state measured twice (the second is also (a)'s baseline).
st idle
st dev0
noise=0
for f in slab_kib sunreclaim_kib vmalloc_kib; do
	d=$(grown idle dev0 $f)
	d=${d#-}
	[ $d -gt $noise ] && noise=$d
done
expect_eq "$dev0_bsv_bytes" "$idle_bsv_bytes" "idle blksnap vmalloc"

# (a) per tracked device: CBT tables are vmalloc'ed, one byte per block
# each. The loop devices exist before the baseline.
for i in $(seq 1 $NDEV); do
	truncate -s $DEVSIZE /tmp/mem-$i.img
	loops+=("$(losetup -f --show /tmp/mem-$i.img)") || fail losetup
done
st dev0
for l in "${loops[@]}"; do bs attach "$l"; done
st dev1
bc=$(cbt "${loops[0]}" block_count)
# vmallocinfo sizes are whole pages plus one guard page
tbl=$(( (bc + 4095) / 4096 * 4096 + 4096 ))
expect_eq "$(grown dev0 dev1 bsv_areas)" $((2 * NDEV)) "vmalloc areas for $NDEV tracked devices"
expect_eq "$(grown dev0 dev1 bsv_bytes)" $((2 * NDEV * tbl)) "vmalloc bytes for $NDEV tracked devices"
# The tracker itself is a few slab objects: below the noise, reported as
# measured.
vm_dev=$(( $(grown dev0 dev1 vmalloc_kib) * 1024 / NDEV ))
slab_dev=$(( $(grown dev0 dev1 slab_kib) * 1024 / NDEV ))
per_dev=$vm_dev
[ $slab_dev -gt 0 ] && per_dev=$((vm_dev + slab_dev))
log "per device: vmalloc $vm_dev bytes, slab $slab_dev bytes; CBT tables 2 x $bc bytes"
[ $vm_dev -ge $((2 * bc)) ] || fail "vmalloc per device $vm_dev bytes < CBT tables $((2 * bc))"
for l in "${loops[@]}"; do bs detach "$l"; done

# (b) per changed chunk: one snapshot, K chunks overwritten (1 MiB writes). The chunk
# buffers are pages (kept in a per-device pool), not slab: what is
# measured is the chunk's bookkeeping, some 300 bytes; the idle noise is
# about 1 MiB, i.e. 250 bytes a chunk.
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
st chunk0
expect_eq "$chunk0_bsv_bytes" "$idle_bsv_bytes" "blksnap vmalloc after detaching $NDEV devices"
"$MC" touch /dev/vdb $K $chunk || fail "touch $K chunks"
st chunk1
bs destroy "$id"
per_chunk=$(( ($(grown chunk0 chunk1 slab_kib) + $(grown chunk0 chunk1 vmalloc_kib)) * 1024 / K ))
log "per changed chunk: $per_chunk bytes (chunk $chunk bytes)"
[ $per_chunk -le 2048 ] || fail "$per_chunk bytes per changed chunk"

# (c) take/destroy cycles, one chunk written and the image checked each.
st before
out=$("$BS" takeloop /dev/vdb /dev/vdc $CYCLES $((RANDOM % stride)) 1 1 $SOAK) \
	|| fail "takeloop: $out"
log "$out"
for kv in $out; do printf -v "loop_${kv%%=*}" %s "${kv#*=}"; done
st after
expect_eq "$after_bsv_areas/$after_bsv_bytes" "$before_bsv_areas/$before_bsv_bytes" \
	"blksnap vmalloc areas/bytes after $loop_rounds cycles"
# Tolerance: four times the idle noise, at least 256 KiB (256 bytes a
# cycle).
tol=$((4 * noise))
[ $tol -lt 256 ] && tol=256
for f in slab_kib sunreclaim_kib vmalloc_kib; do
	d=$(grown before after $f)
	[ $d -le $tol ] || fail "$f grew by $d KiB over $loop_rounds cycles (tolerance $tol KiB)"
done

echo "FIGURE cycles=$loop_rounds cycle_ms=$((loop_ms / loop_rounds))" \
	"slab_kib_before=$before_slab_kib slab_kib_after=$after_slab_kib" \
	"sunreclaim_kib_before=$before_sunreclaim_kib sunreclaim_kib_after=$after_sunreclaim_kib" \
	"vmalloc_kib_before=$before_vmalloc_kib vmalloc_kib_after=$after_vmalloc_kib" \
	"noise_kib=$noise tolerance_kib=$tol" \
	"tracked_devices=$NDEV cbt_blocks_per_device=$bc bytes_per_tracked_device=$per_dev" \
	"vmalloc_bytes_per_tracked_device=$vm_dev slab_bytes_per_tracked_device=$slab_dev" \
	"chunks_changed=$K chunk_bytes=$chunk bytes_per_changed_chunk=$per_chunk"

bs detach /dev/vdb
rmmod blksnap || fail "rmmod blksnap"
FILL=0
st unloaded
expect_eq "$unloaded_bsv_areas" 0 "blksnap vmalloc areas after unload"
exit 0
