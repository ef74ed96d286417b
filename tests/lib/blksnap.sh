# shellcheck shell=bash
# The blksnap module in a test, for every blksnap suite (20-cbt, 30-snapshot,
# 60-tool, 70-reliability): . "$SRC/tests/lib/blksnap.sh"
# (sources guest.sh and dev.sh; bsctl.sh adds the bsctl wrappers).
#
#   BSCTL                       path of bsctl, the raw-ioctl test helper
#                               (tests/guest/20-cbt/bsctl.c); the test
#                               fails here if it is not built
#   need_filter_backend         fail (not skip) without block-device filters:
#                               neither the kernel's (blkfilter series) nor
#                               the module's own hook (stock kernel, ftrace)
#   filter_backend              the loaded module's filter backend:
#                               blkfilter or ftrace (nothing if not loaded)
#   kernel_backend              the backend the module must have here:
#                               ftrace on a stock kernel, else blkfilter
#   filter_of DEV               name of the filter attached to DEV, "" if none
#   attached_filters            "DEV NAME" for each device with a filter
#   blksnap_loaded              the module is loaded (no process)
#   load_blksnap [PARAMS...]    blksnap_cleanup, then load the module
#   blksnap_cleanup [MNT...]    destroy every snapshot, detach every blksnap
#                               filter, unmount MNT..., unload the module
#   image DEV                   path of the snapshot image of DEV
#
# Two filter backends (the module parameter filter_backend): "blkfilter",
# our kernel's framework (BLKFILTER_* ioctls on the block device,
# /sys/block/<disk>[/<part>]/filter names the attached filter), and
# "ftrace", the module's own hook on a stock kernel (the control device
# carries the filter commands, and the module lists the devices it is
# attached to in debugfs, one "MAJ:MIN NAME" a line). bsctl and the tool
# choose the path themselves; these helpers read whichever applies.
. "$SRC/tests/lib/guest.sh"
. "$SRC/tests/lib/dev.sh"

BSCTL=$BUILD/tests/20-cbt/bsctl
[ -x "$BSCTL" ] || BSCTL=${TBIN:-/nonexistent}/bsctl
[ -x "$BSCTL" ] || fail "test helper bsctl is not built"

BS_BACKEND_PARAM=/sys/module/blksnap/parameters/filter_backend
BS_FTRACE_FILTERS=/sys/kernel/debug/blksnap/filters

# _bs_backend: BS_BACKEND = the loaded module's filter backend, "" if the
# module is not loaded (no process)
_bs_backend() {
	BS_BACKEND=
	{ read -r BS_BACKEND < "$BS_BACKEND_PARAM"; } 2>/dev/null || BS_BACKEND=
}

# filter_backend: print the loaded module's filter backend (blkfilter or
# ftrace); nothing, status 1, if the module is not loaded
filter_backend() {
	_bs_backend
	[ -n "$BS_BACKEND" ] || return 1
	printf '%s\n' "$BS_BACKEND"
}

# kernel_backend: the backend the module must use on this kernel: ftrace on
# a stock kernel, blkfilter on ours
kernel_backend() {
	if stock_kernel; then echo ftrace; else echo blkfilter; fi
}

# need_filter_backend: block-device filters, on either backend: our
# kernel's framework (it has /sys/block/vda/filter), or a stock kernel
# where the module brings its own hook (filter_backend=ftrace; read from
# the module, loaded for a moment if it is not). Without either, every test
# of these suites is meaningless: a failure, not a skip.
need_filter_backend() {
	[ -e /sys/block/vda/filter ] && return 0
	_bs_backend
	if [ -z "$BS_BACKEND" ]; then
		load_module blksnap
		_bs_backend
		rmmod blksnap || fail "rmmod blksnap"
	fi
	[ "$BS_BACKEND" = ftrace ] ||
		fail "no block-device filters: /sys/block/vda/filter is missing and the module's filter_backend is '$BS_BACKEND', not ftrace"
}

# _bs_attached: BS_ATTACHED = ("DEV NAME"...), every device with a filter
# attached (no process). blkfilter: the sysfs attributes of disks and
# partitions; ftrace: the module's debugfs list (only blksnap attaches
# there, and only while the module is loaded).
_bs_attached() {
	local f name num _
	BS_ATTACHED=()
	_bs_backend
	if [ "$BS_BACKEND" = ftrace ]; then
		[ -r "$BS_FTRACE_FILTERS" ] ||
			fail "no $BS_FTRACE_FILTERS (the ftrace backend lists its devices in debugfs)"
		while read -r num name _; do
			[ -n "$name" ] && BS_ATTACHED+=("/dev/$name blksnap")
		done < "$BS_FTRACE_FILTERS"
		return 0
	fi
	for f in /sys/block/*/filter /sys/block/*/*/filter; do
		name=
		[ -r "$f" ] && read -r name 2>/dev/null < "$f"
		[ -n "$name" ] || continue
		f=${f%/filter}
		BS_ATTACHED+=("/dev/${f##*/} $name")
	done
}

# attached_filters: print "DEV NAME" for every device with a filter attached
attached_filters() {
	local a
	_bs_attached
	for a in "${BS_ATTACHED[@]}"; do printf '%s\n' "$a"; done
}

# filter_of DEV: print the name of the filter attached to DEV ("" if none;
# DEV is a node, a link to one, or a kernel name such as vdb1)
filter_of() {
	local name=${1##*/} num line _
	if [ -L "$1" ]; then
		name=$(readlink -f "$1") || fail "filter_of: cannot resolve $1"
		name=${name##*/}
	fi
	[ -r "/sys/class/block/$name/dev" ] || fail "filter_of: $1 is not a block device"
	_bs_backend
	if [ "$BS_BACKEND" = ftrace ]; then
		[ -r "$BS_FTRACE_FILTERS" ] ||
			fail "no $BS_FTRACE_FILTERS (the ftrace backend lists its devices in debugfs)"
		read -r num < "/sys/class/block/$name/dev"
		while read -r line _; do
			[ "$line" = "$num" ] && { echo blksnap; return 0; }
		done < "$BS_FTRACE_FILTERS"
		echo
		return 0
	fi
	if [ -e "/sys/class/block/$name/filter" ]; then
		line=
		read -r line < "/sys/class/block/$name/filter"
		printf '%s\n' "$line"
		return 0
	fi
	# No attribute: a stock kernel, where nothing is attached without the
	# module. With the module on blkfilter it must be there.
	[ -z "$BS_BACKEND" ] || fail "filter_of: no /sys/class/block/$name/filter"
	echo
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
	local loaded=0 id a f m _
	if blksnap_loaded; then
		loaded=1
		for id in $("$BSCTL" collect 2>/dev/null); do
			[[ $id == count=* ]] && continue
			"$BSCTL" destroy "$id" >/dev/null 2>&1
		done
		_bs_attached
		for a in "${BS_ATTACHED[@]}"; do
			[ "${a#* }" = blksnap ] || continue
			"$BSCTL" detach "${a%% *}" >/dev/null 2>&1
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
