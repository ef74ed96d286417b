#!/bin/bash
# Every kind of difference storage — block device, regular file, directory
# (O_TMPFILE) on ext4, directory on tmpfs — with two devices in one
# snapshot (block device and tmpfs also with one): each image shows
# exactly the stamps of the take instant, each original exactly what was
# written after it.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap 'blksnap_cleanup /mnt/ext4 /mnt/tmpfs' EXIT
N=2048			# 8 MiB (4 KiB stamps) on each device
LIMIT=$((32 * 2048))	# 32 MiB

load_blksnap diff_storage_minimum=4096	# grow by 2 MiB
mkdir -p /mnt/ext4 /mnt/tmpfs
mkfs.ext4 -q -F /dev/vdd || fail mkfs
mount /dev/vdd /mnt/ext4 || fail "mount ext4"
mount -t tmpfs -o size=64m tmpfs /mnt/tmpfs || fail "mount tmpfs"
bs attach /dev/vda
bs attach /dev/vdb

gen=0
# case KIND STORAGE DEV...: stamp, take, overwrite unaligned ranges, check
# (one bsctl per device and step: a process costs about a second here)
case_run() {
	local kind=$1 storage=$2 id d old new
	shift 2
	gen=$((gen + 1))
	old=O$gen new=N$gen
	log "$kind with $# device(s)"
	for d in "$@"; do bs stamp "$d" "$old" 0 $N; done
	id=$(snap_take "$storage" $LIMIT "$@") || exit 1
	# Unaligned to chunks, spanning chunk boundaries, and the range end.
	for d in "$@"; do bs stamp "$d" "$new" 3 500 "$new" 1000 1048; done
	for d in "$@"; do
		bs verify "${img[$d]}" "$old" 0 $N
		bs verify "$d" "$old" 0 3 "$new" 3 500 "$old" 503 497 "$new" 1000 1048
	done
	bs info "$1" | grep -q 'error=0' || fail "$kind: $(bs info "$1")"
	bs destroy "$id"
}

declare -A img=([/dev/vda]=$(image /dev/vda) [/dev/vdb]=$(image /dev/vdb))
# Every kind with two devices in one snapshot; bdev and tmpfs also with one.
case_run bdev /dev/vdc /dev/vda
case_run tmpfs-dir /mnt/tmpfs /dev/vdb
case_run bdev /dev/vdc /dev/vda /dev/vdb
: > /mnt/ext4/diff
case_run file /mnt/ext4/diff /dev/vda /dev/vdb
rm -f /mnt/ext4/diff
case_run ext4-dir /mnt/ext4 /dev/vda /dev/vdb
case_run tmpfs-dir /mnt/tmpfs /dev/vda /dev/vdb

# The tmpfs temporary file is unnamed and gone with the snapshot.
before=$(df --output=used /mnt/tmpfs | tail -n 1)
id=$(snap_take /mnt/tmpfs $LIMIT /dev/vda) || exit 1
bs stamp /dev/vda X 0 $N
expect_eq "$(ls -A /mnt/tmpfs)" "" "no name in the tmpfs directory"
during=$(df --output=used /mnt/tmpfs | tail -n 1)
[ "$during" -gt "$before" ] || fail "tmpfs storage did not grow ($before -> $during KiB)"
bs destroy "$id"
after=$(df --output=used /mnt/tmpfs | tail -n 1)
expect_eq "$after" "$before" "tmpfs space after destroy (KiB)"
bs detach /dev/vda
bs detach /dev/vdb
exit 0
