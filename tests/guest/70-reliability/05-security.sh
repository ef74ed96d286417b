#!/bin/bash
# Security: callers without CAP_SYS_ADMIN (user nobody, and root without
# it) get EPERM from every control ioctl, every BLKFILTER_CTL command and
# ATTACH/DETACH, even through nodes they may open, and change nothing; the
# control device and the images are root-only; the O_TMPFILE difference
# storage has no name and no open file anyone could reach, and vanishes
# with the snapshot (races.c, "security" and "perm").
# Few processes on purpose: an exec costs 0.6 s (2-4 s under load) here.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
RACES=$TBIN/races
[ -x "$RACES" ] || fail "test helper races is not built"
DS=/tmp/secds
cleanup() {
	blksnap_cleanup "$DS"
	rm -rf "$DS" /tmp/sec-ctl /tmp/sec-dev
	true
}
trap cleanup EXIT

blksnap_loaded && { cleanup; blksnap_loaded && fail "cannot unload blksnap"; }
# Unprivileged callers need a world-readable root to reach libc.
expect_eq "$(stat -c %a /)" 755 "mode of the guest's /"
insmod "$MODDIR/blksnap/blksnap.ko" || fail "insmod blksnap"
# A file system of its own for the storage, world-writable like /tmp.
mkdir -p "$DS"
mount -t tmpfs -o size=256m,mode=1777 tmpfs "$DS" || fail "mount tmpfs"
"$RACES" security "$DS" /dev/vdb || fail "security checks (exit $?)"

# The same through setpriv, with a snapshot id that exists.
id=$(bs create "$DS" 65536) || exit 1
{ read -r cmaj cmin; read -r vmaj vmin; } < <(stat -c '0x%t 0x%T' /dev/blksnap-control /dev/vdb)
mknod -m 0666 /tmp/sec-ctl c "$cmaj" "$cmin" || fail mknod
mknod -m 0666 /tmp/sec-dev b "$vmaj" "$vmin" || fail mknod
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$RACES" perm /tmp/sec-ctl /tmp/sec-dev "$id")
rc=$?
while read -r line; do echo "# setpriv nobody: $line"; done <<< "$out"
[ $rc = 0 ] || fail "setpriv nobody: not every call was refused with EPERM (exit $rc)"
expect_eq "$(bs collect)" "count=1"$'\n'"$id" "snapshots after the refused calls"
bs destroy "$id"
rmmod blksnap || fail "rmmod"
log "took ${SECONDS}s"
exit 0
