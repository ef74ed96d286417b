#!/usr/bin/env bash
# Run the blksnap benchmarks and publish the results.
#
#   bash bench/run.sh [--kernel stock-6.1|stock-6.12] [--icount] [KEY=VALUE...]
#
# Boots the bench kernel once (vm/run.sh --kernel bench --name bench) to run
# bench/guest-bench.sh (KEY=VALUE arguments are passed to it: reps=,
# runtime=, cases=, size=), then bench/report.sh writes
# bench/results/<date>.{md,csv,png} and <date>-raw.csv and updates
# docs/performance.md. With --kernel stock-N it boots Debian's unmodified
# kernel instead (the module with its ftrace hook, built against Debian's
# headers), run bench-stock-N, results <date>-stock-N.*, and its own
# section of docs/performance.md. It builds nothing: `make bench` builds the
# bench kernel, the modules (for the stock kernel too), the tools and the
# initramfs first.
#
# --icount runs the guest on an instruction clock (QEMU -icount shift=0,
# sleep=off) with one vCPU: one guest nanosecond per instruction executed,
# whatever the host is doing. Throughput is then a count of instructions
# per I/O, repeatable to a fraction of a percent, which is what a per-bio
# CPU cost of a few percent needs (on the wall clock the host's noise is
# ten times that). It says nothing of I/O waits: use it for the CPU-bound
# cases on brd (P1-P3). One vCPU because QEMU 7.2 hangs bringing up a
# second one under -icount; and a guest second costs about 20 s here, so
# give it runtime=1. Results are <date>[-K]-icount.* and a section of
# their own.
#
# Environment:
#   BENCH_WAIT=900     seconds to wait for other qemu guests to finish (the
#                      host's cores are shared; figures are noisier with
#                      company), then run anyway and say so in the results
#   BENCH_TIMEOUT=2400 limit for the whole guest run (seconds)
#   BENCH_DATE         name of the result files (default: today, YYYY-MM-DD)
#   BENCH_NO_PUBLISH=1 leave bench/results and docs alone (report into the
#                      run folder build/vm/runs/bench/report/ instead)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
wait_max=${BENCH_WAIT:-900}
date=${BENCH_DATE:-$(date +%F)}
kernel=bench clock=wall
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2:?bench/run.sh: --kernel needs stock-6.1 or stock-6.12}; shift 2 ;;
	--icount) clock=icount; shift ;;
	*) break ;;
	esac
done
case "$kernel" in
bench)	name=bench
	need=(build/kernel/bench/arch/x86/boot/bzImage build/kernel/bench/VERSION)
	ko=build/bench/modules/blksnap/blksnap.ko
	kdesc="the bench kernel ($(sed -n 's/^kernelrelease //p' build/kernel/bench/VERSION 2>/dev/null))" ;;
stock-6.1|stock-6.12)
	name=bench-$kernel
	need=(build/stock/${kernel#stock-}/kver build/stock/${kernel#stock-}/initramfs.cpio)
	ko=build/stock/${kernel#stock-}/modules/blksnap/blksnap.ko
	kdesc="Debian's own kernel $(cat "build/stock/${kernel#stock-}/kver" 2>/dev/null)" ;;
*)	echo "bench/run.sh: unknown kernel $kernel (stock-6.1 or stock-6.12)" >&2; exit 2 ;;
esac
qemu_extra=${VM_QEMU_EXTRA:-} tcg=multi smp=2
if [ $clock = icount ]; then
	name=$name-icount
	# icount needs single-threaded TCG; other guests change nothing.
	qemu_extra+=" -icount shift=0,sleep=off" tcg=single smp=1 wait_max=0
fi
run=$top/build/vm/runs/$name

for f in "${need[@]}" build/vm/initramfs.cpio build/user/bin/blksnap; do
	[ -e "$f" ] || { echo "bench/run.sh: $f missing: run 'make bench' (it builds what is needed)" >&2; exit 2; }
done
[ -e "$ko" ] ||
	echo "bench/run.sh: $ko missing: the blksnap cases will be reported unavailable" >&2

others() { pgrep -f '^qemu-system' | wc -l || true; }	# pgrep fails when none runs
waited=0
while [ "$(others)" -gt 0 ] && [ $waited -lt "$wait_max" ]; do
	[ $waited = 0 ] && echo "[bench] $(others) other qemu guest(s) running; waiting up to ${wait_max}s for a quiet host"
	sleep 10
	waited=$((waited + 10))
done
busy=$(others)
[ "$busy" = 0 ] || echo "[bench] still $busy other qemu guest(s) after ${waited}s: running anyway (noted in the results)"

echo "[bench] booting $kdesc; minutes to tens of minutes under emulation"
t0=$(date +%s) load0=$(cut -d' ' -f1 /proc/loadavg)
set +e
# The CPU model and multi-threaded TCG (single-threaded on the instruction
# clock) of the published figures on every kernel (the tests differ:
# vm/run.sh says why; a bench run registers the stock hook once).
VM_CPU=${VM_CPU:-max} VM_TCG_THREAD=${VM_TCG_THREAD:-$tcg} VM_QEMU_EXTRA=$qemu_extra VM_SMP=$smp \
bash vm/run.sh --kernel "$kernel" --name "$name" --timeout "${BENCH_TIMEOUT:-2400}" --quiet \
	bench/guest-bench.sh "$@" &
vm=$!
# Sample the host while the guest runs: other guests that start later count too.
max_busy=$busy
while kill -0 $vm 2>/dev/null; do
	n=$(( $(others) - 1 ))
	[ $n -gt "$max_busy" ] && max_busy=$n
	sleep 5
done
wait $vm
status=$?
set -e
secs=$(( $(date +%s) - t0 ))
[ -f "$run/output.log" ] && grep '^\[bench' "$run/output.log" | tail -n 3 || true

{
	echo "vm_status=$status"
	echo "clock=$clock"
	echo "vm_secs=$secs"
	echo "other_vms=$( [ "$max_busy" -le 0 ] && echo none || echo "up to $max_busy")"
	echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "host_cpus=$(nproc)"
	echo "host_load=$load0 at start, $(cut -d' ' -f1 /proc/loadavg) at end"
	echo "waited=$waited"
	if [ -s "$run/splats.txt" ]; then
		echo "splats=$(wc -l < "$run/splats.txt") line(s), first: $(head -n 1 "$run/splats.txt" | tr -d '\t' | cut -c1-160)"
	else
		echo "splats=none"
	fi
} > "$run/host-meta.txt"

if [ ! -s "$run/bench.csv" ]; then
	echo "bench/run.sh: the guest wrote no results (exit $status); see ${run#"$top"/}/console.log and output.log" >&2
	exit 1
fi
if [ "${BENCH_NO_PUBLISH:-0}" = 1 ]; then
	bash bench/report.sh "$run" --date "$date" --kernel "$kernel" --results "$run/report" --doc "$run/report/performance.md"
else
	bash bench/report.sh "$run" --date "$date" --kernel "$kernel"
fi
echo "[bench] done in ${secs}s (guest exit $status)"
[ "$status" = 0 ] || echo "bench/run.sh: the guest run failed (exit $status): results are partial; see ${run#"$top"/}/" >&2
exit "$status"
