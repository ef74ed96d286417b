#!/usr/bin/env bash
# Build our out-of-tree modules against the patched kernel, and install the
# kernel's own modules (brd, null_blk, ...) for the guest.
#
#   vm/build-modules.sh debug|bench|stock-6.1|stock-6.12 [NAME...]
#                                                (default: every module)
#
# kernel/blksnap and every tests/modules/<dir> are copied (mtimes kept, so
# kbuild stays incremental) to build/modules/<dir> (build/bench/modules/<dir>
# for the bench kernel, build/stock/NAME/modules/<dir> for Debian's kernel
# NAME) and built there, keeping the source folders clean.
set -euo pipefail
flavour=${1:-debug}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$flavour" in
stock-*)	# Debian's headers package (vm/stock-kernel.sh); its modules are in
	# the image package, nothing to install.
	sdir=$top/build/stock/${flavour#stock-}
	kver=$(cat "$sdir/kver" 2>/dev/null) || { echo "[modules] no $flavour kernel (run make stock-kernels)" >&2; exit 1; }
	kdir=$sdir/root/usr/src/linux-headers-$kver
	ksrc=$sdir/root/lib/modules/$kver/source
	out=$sdir/modules ;;
*)	kdir=$top/build/kernel/$flavour
	[ -f "$kdir/VERSION" ] || { echo "[modules] no $flavour kernel built (run vm/build-kernel.sh $flavour)" >&2; exit 1; }
	if [ "$flavour" = debug ]; then out=$top/build/modules; else out=$top/build/$flavour/modules; fi ;;
esac

# One build at a time: parallel runs would share build/modules.
mkdir -p "$out"
exec 9> "$out/.lock"
flock 9

# In-tree modules, re-installed when the kernel image changes.
if [[ $flavour != stock-* ]]; then
	modroot=$top/build/kernel/$flavour-modroot
	if [ ! -f "$modroot/.stamp" ] || [ "$kdir/arch/x86/boot/bzImage" -nt "$modroot/.stamp" ]; then
		rm -rf "$modroot"
		make -s -C "$top/build/kernel/src" O="$kdir" INSTALL_MOD_PATH="$modroot" modules_install >/dev/null
		touch "$modroot/.stamp"
	fi
fi

# Why test module $1 cannot build on this stock kernel, if it cannot: what
# it needs that Debian's kernel does not have.
stock_lacks() {
	if grep -qs '<linux/blk-filter.h>' "$1"/*.[ch] && [ ! -e "$ksrc/include/linux/blk-filter.h" ]; then
		echo "needs the blkfilter series (<linux/blk-filter.h> kernel API)"
	elif grep -qs '<linux/blk-crypto-profile.h>' "$1"/*.[ch] &&
	     ! grep -q '^CONFIG_BLK_INLINE_ENCRYPTION=y' "$kdir/.config"; then
		echo "needs CONFIG_BLK_INLINE_ENCRYPTION, off in Debian's kernel"
	fi
}

dirs=()
[ -e "$top/kernel/blksnap/Kbuild" ] && dirs+=("$top/kernel/blksnap")
for d in "$top"/tests/modules/*/; do
	[ -e "$d/Kbuild" ] && dirs+=("${d%/}")
done
only=" ${*:2} "
for d in "${dirs[@]}"; do
	name=$(basename "$d")
	[ "$only" = "  " ] || [[ $only == *" $name "* ]] || continue
	if [[ $flavour == stock-* && $d == "$top"/tests/modules/* ]]; then
		why=$(stock_lacks "$d")
		if [ -n "$why" ]; then echo "[modules] $name: skipped on $flavour: $why"; continue; fi
	fi
	mkdir -p "$out/$name"
	rsync -a "$d/" "$out/$name/"
	make -s -C "$kdir" M="$out/$name" BLKSNAP_TOP="$top" W=1 modules
	kos=$(cd "$out/$name" && compgen -G '*.ko' | tr '\n' ' ') || true
	echo "[modules] $name: ${kos:-none (not for this configuration)}"
done
