# shellcheck shell=bash
# The blksnap module in a test, for every blksnap suite (20-cbt, 30-snapshot,
# 60-tool, 70-reliability): . "$SRC/tests/lib/blksnap.sh"
# (sources guest.sh and dev.sh; bsctl.sh adds the bsctl wrappers).
#
#   BSCTL                       path of bsctl, the raw-ioctl test helper
#                               (tests/guest/20-cbt/bsctl.c); the test
#                               fails here if it is not built
#   need_blkfilter              fail (not skip) without the blkfilter series
#   blksnap_loaded              the module is loaded (no process)
#   load_blksnap [PARAMS...]    blksnap_cleanup, then load the module
#   blksnap_cleanup [MNT...]    destroy every snapshot, detach every blksnap
#                               filter, unmount MNT..., unload the module
#   image DEV                   path of the snapshot image of DEV
. "$SRC/tests/lib/guest.sh"
. "$SRC/tests/lib/dev.sh"

BSCTL=$BUILD/tests/20-cbt/bsctl
[ -x "$BSCTL" ] || BSCTL=${TBIN:-/nonexistent}/bsctl
[ -x "$BSCTL" ] || fail "test helper bsctl is not built"

# need_blkfilter: our kernel has the blkfilter series; without it every
# test of these suites is meaningless, and that is a failure, not a skip.
need_blkfilter() {
	[ -e /sys/block/vda/filter ] ||
		fail "the kernel has no block-device filters (/sys/block/vda/filter is missing)"
}

# blksnap_loaded: status 0 if the module is loaded (reads /proc/modules
# without starting a process: each exec costs ~0.6 s in the guest)
blksnap_loaded() {
	local m _
	while read -r m _; do
		[ "$m" = blksnap ] && return 0
	done < /proc/modules
	return 1
}

# blksnap_cleanup [MOUNTPOINT...]: leave nothing of blksnap behind, for an
# EXIT trap and before loading the module. If the module is loaded: destroy
# every snapshot, detach the blksnap filter from every device that has it
# (disks, partitions, loop, dm, ...). Then unmount each MOUNTPOINT that is
# mounted (difference storages: they can go only once their snapshots are
# gone; unmount snapshot images yourself before, they go with their
# snapshot), and unload the module. Starts no process when there is nothing
# to do. Status: that of rmmod, 0 if the module was not loaded.
# shellcheck disable=SC2120 # the mount points are optional
blksnap_cleanup() {
	local loaded=0 id f name m _
	if blksnap_loaded; then
		loaded=1
		for id in $("$BSCTL" collect 2>/dev/null); do
			[[ $id == count=* ]] && continue
			"$BSCTL" destroy "$id" >/dev/null 2>&1
		done
		for f in /sys/block/*/filter /sys/block/*/*/filter; do
			name=
			[ -r "$f" ] && read -r name 2>/dev/null < "$f"
			[ "$name" = blksnap ] || continue
			f=${f%/filter}
			"$BSCTL" detach "/dev/${f##*/}" >/dev/null 2>&1
		done
	fi
	for m in "$@"; do
		while read -r _ f _; do
			[ "$f" = "$m" ] && { umount "$m"; break; }
		done < /proc/mounts
	done
	[ $loaded = 1 ] || return 0
	rmmod blksnap
}

# load_blksnap [PARAMS...]: a clean start, then the module with PARAMS
load_blksnap() {
	blksnap_cleanup
	load_module blksnap "$@"
	[ -c /dev/blksnap-control ] || fail "no /dev/blksnap-control"
}

# image DEV: path of the snapshot image of DEV
image() {
	echo "/dev/blksnap-image_$(devnum "$1")"
}
