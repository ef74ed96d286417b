# shellcheck shell=bash
# Block devices in the guest, for any suite: . "$SRC/tests/lib/dev.sh"
# (sources guest.sh). There is no udev in the guest: devtmpfs creates the
# nodes, asynchronously.
#
#   wait_for_dev PATH       wait up to 5 s for a block device node to appear
#   dm_create NAME TABLE    create a dm device; sets DM to its node /dev/dm-N
#   dm_remove NAME          remove a dm device if it exists
#   devnum DEV              MAJOR:MINOR of a block device
. "$SRC/tests/lib/guest.sh"

# wait_for_dev PATH: devtmpfs creates nodes asynchronously (no process but
# the sleeps)
wait_for_dev() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -b "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear"
}

# dm_create NAME TABLE: create a dm device, set DM to its node (/dev/dm-N;
# there is no udev in the guest to make /dev/mapper/NAME)
dm_create() {
	local minor
	dmsetup create "$1" --table "$2" || fail "dmsetup create $1"
	minor=$(dmsetup info -c --noheadings -o minor "$1")
	minor=${minor// /}
	[ -n "$minor" ] || fail "no minor for dm device $1"
	DM=/dev/dm-$minor
	wait_for_dev "$DM"
}

# dm_remove NAME: remove the dm device if it exists
dm_remove() {
	dmsetup info "$1" >/dev/null 2>&1 || return 0
	dmsetup remove "$1"
}

# devnum DEV: MAJOR:MINOR of the device node DEV (or of what it links to)
devnum() {
	local t n=${1##*/}
	# A node under its kernel name: sysfs has the number, no stat process.
	if [ -b "$1" ] && [ ! -L "$1" ] && [ -r "/sys/class/block/$n/dev" ]; then
		read -r t < "/sys/class/block/$n/dev"
		printf '%s' "$t"
		return
	fi
	t=$(stat -L -c '%t %T' "$1")
	printf '%d:%d' "0x${t% *}" "0x${t#* }"
}
