#!/usr/bin/env bash
# One sentence per case for docs/performance.md: the figures, a verdict
# derived from them (where blksnap stands against dm-snapshot and the raw
# device, given the spread of the repetitions), then the design's
# explanation of what bounds the figure, labelled as such: that part is
# not measured by the benchmark and must not read as a finding.
#
#   bash bench/verdicts.sh RESULTS/DATE.csv [KERNEL]
#
# KERNEL: bench (our kernel, the default) or stock-*: Debian's own, where
# the filter is the module's ftrace hook and P1's explanation differs.
set -euo pipefail
sum=${1:?usage: bench/verdicts.sh SUMMARY.csv [KERNEL]}
kernel=${2:-bench}

# case <TAB> what bounds the figure
bounds=$(cat <<'EOF'
P1-rand4k	CPU in the submitting task: per write bio the filter marks CBT bytes and looks for a snapshot, with no extra I/O, which shows at 4 KiB on a RAM disk; dm's snapshot-origin clones and remaps every bio
P1-seq1M	the copy bandwidth of brd under emulation; the per-bio cost of the filter is spread over 1 MiB
P2-first-rand4k	the copy: each 4 KiB write first waits for its whole 256 KiB chunk (64 times the data) to be read into memory by one of the device's eight copy-on-write workers; a release worker sends the write on and one of eight store workers writes the chunk to the difference storage beside it, so the ceiling is the lower of the origin's read and the empty store's write bandwidth per chunk (the copy limit, measured in the same repetition; on the instruction clock, one vCPU, reads and stores cannot overlap and the limit does not apply); dm-snapshot releases the write only once kcopyd has both read the chunk and written it to the COW store
P2-first-seq1M	the copy: the four chunks under each 1 MiB write are read before it proceeds and written to the difference storage beside the next copies, so about three times the data moves over the two CPUs; dm-snapshot waits for the copy to reach its COW store
P2-second-rand4k	what is left of P1 plus, per write, an RCU read of the snapshot's state and one bit test per chunk (an xarray lookup where the chunk's page of bits could not be allocated): preserved chunks pass straight through
P2-second-seq1M	what is left of P1 plus, per write, an RCU read of the snapshot's state and one bit test per chunk (an xarray lookup where the chunk's page of bits could not be allocated): preserved chunks pass straight through
P3-seq-unchanged	the original: the image sends each read to the original as a clone of the bio (one per run of unchanged chunks), at the caller's queue depth, as dm-snapshot remaps bios to the origin; what is left is a chunk-state lookup and a clone per bio
P3-rand-unchanged	the original, as when reading it directly, plus one chunk-state lookup, a counter in the chunk's slot and a cloned bio per 4 KiB read; dm-snapshot looks up an exception and remaps
P3-seq-half	the original and the difference storage device: a read is split where its chunks' data moves, and every piece goes as a clone to the original or to the storage, at the caller's queue depth
P3-rand-half	the original and the difference storage device, one clone per read; half of the reads go to the storage
P4-stall	the copies after the take rather than the take itself: a raw device has no file system, so the freeze holds no write, and the figure is close to that of a snapshot taken before the run, where the first write into each of the 256 chunks waits for its chunk's copy
P4-take-time	two tool runs, the create/add/take ioctls, a CBT table allocation and an image disk per device (add_disk and its partition scan through the image); under emulation a tool start alone costs 0.2 s or more
P4-dm-stall	the suspend of the origin: writes wait through the whole suspend, create and resume sequence
P5-cbt-1GiB	one byte per tracking block in each of two tables, blocks of at least 64 KiB
P5-cbt-1TiB	one byte per tracking block in each of two tables: blocks grow so that a device has at most 2097152 of them, so no device needs more than 4 MiB until blocks reach their 64 MiB cap (128 TiB)
P5-cbt-16TiB	the same cap of 2097152 blocks per table, here 8 MiB each
P5-mem-chunk	the chunk descriptor (24 bytes from its own slab cache: number, state, and the buffer or the storage sector; locks are shared by 64 per device) and its xarray slot for blksnap, an exception in a hash table for dm-snapshot; blksnap's chunk buffers are pooled pages, as many as were in flight at once and at most free_diff_buffer_pool_size (128) of 256 KiB per device while the snapshot exists, which only the MemFree-based figure shows
V-P1-rand4k	the virtio-blk emulation under TCG, which costs far more than the filter
V-P2-first-rand4k	the chunk copies on emulated virtio disks, up to eight reads and eight stores in flight per device (eight workers of each kind, each synchronous): blksnap's write waits for the chunk read only, dm-snapshot's (kcopyd) for the read and the write to the COW store
B-full	the repository's write more than the image read, which is fio's (an unchanged image sends reads straight to the original): every MiB goes through the page cache of an xfs file on brd, written by one thread, and is fsynced at the end, which under emulation costs several times the read (the dd copy pays it too); the tool adds an XXH3 hash of every 64 KiB block in its four reader threads, on the same two vCPUs; the wall-time figure also holds the fixed cost of a run (B-incr-0pct) and the fsync, which the copy-phase figure leaves out
B-incr-0pct	the fixed cost of a run: the tool's start, the repository's lock and list, create + take + destroy of a snapshot (P4-take-time), the CBT map read, reflinks of the parent's image and checksum file, the fsyncs and the manifest's commit
B-incr-1pct	the fixed cost of B-incr-0pct plus the changed blocks: only the ranges CBT lists are read, widened to whole 64 KiB backup blocks, so scattered 4 KiB writes cost one 64 KiB read, hash and write each; the device's size enters only through the CBT map (one byte per block)
B-incr-10pct	the same as B-incr-1pct with ten times the changed blocks
EOF
)
if [[ $kernel == stock-* ]]; then
	bounds=$(sed '/^P1-/d' <<<"$bounds")$'\n'$(cat <<'EOF'
P1-rand4k	CPU in the submitting task: the module's ftrace hook on submit_bio_noacct runs for every bio of every device once one device is attached, a lockless hash lookup of the device; for the filtered device the filter then marks CBT bytes, as on our kernel
P1-seq1M	the copy bandwidth of brd under emulation; the per-bio cost of the hook and the filter is spread over 1 MiB
EOF
)
fi

