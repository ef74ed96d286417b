#!/usr/bin/env bash
# Build our out-of-tree modules against the patched kernel, and install the
# kernel's own modules (brd, null_blk, ...) for the guest.
#
#   vm/build-modules.sh debug|bench [NAME...]   (default: every module)
#
# kernel/blksnap and every tests/modules/<dir> are copied (mtimes kept, so
# kbuild stays incremental) to build/modules/<dir> (build/bench/modules/<dir>
# for the bench kernel) and built there, keeping the source folders clean.
set -euo pipefail
flavour=${1:-debug}
top=$(cd "$(dirname "$0")/.." && pwd)
obj=$top/build/kernel/$flavour
[ -f "$obj/VERSION" ] || { echo "[modules] no $flavour kernel built (run vm/build-kernel.sh $flavour)" >&2; exit 1; }
if [ "$flavour" = debug ]; then out=$top/build/modules; else out=$top/build/$flavour/modules; fi

# One build at a time: parallel runs would share build/modules.
mkdir -p "$out"
exec 9> "$out/.lock"
flock 9

# In-tree modules, re-installed when the kernel image changes.
modroot=$top/build/kernel/$flavour-modroot
if [ ! -f "$modroot/.stamp" ] || [ "$obj/arch/x86/boot/bzImage" -nt "$modroot/.stamp" ]; then
	rm -rf "$modroot"
	make -s -C "$top/build/kernel/src" O="$obj" INSTALL_MOD_PATH="$modroot" modules_install >/dev/null
	touch "$modroot/.stamp"
fi

dirs=()
[ -e "$top/kernel/blksnap/Kbuild" ] && dirs+=("$top/kernel/blksnap")
for d in "$top"/tests/modules/*/; do
	[ -e "$d/Kbuild" ] && dirs+=("${d%/}")
done
only=" ${*:2} "
for d in "${dirs[@]}"; do
	name=$(basename "$d")
	[ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
	mkdir -p "$out/$name"
	rsync -a "$d/" "$out/$name/"
	make -s -C "$obj" M="$out/$name" BLKSNAP_TOP="$top" W=1 modules
	echo "[modules] $name: $(cd "$out/$name" && ls *.ko | tr '\n' ' ')"
done
