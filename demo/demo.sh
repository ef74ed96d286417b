#!/bin/bash
# The backup story, end to end, in the VM (run by `make demo`):
# two live file systems under a writer, one coherent snapshot of both,
# the images mounted and checked against checksums of the snapshot instant,
# then an incremental backup's list of changed blocks from CBT.
set -euo pipefail
BS=${BINDIR:-/src/build/user/bin}/blksnap
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

say "Our kernel and module"
uname -r
cat /sys/block/vda/filter 2>/dev/null >/dev/null && echo "blkfilter: present (sysfs 'filter' attribute)"
run insmod "$MODDIR/blksnap/blksnap.ko"
run "$BS" version

say "Two live file systems (ext4 on vda, xfs on vdb) and a difference-storage folder on vdd"
mkfs.ext4 -q -F /dev/vda
mkfs.xfs -q -f /dev/vdb
mkfs.ext4 -q -F /dev/vdd
mkdir -p /mnt/a /mnt/b /mnt/store /mnt/img-a /mnt/img-b
mount /dev/vda /mnt/a
mount /dev/vdb /mnt/b
mount /dev/vdd /mnt/store
for m in /mnt/a /mnt/b; do
	for i in $(seq 1 20); do head -c 65536 /dev/urandom > "$m/file$i"; done
done

writer() {	# rewrites files on both file systems until stopped
	local n=0
	while :; do
		n=$((n + 1))
		head -c 65536 /dev/urandom > "/mnt/a/file$((n % 20 + 1))"
		head -c 65536 /dev/urandom > "/mnt/b/file$((n % 20 + 1))"
		[ $((n % 10)) = 0 ] && sync
	done
}

say "Start change tracking, then a first (full) backup snapshot"
run "$BS" attach /dev/vda
run "$BS" attach /dev/vdb
id=$(run "$BS" snapshot create --storage /mnt/store --limit 512M /dev/vda /dev/vdb)
echo "snapshot $id"
run "$BS" snapshot take "$id"
run "$BS" snapshot destroy "$id"
gen=$("$BS" --json cbtinfo /dev/vda | sed -n 's/.*"generation": *"\([^"]*\)".*/\1/p')
since=$("$BS" --json cbtinfo /dev/vda | sed -n 's/.*"changes_number": *\([0-9]*\).*/\1/p')
echo "full backup done at change number $since of generation $gen"

say "A writer keeps changing both file systems"
writer & wpid=$!
sleep 3

say "Snapshot both devices at one instant while the writer runs"
kill -STOP $wpid
sync
(cd /mnt/a && sha256sum file*) > /tmp/sums-a
(cd /mnt/b && sha256sum file*) > /tmp/sums-b
id=$(run "$BS" snapshot create --storage /mnt/store --limit 512M /dev/vda /dev/vdb)
run "$BS" snapshot take "$id"
kill -CONT $wpid
sleep 3
echo "writer still running; $(grep -c . /tmp/sums-a) + $(grep -c . /tmp/sums-b) files checksummed at the snapshot instant"
run "$BS" snapshot info /dev/vda
run "$BS" snapshot info /dev/vdb

say "Back up from the images: mount them and verify every file"
img_a=$("$BS" --json snapshot info /dev/vda | sed -n 's/.*"image": *"\([^"]*\)".*/\1/p')
img_b=$("$BS" --json snapshot info /dev/vdb | sed -n 's/.*"image": *"\([^"]*\)".*/\1/p')
run mount -t ext4 -o ro "$img_a" /mnt/img-a
run mount -t xfs -o ro,norecovery,nouuid "$img_b" /mnt/img-b
(cd /mnt/img-a && sha256sum --quiet -c /tmp/sums-a) && echo "ext4 image: all files match the snapshot instant"
(cd /mnt/img-b && sha256sum --quiet -c /tmp/sums-b) && echo "xfs image:  all files match the snapshot instant"
changed=$( (cd /mnt/a && sha256sum --quiet -c /tmp/sums-a 2>/dev/null) | grep -c FAILED || true)
echo "meanwhile $changed files of the live ext4 file system have changed"

say "Incremental backup: what changed on vda since the full backup"
run "$BS" changes /dev/vda --since "$since" --generation "$gen" | head -n 15
run "$BS" --json changes /dev/vda --since "$since" --generation "$gen" | head -c 300; echo

say "Clean up"
kill $wpid; wait $wpid 2>/dev/null || true
umount /mnt/img-a /mnt/img-b
run "$BS" snapshot destroy "$id"
run "$BS" detach /dev/vda
run "$BS" detach /dev/vdb
umount /mnt/a /mnt/b /mnt/store
run rmmod blksnap
say "Done: a consistent, coherent two-device backup and its incremental change list"
