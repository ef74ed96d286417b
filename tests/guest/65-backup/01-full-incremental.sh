#!/bin/bash
# The backup story: ext4 on vda1 and xfs on vdb1 under a live fio workload
# (with verify) and a file tree with a checksum manifest. Full backup,
# changes, incremental, more changes, incremental, module reload (an
# automatic full copy, saying why), incremental. After each point: it is
# restored to spare partitions and compared byte for byte with the
# snapshot's images (copied while the snapshot existed), fsck'd, mounted,
# and its file tree checked; the increments read only the changed blocks.
. "$SRC/tests/guest/65-backup/backup-lib.sh"
backup_setup

# vda1/vdb1: the sources; vdc1/vdc2: the images at the instant of each
# backup; vdc3/vdc4: the restores; the repository on xfs (reflinks) on vdd.
# Small devices keep the guest's copies and compares short: mkfs.xfs makes
# one below its 300 MiB floor for new file systems when it runs under
# fstests (TEST_DIR, TEST_DEV and QA_CHECK_FS set).
make_parts /dev/vda 32
make_parts /dev/vdb 64
make_parts /dev/vdc 32 64 32 64
mount_repo /dev/vdd xfs
mkfs.ext4 -q -F /dev/vda1 || fail "mkfs.ext4"
TEST_DIR=/tmp TEST_DEV=/dev/vdb1 QA_CHECK_FS=1 mkfs.xfs -q -f /dev/vdb1 > /dev/null || fail "mkfs.xfs"
mount /dev/vda1 /mnt/a || fail "mount vda1"
mount /dev/vdb1 /mnt/b || fail "mount vdb1"

A_SIZE=$(blockdev --getsize64 /dev/vda1)
B_SIZE=$(blockdev --getsize64 /dev/vdb1)

# workload SECONDS: fio writes and verifies a file on each file system
workload() {
	local m
	for m in /mnt/a /mnt/b; do
		fio --name=live --filename="$m/fio.dat" --size=12M --rw=randwrite --bs=4k \
			--ioengine=psync --direct=1 --verify=crc32c --verify_backlog=64 --verify_state_save=0 \
			--time_based --runtime="$1" --output="/tmp/fio.$(basename "$m")" > /dev/null &
		FIO_PIDS+=("$!")
	done
}
workload_end() {
	local p
	for p in "${FIO_PIDS[@]}"; do
		wait "$p" || fail "fio failed (verify?): $(cat /tmp/fio.a /tmp/fio.b | grep -i err | head -n 3)"
	done
	FIO_PIDS=()
}
FIO_PIDS=()

# point N KIND: back up both devices under the workload, check the result
# KIND (full or incremental for both), restore, compare, fsck.
point() {
	local n=$1 kind=$2 out=/tmp/point$1.json copies id
	shift 2
	workload 6
	backup_pit "$out" "/dev/vda1=/dev/vdc1 /dev/vdb1=/dev/vdc2" /dev/vda1 /dev/vdb1 --to "$REPO" "$@"
	workload_end
	id=$(json_get point < "$out")
	expect_eq "$id" "$(printf '%08d' "$n")" "point id"
	expect_eq "$(json_get kind < "$out")" "$kind" "kind of point $id"
	copies=$(json_all copy < "$out" | tr '\n' ' ')
	expect_eq "$copies" "$kind $kind " "copies of the devices in point $id"
	"$BS" restore "$REPO" --point "$id" /dev/vda1=/dev/vdc3 /dev/vdb1=/dev/vdc4 > /dev/null ||
		fail "restore of point $id"
	same_data /dev/vdc1 /dev/vdc3 "$A_SIZE" || fail "point $id: vda1 restored differs from its snapshot"
	same_data /dev/vdc2 /dev/vdc4 "$B_SIZE" || fail "point $id: vdb1 restored differs from its snapshot"
	check_fs /dev/vdc3 ext4
	check_fs /dev/vdc4 xfs
	log "point $id ($kind): restored, equal to the snapshot, fsck clean, tree intact"
}