gawk -F, -v bounds="$bounds" -v rd="${BENCH_RATIO_DIGITS:-2}" '
function fmt(x, u) {	# a number with its unit
	if (x == "") return "?"
	return fnum(x, u) (u == "bytes" ? "" : " " u)
}
function fnum(x, u) {
	if (u == "IOPS") return sprintf("%.0f", x)
	if (u == "MiB/s") return sprintf("%.1f", x)
	if (u == "ms") return x < 10 ? sprintf("%.2f", x) : sprintf("%.0f", x)
	if (u == "bytes") {
		if (x < 10240) return sprintf("%d bytes", x)
		if (x < 1048576) return sprintf("%.1f KiB", x / 1024)
		return sprintf("%.1f MiB", x / 1048576)
	}
	return x
}
function rng(lo, hi, u) { return lo == hi ? "" : " (" fnum(lo, u) "–" fnum(hi, u) ")" }
function r2(x) { return x >= 10 ? sprintf("%.0f", x) : x >= 0.1 ? sprintf("%." rd "f", x) : sprintf("%.2g", x) }
function rat(med, lo, hi) { return r2(med) "×" (lo == hi ? "" : " (" r2(lo) "–" r2(hi) ")") }
# Ratios to the baseline are "higher is better" (IOPS, MiB/s). The verdict
# only says what the ranges of the repetitions support.
# near(lo, hi, tol): where the range lo..hi of a ratio stands against 1 ± tol
function near(lo, hi, tol,    p) {
	p = sprintf("%d %%", tol * 100 + 0.5)
	if (lo >= 1 - tol && hi <= 1 + tol) return "at the baseline within " p " in every repetition"
	if (lo >= 1 - tol) return "at or above the baseline in every repetition (" (lo == hi ? r2(lo) "×" : "from " r2(lo) "× to " r2(hi) "×") ": more than " p " above it is noise, not a gain)"
	if (hi < 1 - tol) return "below " r2(1 - tol) "× of the baseline in every repetition"
	return "around the baseline (repetitions from " r2(lo) "× to " r2(hi) "×)"
}
# target(lo, hi, t): where the range lo..hi of a throughput ratio stands against a target t
function target(lo, hi, t) {
	if (lo >= t) return "at or above it in every repetition"
	if (hi < t) return "below it in every repetition"
	return "across it (repetitions from " r2(lo) "× to " r2(hi) "×)"
}
# bverdict(c): the backup cases: the 0.9× target of the full backup; bytes
# read and time of the incremental ones
function bverdict(c,    v, k, inc, x, t0, t1, t10) {
	if (c == "B-full") {
		k = c SUBSEP "blksnap backup --full" SUBSEP "r_mibs"
		if (k in brat) v = "the whole run (size / wall time) is " target(brlo[k], brhi[k], 0.9)
		k = c SUBSEP "blksnap backup --full: copy phase" SUBSEP "r_mibs"
		if (k in brat) v = v (v != "" ? "; " : "") "its copy phase is " target(brlo[k], brhi[k], 0.9)
		if (v != "") v = "against the target, 0.9× of fio reading the image, " v
		k = c SUBSEP "blksnap backup --full" SUBSEP "r_mibs"
		x = c SUBSEP "dd copy of the image into the repository" SUBSEP "r_mibs"
		if ((x in brat) && bmed[x] > 0 && bmed[k] != "")
			v = v (v != "" ? "; " : "") "a plain copy into the same repository (dd) gets " \
				rat(brat[x], brlo[x], brhi[x]) ", and the backup " r2(bmed[k] / bmed[x]) "× of the dd copy (medians)"
		return v
	}
	inc = "blksnap backup (incremental)"
	k = c SUBSEP inc SUBSEP "read_bytes"
	x = c SUBSEP inc SUBSEP "excess_blocks_per_range"
	if (c == "B-incr-0pct" && (k in bmed) && bmed[k] != "")
		v = bmax[k] + 0 == 0 ? "nothing was read in any repetition" : "up to " fmt(bmax[k], "bytes") " read with nothing changed"
	else if ((x in bmed) && bmed[x] != "") {
		if (bmin[x] < 0) v = "LESS was read than the changes list in some repetition (down to " bmin[x] " CBT blocks per range): changed blocks were not copied"
		else if (bmax[x] <= 1) v = "the bytes read are within one CBT block per changed range of what blksnap changes lists in every repetition (at most " bmax[x] " blocks per range)"
		else v = "the bytes read exceed what blksnap changes lists by more than one CBT block per changed range (up to " bmax[x] " blocks per range)"
	}
	k = c SUBSEP inc SUBSEP "backup_ms"
	if (k in brat) v = v (v != "" ? "; " : "") "the incremental took " rat(brat[k], brlo[k], brhi[k]) " of the full backup'"'"'s time"
	if (c == "B-incr-10pct") {
		t0 = bmed["B-incr-0pct", inc, "backup_ms"]; t1 = bmed["B-incr-1pct", inc, "backup_ms"]; t10 = bmed[k]
		if (t1 != "" && t10 != "" && t1 > 0) {
			v = v "; with ten times the changes of B-incr-1pct it took " r2(t10 / t1) "× as long (medians)"
			if (t0 != "")
				v = v ", with nothing changed (B-incr-0pct) " fnum(t0, "ms") " ms"
		}
	}
	return v
}
function verdict(c,    v) {
	if (c ~ /^B-/) return bverdict(c)
	if (!(c in bsr)) return ""
	v = "blksnap " near(bslo[c], bshi[c], 0.03)
	if (!(c in dmr)) return v
	if (bslo[c] > dmhi[c]) return v "; ahead of dm-snapshot in every repetition"
	if (bshi[c] < dmlo[c]) return v "; behind dm-snapshot in every repetition"
	return v "; not distinguishable from dm-snapshot (the ranges overlap)"
}
BEGIN {
	n = split(bounds, L, "\n")
	for (i = 1; i <= n; i++) { split(L[i], f, "\t"); bound[f[1]] = f[2] }
}
NR == 1 { next }
{
	c = $1
	if (!(c in seen)) { seen[c] = 1; order[++nc] = c; title[c] = $2 }
	lbl = (c ~ /^B-/ && $6 != "MiB/s" ? $17 " " : "")	# B: several metrics per variant
	if (c ~ /^B-/) {
		bmed[c, $4, $5] = $8; bmin[c, $4, $5] = $9; bmax[c, $4, $5] = $10
		if ($13 != "") { brat[c, $4, $5] = $13; brlo[c, $4, $5] = $14; brhi[c, $4, $5] = $15 }
	}
	if ($11 == "(baseline)") {
		fig = ($8 == "" ? "not measured" : fmt($8, $6) rng($9, $10, $6))
		if (!(c in basev)) { basev[c] = $4 (lbl != "" ? "," : ""); basefig[c] = lbl fig; next }
		# a second baseline (B-incr: bytes and time): listed with the figures
		parts[c] = (c in parts ? parts[c] "; " : "") $4 (lbl != "" ? ", " lbl : " ") fig " (baseline)"
		next
	}
	if ($13 != "") {
		part = $4 (lbl != "" ? ", " lbl : " ") fmt($8, $6) ", " rat($13, $14, $15) " of " $11
		if ($4 == "blksnap filter on another device") { otr[c] = $13; otlo[c] = $14; othi[c] = $15 }
		else if ($4 ~ /^blksnap/ && !(c in bsr) && c !~ /^B-/) { bsr[c] = $13; bslo[c] = $14; bshi[c] = $15 }
		if ($4 ~ /^dm/ && !(c in dmr)) { dmr[c] = $13; dmlo[c] = $14; dmhi[c] = $15 }
	}
	else if ($8 != "")
		part = $4 (lbl != "" ? ", " : " ") (lbl != "" || $6 == "bytes" || $6 == "ms" ? $17 " " : "") fmt($8, $6) rng($9, $10, $6)
	else
		part = $4 ": not measured (" ($16 != "" ? $16 : "no value") ")"
	parts[c] = (c in parts ? parts[c] "; " : "") part
}
END {
	for (i = 1; i <= nc; i++) {
		c = order[i]
		s = "* **" c "** (" title[c] "): "
		if (c in basev) s = s basev[c] " " basefig[c] (c in parts ? "; " : "")
		s = s parts[c]
		if ((c in bsr) && (c in dmr) && dmr[c] > 0)
			s = s " (blksnap at " r2(bsr[c] / dmr[c]) "× dm-snapshot)"
		v = verdict(c)
		if (c in otr)
			v = v (v != "" ? "; " : "") "a device without the filter while another has it: " \
				near(otlo[c], othi[c], 0.01)
		if (v != "") s = s ". Verdict: " v
		if (c in bound) s = s ". Design explanation (not measured): " bound[c]
		print s "."
	}
}' "$sum"
