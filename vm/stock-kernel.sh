#!/usr/bin/env bash
# Fetch one of Debian's own, unmodified kernels for the VM.
#
#   vm/stock-kernel.sh 6.1|6.12
#
# 6.1 is Debian 12's kernel (linux-image-amd64), 6.12 the one Debian 12
# security ships (linux-image-6.12-amd64). The meta packages are resolved
# to the concrete image, headers, headers-common and kbuild packages, which
# are downloaded to build/stock/dl/ and extracted (never installed) into
# build/stock/NAME/root/. build/stock/NAME/kver names the kernel release and
# build/stock/NAME/initramfs.cpio is our initramfs followed by a second cpio
# archive with the modules the guest loads before it can mount /src (see
# /etc/blksnap-early-modules in vm/init).
set -euo pipefail
name=${1:-}
case "$name" in
6.1) metas=(linux-image-amd64 linux-headers-amd64) ;;
6.12) metas=(linux-image-6.12-amd64 linux-headers-6.12-amd64) ;;
*) echo "usage: vm/stock-kernel.sh 6.1|6.12" >&2; exit 2 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$top/build/stock/$name root=$top/build/stock/$name/root dl=$top/build/stock/dl
base=$top/build/vm/initramfs.cpio
# What the guest needs before the 9p mounts, in load order (the built-in
# ones are dropped below).
early="virtio_pci virtio_rng virtio_blk 9pnet_virtio 9p"

deps() {	# the hard dependencies of packages $@, one a line
	apt-cache depends "$@" 2>/dev/null | awk '$1 == "Depends:" { print $2 }'
}
# A new ABI number only changes what the meta packages depend on. apt-cache
# takes a second a call here: few calls, each for several packages.
direct=$(deps "${metas[@]}")
if [ -z "$direct" ]; then
	apt-get update -qq
	direct=$(deps "${metas[@]}")
fi
image=$(grep '^linux-image-' <<<"$direct" || true)
headers=$(grep '^linux-headers-' <<<"$direct" || true)
if [ -z "$image" ] || [ -z "$headers" ]; then
	echo "[stock] $name: cannot resolve ${metas[*]}" >&2; exit 1
fi
# Not the compiler (the host's gcc-12 is the same) nor linux-base.
pkgs="$image $headers $(deps "$headers" | grep -E '^linux-(headers-.*-common|kbuild-)' | tr '\n' ' ')"
# shellcheck disable=SC2086
spec=$(apt-cache policy $pkgs | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) }
	/Candidate:/ && $2 != "(none)" { printf "%s=%s ", p, $2 }')
[ "$(wc -w <<<"$spec")" = "$(wc -w <<<"$pkgs")" ] || { echo "[stock] $name: no candidate for some of $pkgs" >&2; exit 1; }

did=
if [ "$(cat "$dir/.stamp" 2>/dev/null)" != "$spec" ] || [ ! -f "$dir/kver" ]; then
	mkdir -p "$dl"
	# Our modules built against the previous kernel go too.
	rm -rf "$root" "$dir/modules" "$dir/kver" "$dir/.stamp"
	mkdir -p "$root"
	for s in $spec; do
		p=${s%%=*} v=${s#*=}
		debs=("$dl/${p}_${v//:/%3a}_"*.deb)
		if [ ! -f "${debs[0]}" ]; then
			# Sandboxed as _apt, apt could not write to build/.
			(cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$s")
			debs=("$dl/${p}_${v//:/%3a}_"*.deb)
		fi
		dpkg-deb -x "${debs[0]}" "$root"
	done
	kver=$(basename "$(echo "$root"/lib/modules/*)")
	[ -f "$root/boot/vmlinuz-$kver" ] || { echo "[stock] $name: no vmlinuz-$kver in $image" >&2; exit 1; }
	# Absolute links (lib/modules/KVER/build, source) would leave the tree.
	while IFS= read -r l; do
		ln -sfn "$(realpath -m --relative-to="$(dirname "$l")" "$root$(readlink "$l")")" "$l"
	done < <(find "$root" -type l -lname '/*')
	# The headers' Makefile includes /usr/src/linux-headers-*-common/Makefile.
	mk=$root/usr/src/linux-headers-$kver/Makefile
	# shellcheck disable=SC2016 # make's $(...), not the shell's
	sed -i -E 's#^include /usr/src/#include $(dir $(lastword $(MAKEFILE_LIST)))../#' "$mk"
	if grep -q '^include /' "$mk"; then echo "[stock] $name: absolute include left in $mk" >&2; exit 1; fi
	# Debian runs depmod at installation: the guest's modprobe needs its maps.
	depmod -b "$root" "$kver"
	echo "$kver" > "$dir/kver"
	echo "$spec" > "$dir/.stamp"
	did="extracted $(wc -w <<<"$pkgs") packages (${spec%% *})"
fi
kver=$(cat "$dir/kver")

# Our base initramfs, rebuilt as the Makefile would when vm/init changed.
if [ ! -f "$base" ] || [ "$top/vm/init" -nt "$base" ] || [ "$top/vm/build-initramfs.sh" -nt "$base" ]; then
	mkdir -p "$(dirname "$base")"
	bash "$top/vm/build-initramfs.sh" "$base" >/dev/null
fi

out=$dir/initramfs.cpio
if [ ! -f "$out" ] || [ "$base" -nt "$out" ] || [ "$dir/.stamp" -nt "$out" ] || [ "$0" -nt "$out" ]; then
	stage=$(mktemp -d "$dir/early.XXXXXX")
	trap 'rm -rf "$stage" "$stage.cpio"' EXIT
	# Where /lib/modules really is in the base image: if lib is a symlink
	# there (merged /usr), an entry "lib" of ours would replace it.
	mp=/lib/modules
	if cpio -itv --quiet < "$base" | grep -q ' lib -> usr/lib$'; then mp=/usr/lib/modules; fi
	mods=$stage$mp/$kver
	mkdir -p "$mods" "$stage/etc"
	load='' builtin=''
	for m in $early; do
		# -C /dev/null: the host's modprobe.d must not change the answer.
		list=$(modprobe -C /dev/null -d "$root" -S "$kver" --show-depends "$m")
		while read -r what f _; do
			case "$what" in
			builtin) [ "$f" = "$m" ] && builtin+="$m " ;;
			insmod) f=${f#"$root/lib/modules/$kver/"}
				mkdir -p "$mods/$(dirname "$f")"
				# Unpacked: xz under emulation costs seconds a boot.
				# The signature is inside, made before compression.
				case "$f" in
				*.xz) xz -dc "$root/lib/modules/$kver/$f" > "$mods/${f%.xz}" ;;
				*) cp "$root/lib/modules/$kver/$f" "$mods/$f" ;;
				esac ;;
			esac
		done <<<"$list"
		[[ " $builtin " == *" $m "* ]] || load+="$m "
	done
	cp "$root/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$mods/"
	depmod -b "$stage${mp%/lib/modules}" "$kver"
	tr ' ' '\n' <<<"${load% }" > "$stage/etc/blksnap-early-modules"
	nmod=$(find "$mods" -name '*.ko*' | wc -l)
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) > "$stage.cpio"
	cat "$base" "$stage.cpio" > "$out.tmp"
	mv "$out.tmp" "$out"
	builtin=${builtin% }
	did="${did:+$did; }initramfs with ${load% } ($nmod modules; built in: ${builtin:-none})"
fi
echo "[stock] $name: $kver: ${did:-up to date}"
