#!/usr/bin/env bash
# The DKMS path, as an administrator's `apt install ./blksnap-dkms_*.deb`
# takes it, for Debian's own kernels: DKMS builds the module from the
# package's source tree against each kernel's headers package
# (vm/stock-kernel.sh), with dkms.conf as packaged. Nothing is installed on
# the host: the package is extracted and DKMS runs on trees under
# build/dkms/. The module built for KERNEL goes to
# build/stock/KERNEL/modules/blksnap-dkms/, where the 80-stock suite loads it.
#
#   tests/packaging/dkms-build.sh KERNEL...     (6.1, 6.12)
#
# TAP on stdout, one test per kernel plus one for the package.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/dkms
n=0 failed=0
tap() {	# tap STATUS NAME DETAIL
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $2 # $3"
	else echo "not ok $n - $2 # $3"; failed=1; fi
}

deb=$(ls "$top"/build/deb/blksnap-dkms_*_all.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	tap fail package "no build/deb/blksnap-dkms_*.deb (make deb)"
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/root" "$out/tree"
dpkg-deb -x "$deb" "$out/root"
conf=$(ls "$out"/root/usr/src/blksnap-*/dkms.conf 2>/dev/null)
if [ -z "$conf" ] || ! grep -q '^NO_WEAK_MODULES="yes"' "$conf" ||
   ! grep -q '^AUTOINSTALL="yes"' "$conf"; then
	tap fail package "$(basename "$deb"): no dkms.conf with AUTOINSTALL and NO_WEAK_MODULES"
	exit 1
fi
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$conf")
tap ok package "$(basename "$deb"): DKMS source tree blksnap-$ver"

for k in "$@"; do
	sdir=$top/build/stock/$k
	kver=$(cat "$sdir/kver" 2>/dev/null) || { tap fail "dkms-$k" "no stock kernel $k (make stock-kernels)"; continue; }
	log=$out/build-$k.log
	if ! dkms build -m blksnap -v "$ver" -k "$kver" \
		--sourcetree "$out/root/usr/src" --dkmstree "$out/tree" \
		--kernelsourcedir "$sdir/root/usr/src/linux-headers-$kver" > "$log" 2>&1; then
		tap fail "dkms-$k" "dkms build -k $kver failed: $(tail -n 3 "$log" | tr '\n' ' ')"
		continue
	fi
	ko=$(find "$out/tree/blksnap/$ver/$kver" -name 'blksnap.ko*' | head -n 1)
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	if [ "$magic" != "$kver" ]; then
		tap fail "dkms-$k" "built module ${ko:-none} has vermagic '$magic', not $kver"
		continue
	fi
	mkdir -p "$sdir/modules/blksnap-dkms"
	rm -f "$sdir"/modules/blksnap-dkms/*
	case $ko in
	*.xz) xz -dc "$ko" > "$sdir/modules/blksnap-dkms/blksnap.ko" ;;
	*.zst) zstd -qdc "$ko" > "$sdir/modules/blksnap-dkms/blksnap.ko" ;;
	*) cp "$ko" "$sdir/modules/blksnap-dkms/blksnap.ko" ;;
	esac
	tap ok "dkms-$k" "dkms build -k $kver: $(basename "$ko")"
done
echo "1..$n"
exit $failed
