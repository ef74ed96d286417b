#!/bin/bash
# kill -9 of a backup at each of its stages: after the snapshot is created,
# after the take, halfway through the copy, with the manifest written but
# not yet in place, before and after the commit. Each time the earlier
# points still verify, the next backup cleans up what the killed one left
# (its snapshot, its temporary point) and is itself correct; nothing is
# left behind at the end. The repository is on ext4 (no reflinks: copies).
. "$SRC/tests/guest/65-backup/backup-lib.sh"
backup_setup

make_parts /dev/vda 48
make_parts /dev/vdc 48 48
mount_repo /dev/vdd ext4
SIZE=$(blockdev --getsize64 /dev/vda1)
stamp /dev/vda1 K0 0 2048

points() { "$BS" --json list "$REPO" | json_all kind | wc -l; }

# A first point, then one killed backup per stage, each followed by a
# backup that must succeed.
expect_ok "$BS" backup /dev/vda1 --to "$REPO" --quiet > /dev/null
n=1
for stage in created taken copy manifest commit committed; do
	stamp /dev/vda1 "K$n" $((n * 100)) 50
	BLKSNAP_TEST_STOP=$stage "$BS" backup /dev/vda1 --to "$REPO" --quiet > /dev/null 2>&1 &
	pid=$!
	wait_stopped "$pid"
	kill -9 "$pid"
	wait "$pid" 2> /dev/null
	[ -n "$("$BS" snapshot collect)" ] || fail "stage $stage: the killed backup left no snapshot (expected one to clean up)"
	case $stage in committed) n=$((n + 1)) ;; esac
	expect_eq "$(points)" "$n" "points after a backup killed at stage $stage"
	"$BS" verify "$REPO" > /tmp/verify.out || fail "stage $stage: verify: $(cat /tmp/verify.out)"

	# The next backup destroys the leftover snapshot, says so, and works.
	stamp /dev/vda1 "L$n" $((n * 100 + 50)) 20
	backup_pit /tmp/next.json "/dev/vda1=/dev/vdc1" /dev/vda1 --to "$REPO" > /dev/null
	grep -q "destroyed the snapshot .* left by an interrupted backup" /tmp/next.json.err ||
		fail "stage $stage: the next backup did not say it destroyed the leftover: $(cat /tmp/next.json.err)"
	n=$((n + 1))
	expect_eq "$(points)" "$n" "points after the backup that followed stage $stage"
	expect_eq "$(json_get kind < /tmp/next.json)" incremental "the backup after stage $stage"
	"$BS" restore "$REPO" /dev/vda1=/dev/vdc2 > /dev/null || fail "restore after stage $stage"
	same_data /dev/vdc1 /dev/vdc2 "$SIZE" || fail "stage $stage: the next point differs from its snapshot"
	leftovers=$(find "$REPO" -mindepth 1 -maxdepth 1 -name '.*')
	[ -z "$leftovers" ] || fail "stage $stage: left in the repository: $leftovers"
done
"$BS" verify "$REPO" > /dev/null || fail "verify at the end"
expect_eq "$("$BS" snapshot collect)" "" "snapshots at the end"
