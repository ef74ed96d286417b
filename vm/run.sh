#!/usr/bin/env bash
# Boot the test kernel under qemu and run one script inside it.
#
#   vm/run.sh [options] SCRIPT [ARGS...]   run SCRIPT in the guest
#   vm/run.sh [options] --shell            interactive shell on the console
#
# options:
#   --name NAME      run folder build/vm/runs/NAME (default: script name)
#   --timeout SEC    hard wall-clock limit, the guest is killed after it
#                    (default $VM_TIMEOUT or 1800)
#   --kernel FLAVOUR debug (default), bench, or stock-6.1 / stock-6.12:
#                    Debian's own kernel (make stock-kernels), our modules
#                    for it in build/stock/NAME/modules (the guest's $MODDIR)
#   --quiet          do not print the script's output at the end
#
# The guest sees the repository read-only at /src and the run folder
# read-write at /out, and four fresh sparse virtio disks (vda..vdd).
# Exit status: the script's, or 1 if the kernel printed a splat (see
# vm/splat-patterns), 124 if the guest was killed at the time limit, 125 if
# the guest died before the script finished.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name= timeout=${VM_TIMEOUT:-1800} flavour=${VM_KERNEL:-debug} quiet=0 shell=0
while [ $# -gt 0 ]; do
	case "$1" in
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--kernel) flavour=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--shell) shell=1; shift ;;
	--) shift; break ;;
	-*) echo "vm/run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $shell = 1 ] || [ $# -ge 1 ] || { echo "usage: vm/run.sh [options] SCRIPT [ARGS...] | --shell" >&2; exit 2; }

case "$flavour" in
stock-*)	# Debian's kernel, its own modules, its early modules in the initrd.
	sdir=build/stock/${flavour#stock-}
	kver=$(cat "$top/$sdir/kver" 2>/dev/null || true)
	kernel=$top/$sdir/root/boot/vmlinuz-$kver
	initrd=$top/$sdir/initramfs.cpio
	kmods=/src/$sdir/root/lib/modules
	genv="export MODDIR=/src/$sdir/modules BLKSNAP_KERNEL=$flavour"
	tcg_thread=single
	make=stock-kernels ;;
*)	kernel=$top/build/kernel/$flavour/arch/x86/boot/bzImage
	initrd=$top/build/vm/initramfs.cpio
	kmods=/src/build/kernel/$flavour-modroot/lib/modules
	genv="export BLKSNAP_KERNEL=$flavour"
	tcg_thread=multi
	make=build ;;
esac
for f in "$kernel" "$initrd"; do
	[ -r "$f" ] || { echo "vm/run.sh: $f missing (run 'make $make')" >&2; exit 2; }
done
# A stock initrd embeds vm/init: an older one would boot yesterday's init.
if [ "$make" = stock-kernels ] && [ "$top/vm/init" -nt "$initrd" ]; then
	echo "vm/run.sh: $initrd is older than vm/init (run 'make stock-kernels')" >&2; exit 2
fi

if [ $shell = 1 ]; then name=${name:-shell}; else name=${name:-$(basename "$1" .sh)}; fi
run=$top/build/vm/runs/$name
rm -rf "$run"
mkdir -p "$run/logs"
echo "$kmods" > "$run/kmods.path"
echo "$genv" > "$run/guest-env.sh"	# sourced by vm/init

disks=()
i=0
for size in 1G 1G 1G 4G; do
	truncate -s "$size" "$run/disk$i.img"
	disks+=(-drive "file=$run/disk$i.img,if=virtio,format=raw,cache=unsafe,discard=unmap")
	i=$((i + 1))
done

