#!/usr/bin/env bash
# Build the patched Linux 6.12 kernel for the test VM.
#
#   vm/build-kernel.sh debug|bench
#
# Source:  Debian's linux-source-6.12 tarball, unpacked once into a git tree
#          at build/kernel/src (commit "pristine"), the blkfilter series
#          (kernel/patches/*.patch) applied on top with `git am`.
# Objects: build/kernel/<flavour>/ (O= build), config = tinyconfig +
#          kernel/config/base.config + kernel/config/<flavour>.config.
#
# Only what changed is rebuilt: a new series is applied in a side worktree
# and then checked out in the source tree, so git rewrites only the files
# whose content differs and make rebuilds only what depends on them.
set -euo pipefail
flavour=${1:-debug}
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=/usr/src/linux-source-6.12.tar.xz
kb=$top/build/kernel
src=$kb/src
obj=$kb/$flavour
jobs=$(nproc)
log() { printf '[kernel] %s\n' "$*"; }
die() { printf '[kernel] ERROR: %s\n' "$*" >&2; exit 1; }

[ -r "$tarball" ] || die "$tarball missing: run 'make deps' (apt-get install linux-source-6.12)"
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
mkdir -p "$kb"
# One build at a time: several sessions/helpers share this tree.
exec 9>"$kb/.lock"
flock 9
gitq() { git -C "$1" -c user.name=blksnap-build -c user.email=build@blksnap.invalid "${@:2}"; }

# 1. Pristine tree, re-made when the Debian package version changes.
if [ ! -d "$src/.git" ] || [ "$(cat "$kb/src.pkgver" 2>/dev/null)" != "$pkgver" ]; then
	log "unpacking linux-source-6.12 $pkgver"
	rm -rf "$src" "$kb/am" "$kb"/*.applied
	mkdir -p "$src"
	tar -xf "$tarball" -C "$src" --strip-components=1
	gitq "$src" init -q
	gitq "$src" add -A -f
	gitq "$src" commit -q -m "pristine linux-source-6.12 $pkgver"
	gitq "$src" tag -f pristine >/dev/null
	echo "$pkgver" > "$kb/src.pkgver"
fi

# 2. The blkfilter series.
patches=("$top"/kernel/patches/*.patch)
[ -e "${patches[0]}" ] || patches=()
series=$( (echo "$pkgver"; cat "${patches[@]}" /dev/null) | sha256sum | cut -c1-16)
if [ "$(cat "$kb/series.applied" 2>/dev/null)" != "$series" ]; then
	log "applying kernel/patches (${#patches[@]} patches)"
	gitq "$src" worktree remove --force "$kb/am" 2>/dev/null || rm -rf "$kb/am"
	gitq "$src" worktree prune
	gitq "$src" worktree add -q --detach "$kb/am" pristine
	if [ ${#patches[@]} -gt 0 ]; then
		if ! gitq "$kb/am" am -q --whitespace=nowarn "${patches[@]}"; then
			gitq "$kb/am" am --abort 2>/dev/null || true
			die "a patch of kernel/patches does not apply to linux-source-6.12 $pkgver"
		fi
	fi
	head=$(gitq "$kb/am" rev-parse HEAD)
	gitq "$src" checkout -q -f --detach "$head"
	gitq "$src" worktree remove --force "$kb/am"
	echo "$series" > "$kb/series.applied"
fi

# 3. Configuration: tinyconfig + fragments; every requested option is checked.
frags=("$top/kernel/config/base.config" "$top/kernel/config/$flavour.config")
[ -r "${frags[1]}" ] || die "no kernel/config/$flavour.config"
cfgsum=$(cat "${frags[@]}" | sha256sum | cut -c1-16)-$(cat "$kb/series.applied")
mkdir -p "$obj"
if [ "$(cat "$obj/config.applied" 2>/dev/null)" != "$cfgsum" ]; then
	log "configuring $flavour kernel"
	make -s -C "$src" O="$obj" ARCH=x86_64 tinyconfig >/dev/null
	cat "${frags[@]}" > "$obj/fragments.config"
	(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" .config fragments.config >/dev/null)
	make -s -C "$src" O="$obj" ARCH=x86_64 olddefconfig >/dev/null
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" "$obj/.config" && { log "option not off: $opt"; bad=1; } ;;
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" || { log "option not set: $line"; bad=1; } ;;
		esac
	done < <(grep -h '^CONFIG_' "${frags[@]}")
	[ $bad = 0 ] || die "the configuration does not hold every option of the fragments"
	echo "$cfgsum" > "$obj/config.applied"
fi

# 4. Build (incremental).
log "building $flavour bzImage with $jobs jobs"
make -s -C "$src" O="$obj" ARCH=x86_64 -j"$jobs" bzImage modules
make -s -C "$src" O="$obj" ARCH=x86_64 modules_prepare
kver=$(make -s -C "$src" O="$obj" kernelrelease)
printf 'linux-source-6.12 %s\nkernelrelease %s\nseries %s\n' "$pkgver" "$kver" "$series" > "$obj/VERSION"
log "ready: $obj/arch/x86/boot/bzImage ($kver, Debian linux-source-6.12 $pkgver)"