# increment_size ID: the bytes copied for each device of point ID must be
# the changed blocks only: no more than the changed ranges widened to whole
# 64 KiB checksum blocks, and far less than the device.
increment_size() {
	local out=/tmp/point$(( 10#$1 )).json changed ranges copied i size
	mapfile -t changed < <(json_all changed_bytes < "$out")
	mapfile -t ranges < <(json_all changed_ranges < "$out")
	mapfile -t copied < <("$BS" --json list "$REPO" | sed 's/.*"id":"'"$1"'"//; s/"id":.*//' | json_all copied_bytes)
	for i in 0 1; do
		size=$A_SIZE; [ $i = 1 ] && size=$B_SIZE
		[ -n "${copied[$i]:-}" ] || fail "list shows no copied_bytes for device $i of point $1"
		(( copied[i] >= changed[i] && copied[i] <= changed[i] + ranges[i] * 2 * 65536 )) ||
			fail "point $1 device $i copied ${copied[i]} bytes for ${changed[i]} changed in ${ranges[i]} ranges"
		(( copied[i] < size / 2 )) || fail "point $1 device $i: an increment copied ${copied[i]} of $size bytes"
	done
}

make_tree /mnt/a A 40
make_tree /mnt/b A 40
point 1 full
expect_eq "$(json_all reason < /tmp/point1.json | head -n 1)" "the repository has no point yet" "why point 1 is full"

make_tree /mnt/a B 60
dd if=/dev/urandom of=/mnt/b/big bs=1M count=6 status=none && sync || fail "writing /mnt/b/big"
make_tree /mnt/b B 20
point 2 incremental
increment_size 00000002

rm -f /mnt/b/big
make_tree /mnt/a C 10
make_tree /mnt/b C 80
point 3 incremental
increment_size 00000003

# A new change-tracking generation: the next point copies everything.
umount /mnt/a && umount /mnt/b || fail "umount"
expect_ok "$BS" detach /dev/vda1
expect_ok "$BS" detach /dev/vdb1
rmmod blksnap || fail "rmmod blksnap"
load_module blksnap
mount /dev/vda1 /mnt/a && mount /dev/vdb1 /mnt/b || fail "mount again"
make_tree /mnt/a D 30
point 4 full
json_all reason < /tmp/point4.json | grep -q "change tracking restarted since point 00000003" ||
	fail "point 4 does not say why it is full: $(cat /tmp/point4.json)"

make_tree /mnt/b E 50
point 5 incremental
increment_size 00000005

# Every point verifies and is listed with its kind and parent.
"$BS" verify "$REPO" > /tmp/verify.out || fail "verify: $(cat /tmp/verify.out)"
expect_eq "$(grep -c ': good$' /tmp/verify.out)" 10 "good verdicts (5 points x 2 devices)"
"$BS" --json list "$REPO" > /tmp/list.json || fail "list"
expect_eq "$(json_all kind < /tmp/list.json | tr '\n' ' ')" "full incremental incremental full incremental " "kinds in list"
expect_eq "$(json_all clone < /tmp/list.json | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" \
	"none=4 reflink=6 " "images made by reflink on xfs"
"$BS" list "$REPO" | grep -q "^00000005  incremental 00000004" || fail "list (human): $("$BS" list "$REPO")"

# An earlier point is still whole after the later ones: restore point 2.
"$BS" restore "$REPO" --point 00000002 /dev/vda1=/dev/vdc3 > /dev/null || fail "restore of point 2"
e2fsck -fn /dev/vdc3 > /dev/null 2>&1 || fail "point 2's ext4 after later points"

# Prune keeps the newest two; they still restore.
expect_eq "$("$BS" prune "$REPO" --keep 2)" "removed 3 points" "prune"
expect_eq "$("$BS" --json list "$REPO" | json_all id | tr '\n' ' ')" "00000004 00000005 " "points after prune"
"$BS" verify "$REPO" > /dev/null || fail "verify after prune"
