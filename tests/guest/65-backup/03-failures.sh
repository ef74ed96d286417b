#!/bin/bash
# What must fail, fails cleanly: a full destination (ENOSPC), a snapshot
# that overflows or whose difference storage fails during the copy, restore
# to a target too small, mounted or read-only, a flipped byte in the
# repository, bad arguments. Each time: a one-line message that says what
# happened, the earlier points intact, no snapshot left, and (for the
# backups) the next backup works.
. "$SRC/tests/guest/65-backup/backup-lib.sh"
backup_setup
cleanup() { dm_remove bsfail; _backup_cleanup; }
trap cleanup EXIT

make_parts /dev/vda 8 48
make_parts /dev/vdc 48 16 48
mount_repo /dev/vdd xfs
stamp /dev/vda1 S 0 2048
# vda2 holds data that does not compress into holes: 48 MiB of stamps.
stamp /dev/vda2 T 0 12288

# expect_backup_fail PATTERN ARGS...: blksnap backup ARGS exits 1 with one
# stderr line matching PATTERN; no snapshot is left behind.
expect_backup_fail() {
	local pat=$1 rc
	shift
	"$BS" backup --quiet "$@" > /tmp/out 2> /tmp/err && rc=0 || rc=$?
	[ "$rc" = 1 ] || fail "backup $*: exit $rc, expected 1 ($(cat /tmp/err))"
	grep -q -- "$pat" /tmp/err || fail "backup $*: '$(cat /tmp/err)' does not say '$pat'"
	expect_eq "$("$BS" snapshot collect)" "" "snapshots after the failed backup $*"
}
npoints() { "$BS" --json list "$1" | json_all kind | wc -l; }

# ---- the destination fills up
mkdir -p /mnt/small && mount -t tmpfs -o size=24m tmpfs /mnt/small || fail "tmpfs"
expect_ok "$BS" backup /dev/vda1 --to /mnt/small/r --storage /dev/vdc3 --quiet > /dev/null
expect_backup_fail "No space left on device" /dev/vda2 --to /mnt/small/r --storage /dev/vdc3
expect_eq "$(npoints /mnt/small/r)" 1 "points after ENOSPC"
expect_ok "$BS" verify /mnt/small/r > /dev/null
expect_eq "$(find /mnt/small/r -mindepth 1 -maxdepth 1 -name '.*')" "" "leftovers after ENOSPC"
expect_ok "$BS" backup /dev/vda1 --to /mnt/small/r --storage /dev/vdc3 --quiet > /dev/null
umount /mnt/small

# corrupted_mid_copy WHAT STORAGE LIMIT CMD...: a backup of vda2 stopped
# after its take while CMD corrupts its snapshot fails, says so, adds no
# point and leaves no snapshot; the next backup (into a good storage) is an
# increment of the last point.
corrupted_mid_copy() {
	local what=$1 storage=$2 limit=$3 before pid rc out
	shift 3
	before=$(npoints "$REPO")
	BLKSNAP_TEST_STOP=taken "$BS" backup /dev/vda2 --to "$REPO" --storage "$storage" \
		--limit "$limit" --quiet > /tmp/out 2> /tmp/err &
	pid=$!
	wait_stopped "$pid"
	"$@"
	kill -CONT "$pid"
	wait "$pid" && rc=0 || rc=$?
	expect_eq "$rc" 1 "exit status of a backup whose $what"
	grep -q "the snapshot was corrupted during the copy" /tmp/err || fail "$what: message $(cat /tmp/err)"
	expect_eq "$(npoints "$REPO")" "$before" "points after: $what"
	expect_eq "$("$BS" snapshot collect)" "" "snapshots after: $what"
}
# dm_to_error NAME SECTORS: the dm device fails every I/O from now on
dm_to_error() {
	dmsetup suspend "$1" && dmsetup reload "$1" --table "0 $2 error" && dmsetup resume "$1" ||
		fail "switching $1 to the error target"
}

# ---- the snapshot overflows during the copy: 8 MiB of writes, 1 MiB limit
expect_ok "$BS" backup /dev/vda2 --to "$REPO" --storage /mnt/repo --quiet > /dev/null
corrupted_mid_copy "snapshot overflowed" /mnt/repo 1M stamp /dev/vda2 U 0 2048
out=$("$BS" --json backup /dev/vda2 --to "$REPO" --storage /mnt/repo --quiet) || fail "backup after the overflow"
expect_eq "$(json_get kind <<< "$out")" incremental "the backup after the overflow"