if [ $shell = 0 ]; then
	script=$(readlink -f "$1"); shift
	case "$script" in
	"$top"/*) gdir=/src/$(dirname "${script#"$top"/}") ;;
	*)	# Outside the repository: bring the script's folder along.
		sz=$(du -sm "$(dirname "$script")" | cut -f1)
		[ "$sz" -le 256 ] || { echo "vm/run.sh: $(dirname "$script") is ${sz} MiB, too big to copy" >&2; exit 2; }
		cp -a "$(dirname "$script")" "$run/job"
		gdir=/out/job ;;
	esac
	{
		# BLKSNAP_* variables (soak duration, seeds) reach the guest job.
		while IFS= read -r v; do
			printf 'export %s=%q\n' "$v" "${!v}"
		done < <(compgen -v | grep '^BLKSNAP_' || true)
		printf 'cd %q || exit 125\n' "$gdir"
		printf 'exec bash %q' "$gdir/$(basename "$script")"
		for a in "$@"; do printf ' %q' "$a"; done
		printf '\n'
	} > "$run/job.sh"
fi

# acpi=noirq: routing PCI interrupts through ACPI link devices costs ~14 s
# per virtio device under emulation with KASAN+lockdep; the PIRQ table is
# instant. ACPI stays on for power-off.
append="console=ttyS0 acpi=noirq panic=-1 watchdog_thresh=30 rcupdate.rcu_cpu_stall_timeout=120"
append+=" loglevel=7 ${VM_APPEND:-} vm.mode=$([ $shell = 1 ] && echo shell || echo job)"
# -cpu Nehalem: a plain model starts processes faster than "max" under TCG
# (650 vs 790 ms on the debug kernel, side by side), and this one still
# has SSE4.2 for fio's crc32c. VM_CPU picks another; VM_QEMU_EXTRA adds
# options (a -monitor socket to sample the guest's RIP, say).
# Debian's kernels run with single-threaded TCG (both vCPUs on one host
# thread): under multi-threaded TCG (QEMU 7.2) a vCPU keeps executing the
# breakpoint that x86 text patching put on a call site after the patch is
# done. Toggling the kernel's own function tracer on submit_bio_noacct
# while dd runs, without blksnap loaded, locks 6.1 up that way within a
# minute (soft lockup at submit_bio_noacct+0x0). Our kernels have no
# ftrace and keep the faster multi-threaded TCG. VM_TCG_THREAD overrides;
# VM_SMP sets the number of vCPUs (default 2).
qemu=(qemu-system-x86_64 -machine pc -accel "tcg,thread=${VM_TCG_THREAD:-$tcg_thread}" -cpu "${VM_CPU:-Nehalem}" -smp "${VM_SMP:-2}" -m 2560
	-kernel "$kernel" -initrd "$initrd" -append "$append" -no-reboot
	-nographic -device virtio-rng-pci
	-virtfs "local,path=$top,mount_tag=src,security_model=none,readonly=on"
	-virtfs "local,path=$run,mount_tag=out,security_model=none"
	"${disks[@]}" ${VM_QEMU_EXTRA:-})

if [ $shell = 1 ]; then
	exec "${qemu[@]}" -serial mon:stdio
fi

start=$(date +%s)
set +e
timeout -k 10 "$timeout" "${qemu[@]}" -serial "file:$run/console.log" -monitor none \
	</dev/null >"$run/qemu.log" 2>&1
qrc=$?
set -e
secs=$(( $(date +%s) - start ))
rm -f "$run"/disk*.img

[ $quiet = 1 ] || cat "$run/output.log" 2>/dev/null || true
rc=$(cat "$run/rc" 2>/dev/null || echo none)
status=0
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
	echo "vm/run.sh: TIMEOUT: guest killed after ${timeout}s (see $run/console.log)" >&2
	status=124
elif [ "$rc" = none ]; then
	echo "vm/run.sh: the guest died before the script finished (qemu exit $qrc; see $run/console.log)" >&2
	tail -n 30 "$run/console.log" >&2 || true
	status=125
else
	status=$rc
fi
if ! "$top/vm/scan-console.sh" "$run/console.log" > "$run/splats.txt"; then
	echo "vm/run.sh: KERNEL SPLAT (the run fails whatever the script returned):" >&2
	head -n 20 "$run/splats.txt" | sed 's/^/  /' >&2
	[ "$status" != 0 ] || status=1
fi
echo "vm/run.sh: $name: exit $status after ${secs}s (logs: ${run#"$top"/})" >&2
exit "$status"
