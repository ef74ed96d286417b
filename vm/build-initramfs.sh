#!/usr/bin/env bash
# Build the guest's initramfs from the host's own binaries.
#
#   vm/build-initramfs.sh OUTPUT.cpio
#
# The guest runs the host's real tools (bash, util-linux, kmod, e2fsprogs,
# xfsprogs, fio, dmsetup, coreutils, ...) with the exact shared libraries
# they link against. Our own binaries, modules and tests are not in it: the
# guest reads them from the repository over virtio-9p, so the image only
# changes when this script, vm/init or the host's packages change.
set -euo pipefail
out=$1
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d "${out}.stage.XXXXXX")
chmod 755 "$stage"	# the guest's /: unprivileged tests must reach libc
trap 'rm -rf "$stage"' EXIT

# Whole packages (every binary they ship), then single commands.
packages="coreutils util-linux mount fdisk e2fsprogs xfsprogs kmod fio dmsetup
	procps psmisc grep sed gawk findutils diffutils bsdextrautils libcap2-bin
	strace bash gzip tar"
commands="bash sh setpriv capsh sfdisk lsblk blkid findmnt losetup mount umount
	insmod rmmod modprobe lsmod modinfo mkfs.ext4 e2fsck mkfs.xfs xfs_repair
	fio dmsetup dd sha256sum cmp timeout awk sed grep find xargs stat truncate
	fallocate blockdev hexdump od strace ps pkill sysctl"

copy_file() {	# copy a path (following the symlink chain) into the stage
	local f=$1
	[ -e "$stage$f" ] && return 0
	mkdir -p "$stage$(dirname "$f")"
	if [ -L "$f" ]; then
		local t
		t=$(readlink "$f")
		cp -a "$f" "$stage$f"
		case "$t" in /*) copy_file "$t" ;; *) copy_file "$(dirname "$f")/$t" ;; esac
	else
		cp -a "$f" "$stage$f"
	fi
}
copy_elf() {	# a binary and every shared library it needs
	local f=$1 lib
	copy_file "$f"
	if file -L "$f" | grep -q 'dynamically linked'; then
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
			copy_file "$lib"
		done
	fi
}

bins=()
for p in $packages; do
	while IFS= read -r f; do
		[ -f "$f" ] && [ -x "$f" ] && bins+=("$f")
	done < <(dpkg -L "$p" 2>/dev/null | grep -E '^/(usr/)?s?bin/')
done
for c in $commands; do
	f=$(command -v "$c" 2>/dev/null) || { echo "initramfs: host lacks '$c'" >&2; exit 1; }
	bins+=("$f")
done
for f in "${bins[@]}"; do copy_elf "$f"; done
# fio's engines are loaded at run time, not listed by ldd.
for d in /usr/lib/x86_64-linux-gnu/fio; do
	[ -d "$d" ] && for f in "$d"/*.so; do [ -e "$f" ] && copy_elf "$f"; done
done
for f in /lib/x86_64-linux-gnu/libnss_files.so.2 /usr/lib/x86_64-linux-gnu/libnss_files.so.2; do
	[ -e "$f" ] && copy_elf "$f"
done
# The sanitizer runtimes, so that instrumented helpers also run in the guest,
# and the libraries of our own tool and library (built later, run from /src).
for f in /usr/lib/x86_64-linux-gnu/libasan.so.8 /usr/lib/x86_64-linux-gnu/libubsan.so.1 \
	 /usr/lib/x86_64-linux-gnu/libuuid.so.1 /usr/lib/x86_64-linux-gnu/libjson-c.so.5 \
	 /usr/lib/x86_64-linux-gnu/libxxhash.so.0; do
	[ -e "$f" ] || { echo "initramfs: host lacks $f" >&2; exit 1; }
	copy_elf "$f"
done
copy_elf /bin/busybox	# only for `poweroff -f`

# Merged-/usr layout, as on the host.
for d in bin sbin lib lib64; do
	if [ -L "/$d" ] && [ ! -e "$stage/$d" ]; then ln -s "usr/$d" "$stage/$d"; fi
done
mkdir -p "$stage"/{proc,sys,dev,tmp,run,src,out,mnt,root,etc,var/tmp,lib/modules}
cat > "$stage/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
P
cat > "$stage/etc/group" <<'G'
root:x:0:
disk:x:6:
nogroup:x:65534:
G
echo 'passwd: files
group: files' > "$stage/etc/nsswitch.conf"
: > "$stage/etc/fstab"
ln -sf /proc/self/mounts "$stage/etc/mtab"
install -m 0755 "$top/vm/init" "$stage/init"

(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) > "$out.tmp"
mv "$out.tmp" "$out"
echo "[initramfs] $out: $(du -h "$out" | cut -f1), ${#bins[@]} programs"
