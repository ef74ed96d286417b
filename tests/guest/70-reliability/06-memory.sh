#!/bin/bash
# Memory accounting, exact: the module counts every object it keeps
# (debugfs blksnap/objects: trackers, CBT maps, snapshots and their
# devices, event queues and events, difference storages and areas, chunks,
# buffers and their pages, images, the filter backend's per-device state)
# and its vmalloc areas are listed in /proc/vmallocinfo. Per tracked
# device, per changed chunk and over 1,000 take/destroy cycles (more with
# BLKSNAP_SOAK; each writing a chunk, so copy-on-write state is created
# and freed, and checking the image) those counts must be exactly what the
# state calls for, back to the baseline after destroy and to zero once
# nothing is attached. The global Slab/SUnreclaim figures move by a MiB
# between two idle readings: they are printed (with the slab caches that
# grew most) as figures, not used as the verdict. Measurements: memcycles.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
MC=$TBIN/memcycles
[ -x "$MC" ] || fail "helper memcycles is not built"
seed=${BLKSNAP_SEED:-$(date +%s)}
echo "# seed=$seed"
RANDOM=$seed
SOAK=${BLKSNAP_SOAK:-0}
# A checked cycle costs about 0.1-0.2 s of guest time (debug kernel under
# emulation, no other VM; the FIGURE line splits it into take, I/O and
# destroy); 1,000 cross three generation wraps of the
# change number. BLKSNAP_SOAK=<seconds> runs as many as fit.
# BLKSNAP_MEM_CYCLES=N runs exactly N, however long they take.
CYCLES=${BLKSNAP_MEM_CYCLES:-1000}
LIMIT_S=0
if [ -z "${BLKSNAP_MEM_CYCLES:-}" ] && [ "$SOAK" -gt 0 ]; then
	CYCLES=100000000
	LIMIT_S=$SOAK
fi
NDEV=4			# tracked loop devices
DEVSIZE=16G		# sparse: 256 Ki CBT blocks of 64 KiB each
K=4096			# chunks changed under one snapshot
# KASAN's quarantine holds freed slab objects (tens of MiB, counted in
# Slab): memcycles stat shrinks every slab cache first, which empties it.
# BLKSNAP_MEM_FILL=<polls> also churns it (8 MiB a poll), to diagnose.
FILL=${BLKSNAP_MEM_FILL:-0}
loops=()
cleanup() {
	blksnap_cleanup
	for l in "${loops[@]}"; do losetup -d "$l"; done
	rm -f /tmp/mem-*.img
	true
}
trap cleanup EXIT

OBJS=/sys/kernel/debug/blksnap/objects
KINDS=		# every kind the module counts, as it lists them