# ---- the difference storage fails during the copy (dm: linear, then error)
S=$(blockdev --getsz /dev/vdc1)
dm_create bsfail "0 $S linear /dev/vdc1 0"
fail_storage() { dm_to_error bsfail "$S"; stamp /dev/vda2 V 0 256; }
corrupted_mid_copy "difference storage failed" "$DM" 40M fail_storage
dm_remove bsfail || fail "dmsetup remove"
expect_ok "$BS" backup /dev/vda2 --to "$REPO" --storage /mnt/repo --quiet > /dev/null
"$BS" verify "$REPO" > /dev/null || fail "verify after the failures"

# ---- restore refuses targets, writing nothing to any of them
stamp /dev/vdc1 R 0 256
stamp /dev/vdc2 R 0 256
expect_restore_refused() {
	local pat=$1 rc
	shift
	"$BS" restore "$REPO" "$@" > /tmp/out 2> /tmp/err && rc=0 || rc=$?
	[ "$rc" = 1 ] || fail "restore $*: exit $rc, expected 1 ($(cat /tmp/err))"
	grep -q -- "$pat" /tmp/err || fail "restore $*: '$(cat /tmp/err)' does not say '$pat'"
	verify /dev/vdc1 R 0 256
	verify /dev/vdc2 R 0 256
}
expect_restore_refused "too small" /dev/vda2=/dev/vdc1 /dev/vda2=/dev/vdc2
mkfs.ext4 -q -F /dev/vdc3 && mount /dev/vdc3 /mnt/chk || fail "mounting vdc3"
expect_restore_refused "mounted or in use" /dev/vda2=/dev/vdc1 /dev/vda2=/dev/vdc3
umount /mnt/chk
blockdev --setro /dev/vdc3 || fail "setro"
expect_restore_refused "read-only" /dev/vda2=/dev/vdc1 /dev/vda2=/dev/vdc3
blockdev --setrw /dev/vdc3
expect_restore_refused "no device 'vdz'" vdz=/dev/vdc1
expect_restore_refused "no point 00000099" --point 00000099 /dev/vda2=/dev/vdc1

# ---- a flipped byte in the newest point: verify and restore name it
last=$("$BS" --json list "$REPO" | json_all id | tail -n 1)
img=$(ls "$REPO/$last"/*.img)
off=$((3 * 65536 + 100))
printf '\x5a' | dd of="$img" bs=1 seek=$off conv=notrunc status=none || fail "flipping a byte"
"$BS" verify "$REPO" --point "$last" > /tmp/verify.out && fail "verify missed the flipped byte"
grep -q "point $last, device /dev/vda2: 1 block(s) do not match their checksum, the first is block 3 (byte 196608)" /tmp/verify.out ||
	fail "verify's verdict: $(cat /tmp/verify.out)"
"$BS" --json verify "$REPO" | grep -q '"good":false' || fail "verify --json has no bad verdict"
expect_restore_refused "point $last, device /dev/vda2: block 3 (byte 196608) does not match its checksum" /dev/vda2=/dev/vdc3
# The earlier points are unaffected.
"$BS" verify "$REPO" --point 00000001 > /dev/null || fail "verify of point 1 after the flip"

# ---- progress: JSON lines with --json; nothing when stderr is not a terminal
"$BS" --json backup /dev/vda1 --to "$REPO" > /tmp/out 2> /tmp/err || fail "backup with progress: $(cat /tmp/err)"
grep -v '^{"event":"\(progress\|note\)"' /tmp/err && fail "stderr of --json backup has lines that are not JSON events"
grep -q '^{"event":"progress","device":"/dev/vda1","done":8388608,"total":8388608,' /tmp/err ||
	fail "no final progress line: $(tail -n 2 /tmp/err)"
"$BS" backup /dev/vda1 --to "$REPO" > /tmp/out 2> /tmp/err || fail "backup: $(cat /tmp/err)"
expect_eq "$(cat /tmp/err)" "" "stderr of a backup that is not on a terminal"
grep -q "^point [0-9]* (incremental of [0-9]*): /dev/vda1 changes (" /tmp/out || fail "backup's line: $(cat /tmp/out)"

# ---- bad arguments: usage errors (status 2), nothing done
for args in "backup /dev/vda1" "backup --to $REPO" "backup /dev/vda1 /dev/vda1 --to $REPO" \
	"backup /dev/vda1 --to $REPO --block-size 3000" "restore $REPO" "restore $REPO vda1" \
	"prune $REPO" "prune $REPO --keep 0" "verify" "list"; do
	# shellcheck disable=SC2086
	"$BS" $args > /dev/null 2>&1 && rc=0 || rc=$?
	expect_eq "$rc" 2 "exit status of 'blksnap $args'"
done
expect_eq "$("$BS" snapshot collect)" "" "snapshots at the end"
