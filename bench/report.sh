#!/usr/bin/env bash
# Turn one bench run into published results.
#
#   bash bench/report.sh RUN_DIR [--date YYYY-MM-DD] [--kernel K] [--results DIR] [--doc FILE]
#
# RUN_DIR holds what bench/guest-bench.sh wrote (bench.csv, bench-meta.txt)
# and what bench/run.sh adds (host-meta.txt). K is the kernel the run
# booted: bench (default, our patched kernel) or stock-6.1/stock-6.12
# (Debian's own; the files are then named DATE-K* and FILE gets a section
# of its own). Writes, for DATE (default today):
#   DIR/DATE-raw.csv  every measurement (a copy of bench.csv)
#   DIR/DATE.csv      one row per case/device/variant/metric: median, min,
#                     max and the ratio to the case's baseline (per repetition:
#                     variant / baseline of the same repetition)
#   DIR/DATE.md       the table
#   DIR/DATE.png      the ratios, plotted with gnuplot
# and replaces the generated part of FILE (default docs/performance.md).
# DIR defaults to bench/results. Needs gawk and gnuplot.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
run=${1:?usage: bench/report.sh RUN_DIR [--date D] [--kernel K] [--results DIR] [--doc FILE]}
shift
date=$(date +%F) results=$top/bench/results doc=$top/docs/performance.md kernel=bench
while [ $# -gt 0 ]; do
	case "$1" in
	--date) date=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--doc) doc=$2; shift 2 ;;
	*) echo "bench/report.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -s "$run/bench.csv" ] || { echo "bench/report.sh: no $run/bench.csv" >&2; exit 1; }

# meta KEY: a value from the guest's or the host's facts about the run
meta() {
	cat "$run/bench-meta.txt" "$run/host-meta.txt" 2>/dev/null |
		sed -n "s/^$1=//p" | tail -n 1
}

stem=$date
[ "$kernel" = bench ] || stem=$date-$kernel
# Ratios to 2 decimals. A run on the instruction clock (bench/run.sh
# --icount) is published apart, with ratios to 3: its runs agree to a few
# in ten thousand (0.967 is a verdict that 0.97 would hide).
icount=0 clockline=
export BENCH_RATIO_DIGITS=2
if [ "$(meta clock)" = icount ]; then
	icount=1 BENCH_RATIO_DIGITS=3 stem=$stem-icount
	clockline="Clock: instructions (QEMU -icount shift=0, sleep=off, single-threaded TCG): one guest nanosecond per instruction, so a rate here is a count of instructions per I/O, repeatable whatever the host does; it leaves out I/O waits."
fi
mkdir -p "$results"
raw=$results/$stem-raw.csv sum=$results/$stem.csv md=$results/$stem.md png=$results/$stem.png
cp "$run/bench.csv" "$raw"