# objs NAME: read the module's object counts into NAME_o_<kind> and
# NAME_objs (one line, for messages); no process started. The first call
# also learns the kinds.
objs() {
	local k v line= kinds=
	[ -r "$OBJS" ] || fail "no $OBJS: the module does not count its objects"
	while read -r k v; do
		printf -v "$1_o_$k" %s "$v"
		line+="$k=$v "
		kinds+="$k "
	done < "$OBJS"
	[ -n "$kinds" ] || fail "$OBJS is empty"
	[ -z "$KINDS" ] || [ "$KINDS" = "$kinds" ] || fail "the kinds changed: $KINDS -> $kinds"
	KINDS=$kinds
	printf -v "$1_objs" %s "${line% }"
	log "$1 objects: ${line% }"
}
# expect_objs NAME WHAT KIND=N...: the listed kinds (which must exist) have
# exactly N objects, every other kind 0.
expect_objs() {
	local name=$1 what=$2 k v want got kv
	shift 2
	for kv in "$@"; do
		[[ " $KINDS" == *" ${kv%%=*} "* ]] || fail "$what: the module counts no '${kv%%=*}'"
	done
	for k in $KINDS; do
		want=0
		for kv in "$@"; do [ "${kv%%=*}" = "$k" ] && want=${kv#*=}; done
		v=${name}_o_$k
		got=${!v-missing}
		v=${name}_objs
		[ "$got" = "$want" ] || fail "$what: $got objects of kind $k, expected $want ($name: ${!v})"
	done
}
# same_objs A B WHAT: every count of B equals that of A
same_objs() {
	local k a b
	for k in $KINDS; do
		a=$1_o_$k b=$2_o_$k
		[ "${!b-x}" = "${!a-y}" ] || fail "$3: $k ${!a-?} -> ${!b-?} ($1 -> $2)"
	done
}
# slabs FILE: active objects and object size of every slab cache (read
# right after a stat, which shrank them)
slabs() { awk 'NR > 2 { print $1, $2, $4 }' /proc/slabinfo > "$1" || fail "read /proc/slabinfo"; }
# slab_growth A B: the caches whose bytes grew most from A to B (figures)
slab_growth() {
	gawk 'NR == FNR { a[$1] = $2 * $3; next }
	      { d = $2 * $3 - a[$1]; if (d > 0) g[$1] = d }
	      END {
		PROCINFO["sorted_in"] = "@val_num_desc"
		for (c in g) { if (n++ == 6) break; printf "%s%s:+%d", (n > 1 ? " " : ""), c, g[c] }
	      }' "$1" "$2"
}

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
objs base
expect_objs base "one device attached, no snapshot" tracker=1 cbt_map=1 filter=1

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
objs dev1
expect_objs dev1 "$((NDEV + 1)) devices attached" tracker=$((NDEV + 1)) cbt_map=$((NDEV + 1)) \
	filter=$((NDEV + 1))
# The tracker itself is a few slab objects: below the noise, reported as
# measured.
vm_dev=$(( $(grown dev0 dev1 vmalloc_kib) * 1024 / NDEV ))
slab_dev=$(( $(grown dev0 dev1 slab_kib) * 1024 / NDEV ))
per_dev=$vm_dev
[ $slab_dev -gt 0 ] && per_dev=$((vm_dev + slab_dev))
log "per device: vmalloc $vm_dev bytes, slab $slab_dev bytes; CBT tables 2 x $bc bytes"
[ $vm_dev -ge $((2 * bc)) ] || fail "vmalloc per device $vm_dev bytes < CBT tables $((2 * bc))"
for l in "${loops[@]}"; do bs detach "$l"; done
objs dev2
same_objs base dev2 "objects after detaching $NDEV devices"

# (b) per changed chunk: one snapshot, K chunks overwritten (1 MiB writes). The chunk
# buffers are pages (kept in a per-device pool), not slab: what is
# measured is the chunk's bookkeeping: exactly one descriptor a chunk, its
# bytes (slab, within about 250 bytes a chunk of idle noise) a figure.
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
st chunk0
objs chunk0
expect_objs chunk0 "snapshot taken" tracker=1 cbt_map=1 filter=1 snapshot=1 \
	snapshot_device=1 event_queue=1 diff_storage=1 diff_area=1 image=1 \
	diff_buffer=1 buffer_page=$chunk0_o_buffer_page
expect_eq "$chunk0_bsv_bytes" "$idle_bsv_bytes" "blksnap vmalloc after detaching $NDEV devices"
"$MC" touch /dev/vdb $K $chunk || fail "touch $K chunks"
st chunk1
objs chunk1
expect_eq "$chunk1_o_chunk" $K "chunk descriptors after changing $K chunks"
# Chunk buffers stay bounded: the free pool, the chunks waiting to be
# stored and the image's bounce buffer.
pool=$(cat /sys/module/blksnap/parameters/free_diff_buffer_pool_size)
inq=$(cat /sys/module/blksnap/parameters/chunk_maximum_in_queue)
[ "$chunk1_o_diff_buffer" -le $((pool + inq + 1)) ] ||
	fail "$chunk1_o_diff_buffer chunk buffers for $K chunks (pool $pool + queue $inq + bounce 1)"
bs destroy "$id"
objs chunk2
same_objs base chunk2 "objects after destroying the snapshot"
per_chunk=$(( ($(grown chunk0 chunk1 slab_kib) + $(grown chunk0 chunk1 vmalloc_kib)) * 1024 / K ))
log "per changed chunk: $per_chunk bytes (chunk $chunk bytes; slab, a figure)"

# (c) take/destroy cycles, one chunk written and the image checked each.
st before
slabs /tmp/mem-slabs-before
objs before
out=$("$BSCTL" takeloop /dev/vdb /dev/vdc $CYCLES $((RANDOM % stride)) 1 1 $LIMIT_S) \
	|| fail "takeloop: $out"
log "$out"
for kv in $out; do printf -v "loop_${kv%%=*}" %s "${kv#*=}"; done
objs after
same_objs before after "objects after $loop_rounds take/destroy cycles"
st after
slabs /tmp/mem-slabs-after
expect_eq "$after_bsv_areas/$after_bsv_bytes" "$before_bsv_areas/$before_bsv_bytes" \
	"blksnap vmalloc areas/bytes after $loop_rounds cycles"
# What moved in the global figures, and where (bytes per slab cache).
growth=$(slab_growth /tmp/mem-slabs-before /tmp/mem-slabs-after) || fail "slab_growth"
log "slab caches that grew most over $loop_rounds cycles: $growth"

echo "FIGURE cycles=$loop_rounds cycle_ms=$((loop_ms / loop_rounds))" \
	"take_ms=$(( (loop_create_ms + loop_add_ms + loop_take_ms) / loop_rounds ))" \
	"io_ms=$(( (loop_open_ms + loop_io_ms) / loop_rounds ))" \
	"destroy_ms=$((loop_destroy_ms / loop_rounds))" \
	"slab_kib_before=$before_slab_kib slab_kib_after=$after_slab_kib" \
	"sunreclaim_kib_before=$before_sunreclaim_kib sunreclaim_kib_after=$after_sunreclaim_kib" \
	"vmalloc_kib_before=$before_vmalloc_kib vmalloc_kib_after=$after_vmalloc_kib" \
	"noise_kib=$noise slab_growth_kib=$(grown before after slab_kib)" \
	"tracked_devices=$NDEV cbt_blocks_per_device=$bc bytes_per_tracked_device=$per_dev" \
	"vmalloc_bytes_per_tracked_device=$vm_dev slab_bytes_per_tracked_device=$slab_dev" \
	"chunks_changed=$K chunk_bytes=$chunk bytes_per_changed_chunk=$per_chunk" \
	"objects_after_cycles=${after_objs// /,}"

bs detach /dev/vdb
objs detached
expect_objs detached "nothing attached"
# Unloading checks the counts itself: a leak is an error and a WARNING.
leaks0=$(dmesg | grep -c 'blksnap: .* not freed' || true)
rmmod blksnap || fail "rmmod blksnap"
leaks=$(dmesg | grep -c 'blksnap: .* not freed' || true)
expect_eq "$leaks" "$leaks0" "unload: lines 'objects ... not freed' in the kernel log"
FILL=0
st unloaded
expect_eq "$unloaded_bsv_areas" 0 "blksnap vmalloc areas after unload"
exit 0
