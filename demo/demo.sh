#!/bin/bash
# The backup story, end to end, in the VM (run by `make demo`): two live
# file systems under a writer; a full backup of both at one instant into a
# repository, then an incremental one while the writer runs; list, verify;
# each point restored to a spare disk, mounted and checked against the
# checksums taken at its instant. Then the primitives the backup is made of.
set -euo pipefail
BS=${BINDIR:-/src/build/user/bin}/blksnap
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

say "Our kernel and module"
uname -r
cat /sys/block/vda/filter 2>/dev/null >/dev/null && echo "blkfilter: present (sysfs 'filter' attribute)"
run insmod "$MODDIR/blksnap/blksnap.ko"
run "$BS" version

say "Two live file systems (ext4 on vda, xfs on vdb); the repository on vdd"
# Partitions of a few hundred MiB keep the copies short (xfs needs 300 MiB).
printf 'label: dos\nsize=256MiB, type=83\n' | sfdisk -q /dev/vda > /dev/null
printf 'label: dos\nsize=320MiB, type=83\n' | sfdisk -q /dev/vdb > /dev/null
printf 'label: dos\nsize=256MiB, type=83\nsize=320MiB, type=83\n' | sfdisk -q /dev/vdc > /dev/null
sleep 1
mkfs.ext4 -q -F /dev/vda1
mkfs.xfs -q -f /dev/vdb1
mkfs.xfs -q -f /dev/vdd
mkdir -p /mnt/a /mnt/b /mnt/repo /mnt/check
mount /dev/vda1 /mnt/a
mount /dev/vdb1 /mnt/b
mount /dev/vdd /mnt/repo
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
sums() {	# sums TAG: checksums of both file systems' files now
	(cd /mnt/a && sha256sum file*) > "/tmp/sums-a.$1"
	(cd /mnt/b && sha256sum file*) > "/tmp/sums-b.$1"
}

say "First backup: both devices at one instant, a full copy (the filter is attached on the way)"
sync
sums 1
run "$BS" backup /dev/vda1 /dev/vdb1 --to /mnt/repo/backups

say "A writer keeps changing both file systems; the second backup runs meanwhile"
writer & wpid=$!
sleep 3
run "$BS" backup /dev/vda1 /dev/vdb1 --to /mnt/repo/backups
kill $wpid; wait $wpid 2>/dev/null || true
echo "(only the blocks that change tracking reported changed were read)"

say "The repository: two points, every block checksummed"
run "$BS" list /mnt/repo/backups
run "$BS" verify /mnt/repo/backups

say "Restore the first point to a spare disk and check its files against that instant"
run "$BS" restore /mnt/repo/backups --point 00000001 /dev/vda1=/dev/vdc1 /dev/vdb1=/dev/vdc2
mount -o ro /dev/vdc1 /mnt/check
(cd /mnt/check && sha256sum --quiet -c /tmp/sums-a.1) && echo "ext4 of point 1: all 20 files as they were"
umount /mnt/check
mount -o ro,nouuid /dev/vdc2 /mnt/check
(cd /mnt/check && sha256sum --quiet -c /tmp/sums-b.1) && echo "xfs of point 1:  all 20 files as they were"
umount /mnt/check

say "Restore the second point (taken under writes): the file systems are consistent"
run "$BS" restore /mnt/repo/backups /dev/vda1=/dev/vdc1 /dev/vdb1=/dev/vdc2
run e2fsck -fn /dev/vdc1
mount -o nouuid /dev/vdc2 /mnt/check && umount /mnt/check	# replays the xfs log
printf '$ xfs_repair -n /dev/vdc2\n' >&2
xfs_repair -n /dev/vdc2 > /dev/null 2>&1 && echo "xfs_repair -n: clean"

say "The primitives underneath: a snapshot by hand, its image, the changed ranges"
id=$(run "$BS" snapshot create --storage /mnt/repo --limit 256M --take /dev/vda1)
run "$BS" snapshot info /dev/vda1
run "$BS" cbtinfo /dev/vda1
run "$BS" snapshot destroy "$id"

say "Clean up"
run "$BS" detach /dev/vda1
run "$BS" detach /dev/vdb1
umount /mnt/a /mnt/b /mnt/repo
run rmmod blksnap
say "Done: consistent full and incremental backups of two live devices, verified and restored"