# 1. Summary: medians, spreads and ratios (per repetition) to the baseline.
# Cases in reading order; others follow in the order they first appear.
order="P1-rand4k P1-seq1M P2-first-rand4k P2-first-seq1M P2-second-rand4k P2-second-seq1M
P3-seq-unchanged P3-rand-unchanged P3-seq-half P3-rand-half P4-stall P4-dm-stall P4-take-time
P5-cbt-1GiB P5-cbt-1TiB P5-cbt-16TiB P5-mem-chunk V-P1-rand4k V-P2-first-rand4k
B-full B-incr-0pct B-incr-1pct B-incr-10pct"
gawk -F, -v OFS=, -v caseorder="$order" '
function median(a, n,   b, i) {
	for (i = 1; i <= n; i++) b[i] = a[i] + 0
	asort(b)
	return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
}
function minmax(a, n, want,   i, m) {
	m = a[1] + 0
	for (i = 2; i <= n; i++)
		if ((want == "min" && a[i] + 0 < m) || (want == "max" && a[i] + 0 > m)) m = a[i] + 0
	return m
}
function num(x) { return x == "" ? "" : sprintf("%.6g", x) }
function measure(m, v) {
	if (m == "read_bytes" && v ~ /^blksnap changes/) return "bytes to read (the changes listed)"
	return m == "w_iops" ? "write IOPS" : m == "r_iops" ? "read IOPS" : \
		m == "w_mibs" ? "write MiB/s" : m == "r_mibs" ? "read MiB/s" : \
		m == "w_latmax_ms" ? "longest write latency" : m == "take_ms" ? "create + take time" : \
		m == "cbt_table_bytes" ? "CBT tables" : \
		m == "slab_vmalloc_on_attach" ? "Slab+VmallocUsed growth at attach" : \
		m == "slab_vmalloc_per_chunk" ? "Slab+VmallocUsed per chunk" : \
		m == "kernel_mem_per_chunk" ? "all kernel memory per chunk" : \
		m == "slab_vmalloc_per_snapshot" ? "Slab+VmallocUsed per snapshot (fixed part)" : \
		m == "kernel_mem_per_snapshot" ? "all kernel memory per snapshot (fixed part)" : \
		m == "backup_ms" ? "backup wall time" : m == "read_bytes" ? "bytes read" : \
		m == "rss_peak_bytes" ? "peak RSS of the tool" : m == "changed_ranges" ? "changed ranges" : \
		m == "excess_blocks_per_range" ? "read beyond the changes (CBT blocks per range)" : m
}
NR == 1 { next }
{
	k = $1 SUBSEP $3 SUBSEP $4 SUBSEP $6
	if (!(k in order)) {
		order[k] = ++nk; keys[nk] = k
		cs[k] = $1; ti[k] = $2; dv[k] = $3; va[k] = $4; me[k] = $6; un[k] = $7
	}
	if ($5 == "yes") { isbase[k] = 1; base[$1 SUBSEP $3 SUBSEP $6] = k }
	if ($9 != "") { n[k]++; v[k, n[k]] = $9; rep[k, $8] = $9 }
	if ($10 != "" && !((k, $10) in seen)) {
		seen[k, $10] = 1
		note[k] = (k in note ? note[k] "; " : "") $10
	}
}
END {
	print "case,title,device,variant,metric,unit,n,median,min,max,baseline,ratio_n,ratio_median,ratio_min,ratio_max,note,measure"
	nr = split(caseorder, o, /[ \n]+/)
	for (i = 1; i <= nr; i++) rank[o[i]] = i
	for (i = 1; i <= nk; i++) {	# sort: case rank, then first appearance
		c = cs[keys[i]]
		if (!(c in rank)) rank[c] = nr + i
		sk[i] = sprintf("%06d %06d", rank[c], i)
		byk[sk[i]] = keys[i]
	}
	asort(sk)
	for (i = 1; i <= nk; i++) {
		k = byk[sk[i]]; m = n[k] + 0
		delete a
		for (j = 1; j <= m; j++) a[j] = v[k, j]
		med = m ? median(a, m) : ""; lo = m ? minmax(a, m, "min") : ""; hi = m ? minmax(a, m, "max") : ""
		b = base[cs[k] SUBSEP dv[k] SUBSEP me[k]]
		bname = (b != "" && !(k in isbase)) ? va[b] : ""
		delete r; rn = 0
		if (bname != "")
			for (x in rep) {
				split(x, p, SUBSEP)
				if (p[1] SUBSEP p[2] SUBSEP p[3] SUBSEP p[4] != k) continue
				if (((b, p[5]) in rep) && rep[b, p[5]] + 0 > 0) r[++rn] = rep[x] / rep[b, p[5]]
			}
		print cs[k], ti[k], dv[k], va[k], me[k], un[k], m, num(med), num(lo), num(hi), \
			(k in isbase ? "(baseline)" : bname), rn, \
			rn ? num(median(r, rn)) : "", rn ? num(minmax(r, rn, "min")) : "", \
			rn ? num(minmax(r, rn, "max")) : "", note[k], measure(me[k], va[k])
	}
}' "$raw" > "$sum"

# 2. The table.
fmt_awk='
function fmt(x, u) {
	if (x == "") return ""
	if (u == "IOPS") return sprintf("%.0f", x)
	if (u == "MiB/s") return sprintf("%.1f", x)
	if (u == "ms") return x < 10 ? sprintf("%.2f", x) : sprintf("%.0f", x)
	if (u == "bytes") {
		if (x < 10240) return sprintf("%d B", x)
		if (x < 1048576) return sprintf("%.1f KiB", x / 1024)
		return sprintf("%.1f MiB", x / 1048576)
	}
	return x
}
function r2(x) { return x >= 10 ? sprintf("%.0f", x) : x >= 0.1 ? sprintf("%." rd "f", x) : sprintf("%.2g", x) }
function spread(med, lo, hi, u,   s) {
	if (med == "") return "–"
	s = fmt(med, u)
	if (lo != hi) s = s " (" fmt(lo, u) "–" fmt(hi, u) ")"
	return s
}
function ratio(med, lo, hi) {
	if (med == "") return ""
	return r2(med) "×" (lo != hi ? " (" r2(lo) "–" r2(hi) ")" : "")
}'
gawk -F, -v rd="$BENCH_RATIO_DIGITS" "$fmt_awk"'
NR == 1 { next }
{
	unit = ($6 == "bytes") ? "" : " " $6
	val = spread($8, $9, $10, $6) (($8 != "") ? unit : "")
	if ($11 == "(baseline)") rat = "baseline"
	else if ($13 != "") rat = ratio($13, $14, $15) " of " $11
	else rat = ""
	c = ($1 == last) ? "" : "**" $1 "** " $2
	last = $1
	printf "| %s | %s | %s | %s | %s | %s | %s |\n", c, $3, $4, $17, val, rat, $16
}' "$sum" > "$results/.table.md"

chunk=$(meta chunk)
if [ "$kernel" = bench ]; then
	kver=$(sed -n 's/^kernelrelease //p' "$top/build/kernel/bench/VERSION" 2>/dev/null || true)
	kpkg=$(sed -n 's/^linux-source-6.12 //p' "$top/build/kernel/bench/VERSION" 2>/dev/null || true)
	kline="Kernel $kver (Debian linux-source-6.12 $kpkg + kernel/patches, bench config: no debug options)."
	kdoc="Kernel **$kver** (Debian linux-source-6.12 $kpkg
with kernel/patches, \`kernel/config/bench.config\`: no KASAN, lockdep or kmemleak)."
else
	kver=$(meta kernel)
	kline="Kernel $kver: Debian's own, unmodified (linux-image-$kver as packaged); blksnap's filter backend: $(meta filter_backend)."
	kdoc="Kernel **$kver**: Debian's own, unmodified, as packaged; the module built
against its linux-headers, filter backend **$(meta filter_backend)** (the module's own hook)."
fi
{
	echo "# blksnap benchmark $stem"
	echo
	echo "$kline"
	echo "VM: qemu TCG (no KVM), $(meta cpus) vCPUs, $(meta mem_mib) MiB; host: $(meta host_cpu), $(meta host_cpus) CPUs."
	[ -z "$clockline" ] || echo "$clockline"
	echo "Devices: brd ($(meta brd)) for every case but V-*; virtio-blk (sparse host files, cache=unsafe) for V-*."
	if [ -n "$(meta b_source)" ]; then
		echo "B-*: source $(meta b_source); repository $(meta b_repository)."
	fi
	echo "fio $(meta fio), libaio, direct=1; time-based runs of $(meta runtime) s after $(meta ramp) s ramp on the first $(meta size) of the origin ($(meta vsize) on virtio);"
	echo "chunk $((chunk / 1024)) KiB ($((chunk / 512)) sectors) for blksnap and dm-snapshot (transient, N); $(meta reps) repetitions, interleaved."
	echo "blksnap: $( [ "$(meta blksnap_ok)" = 1 ] && echo "loaded ($(meta blksnap_version))" || echo "UNAVAILABLE: $(meta blksnap_why)")."
	echo "Run: $(meta secs_total) s in the guest, $(meta vm_secs) s for the VM, exit status $(meta vm_status); other qemu processes during the run: $(meta other_vms)."
	echo
	echo "Medians over the repetitions, (min–max) spread; \"vs baseline\" is variant / baseline of the same repetition"
	echo "(throughput: below 1 is slower; latency: above 1 is longer)."
	echo
	echo "| case | device | variant | metric | median (min–max) | vs baseline | note |"
	echo "|---|---|---|---|---|---|---|"
	cat "$results/.table.md"
	echo
	echo "![ratios to the baselines]($stem.png)"
} > "$md"

# 3. The plot: one horizontal bar per variant, ratio to the baseline on a log
# scale; throughput (P1-P3, V, B-full) and times (P4 write latency, B-incr
# backup time) in two panels.
gawk -F, -v tput="$results/.tput.dat" -v lat="$results/.lat.dat" '
NR == 1 { next }
$13 != "" {
	lab = $1 ": " $4
	if ($1 ~ /^B-/ && $6 == "ms") lab = lab ", " $17
	line = sprintf("%s\t%s\t%s\t%s\n", lab, $13, $14, $15)
	if ($6 == "ms") { printf "%s", line > lat; nl++ } else if ($6 != "bytes") { printf "%s", line > tput; nt++ }
}
END { printf "" > tput; printf "" > lat }' "$sum"
nt=$(wc -l < "$results/.tput.dat") nl=$(wc -l < "$results/.lat.dat")
gnuplot -e "tput='$results/.tput.dat'; lat='$results/.lat.dat'; nt=$nt; nl=$nl; out='$png'; when='$date, kernel $kver, TCG $(meta cpus) vCPUs$([ $icount = 0 ] || echo ", instruction clock")'" \
	"$top/bench/plot.gp"
rm -f "$results/.tput.dat" "$results/.lat.dat"

# 4. docs/performance.md: the part between the markers is regenerated (one
# part for our kernel, one for each stock kernel).
tag=
[ "$kernel" = bench ] || tag=$kernel
[ $icount = 0 ] || tag="${tag:+$tag, }instruction clock"
[ -z "$tag" ] || tag=" ($tag)"
begin="<!-- BEGIN generated by bench/report.sh$tag -->"
end="<!-- END generated by bench/report.sh$tag -->"
rel=$(realpath --relative-to="$(dirname "$doc")" "$results")
gen=$results/.gen.md
{
	echo "$begin"
	echo
	echo "Latest run: **$date** ([table]($rel/$stem.md), [summary CSV]($rel/$stem.csv),"
	echo "[raw CSV]($rel/$stem-raw.csv)). $kdoc"
	echo
	echo "* VM: qemu-system-x86_64, TCG software emulation (no KVM), $(meta cpus) vCPUs, $(meta mem_mib) MiB RAM;"
	echo "  host $(meta host_cpu), $(meta host_cpus) CPUs, shared. Other qemu processes running during the run: $(meta other_vms)."
	[ -z "$clockline" ] || echo "* **$clockline**"
	echo "* Devices: brd RAM disks ($(meta brd); ram0 origin filled once, ram1 dm-snapshot COW store, ram2"
	echo "  blksnap difference storage, ram3-5 extra origins for P4) so that the virtual-disk emulation is"
	echo "  not measured; V-* use the virtio-blk disks (/dev/vda origin, vdb blksnap storage, vdc dm COW store;"
	echo "  sparse files on the host with cache=unsafe)."
	if [ -n "$(meta b_source)" ]; then
		echo "* Backup (B-*): source $(meta b_source); repository $(meta b_repository)."
	fi
	echo "* fio $(meta fio), libaio, direct=1. Steady runs: $(meta runtime) s after $(meta ramp) s ramp over the first"
	echo "  $(meta size) of ram0 ($(meta vsize) of vda). Chunk size $((chunk / 1024)) KiB = $((chunk / 512)) sectors for both"
	echo "  blksnap and dm-snapshot (transient store, N). Stall probe: $(meta stall)."
	echo "* $(meta reps) repetitions of every measurement, interleaved (each repetition runs the baseline and"
	echo "  every variant once); medians with (min–max) spread. Guest time $(meta secs_total) s,"
	echo "  VM $(meta vm_secs) s, exit status $(meta vm_status); kernel splats: $(meta splats)."
	if [ "$(meta blksnap_ok)" != 1 ]; then
		echo "* **blksnap was not measured in this run**: $(meta blksnap_why)"
	fi
	echo
	echo "| case | device | variant | metric | median (min–max) | vs baseline | note |"
	echo "|---|---|---|---|---|---|---|"
	cat "$results/.table.md"
	echo
	echo "![ratio of each variant to its baseline]($rel/$stem.png)"
	echo
	echo "### Where blksnap stands, case by case${tag}"
	echo
	bash "$top/bench/verdicts.sh" "$sum" "$kernel"
	echo
	echo "$end"
} > "$gen"
if [ -f "$doc" ] && grep -qF "$begin" "$doc" && grep -qF "$end" "$doc"; then
	gawk -v b="$begin" -v e="$end" -v gen="$gen" '
		$0 == b { while ((getline l < gen) > 0) print l; skip = 1; next }
		$0 == e { skip = 0; next }
		!skip' "$doc" > "$doc.new"
	mv "$doc.new" "$doc"
else
	echo "bench/report.sh: $doc has no generated section$tag; appending one" >&2
	{ echo; echo "## Latest results$tag"; echo; cat "$gen"; } >> "$doc"
fi
rm -f "$gen" "$results/.table.md"
echo "[bench] results: ${md#"$top"/}, ${sum#"$top"/}, ${png#"$top"/}; ${doc#"$top"/} updated"
