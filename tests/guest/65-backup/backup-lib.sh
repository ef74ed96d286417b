# shellcheck shell=bash
# Helpers of the 65-backup suite (sourced, not a test: not executable):
#   . "$SRC/tests/guest/65-backup/backup-lib.sh"
# BS is the blksnap tool; the module and its cleanup come from
# tests/lib/blksnap.sh.
#
#   make_parts DEV MiB...       a new DOS label on DEV with these partitions
#   backup_setup                load the module, clean up at exit
#   mount_repo DEV [xfs|ext4]   a fresh file system on DEV at /mnt/repo;
#                               REPO=/mnt/repo/r is the repository
#   wait_stopped PID            until PID stops itself (BLKSNAP_TEST_STOP)
#   backup_pit OUT "DEV=COPY..." ARGS...
#                               blksnap backup ARGS, stopped after the take
#                               while each DEV's image is copied to COPY (the
#                               point in time, to compare restores with)
#   make_tree MNT TAG N         N files under MNT/tree and MNT/MANIFEST
#   check_fs DEV TYPE           fsck DEV, mount it, check its tree
#   same_data A B BYTES         the first BYTES (whole MiB) of A and B are equal
#   json_all KEY < JSON         every value of KEY, one a line
. "$SRC/tests/lib/blksnap.sh"

BS=${BINDIR:?}/blksnap
[ -x "$BS" ] || fail "the blksnap tool is not built ($BS)"
REPO=/mnt/repo/r

make_parts() {
	local dev=$1 s i=1
	shift
	{
		echo "label: dos"
		for s; do echo "size=${s}MiB, type=83"; done
	} | sfdisk -q -W always -w always "$dev" > /dev/null || fail "sfdisk $dev"
	for s; do
		wait_for_dev "$dev$i"
		i=$((i + 1))
	done
}

_backup_cleanup() {
	local m
	for m in /mnt/chk /mnt/a /mnt/b /mnt/repo /mnt/ds; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	blksnap_cleanup
}

backup_setup() {
	blksnap_loaded || load_module blksnap
	trap '_backup_cleanup' EXIT
	mkdir -p /mnt/chk /mnt/a /mnt/b /mnt/repo /mnt/ds
}

mount_repo() {
	local dev=$1 type=${2:-xfs}
	mountpoint -q /mnt/repo && { umount /mnt/repo || fail "umount /mnt/repo"; }
	case $type in
	xfs) mkfs.xfs -q -f "$dev" > /dev/null || fail "mkfs.xfs $dev" ;;
	ext4) mkfs.ext4 -q -F "$dev" > /dev/null || fail "mkfs.ext4 $dev" ;;
	esac
	mount "$dev" /mnt/repo || fail "mount $dev /mnt/repo"
}

wait_stopped() {
	local pid=$1 i state rest
	for ((i = 0; i < 1200; i++)); do
		read -r _ _ state rest < "/proc/$pid/stat" 2>/dev/null ||
			fail "process $pid ended before its stop"
		case $state in
		T) return 0 ;;
		Z) fail "process $pid ended before its stop" ;;
		esac
		sleep 0.1
	done
	fail "process $pid did not stop in 120 s"
}

backup_pit() {
	local out=$1 pairs=$2 pid p dev copy rc
	shift 2
	BLKSNAP_TEST_STOP=taken "$BS" --json backup --quiet "$@" > "$out" 2> "$out.err" &
	pid=$!
	wait_stopped "$pid"
	for p in $pairs; do
		dev=${p%%=*}
		copy=${p#*=}
		dd if="$(image "$dev")" of="$copy" bs=1M iflag=direct oflag=direct status=none ||
			fail "copying the image of $dev"
	done
	kill -CONT "$pid"
	wait "$pid" && rc=0 || rc=$?
	[ "$rc" = 0 ] || fail "blksnap backup $*: exit $rc: $(cat "$out.err")"
	[ "$("$BS" snapshot collect)" = "" ] || fail "a snapshot is left after the backup"
	[ ! -e "$REPO/.backup-snapshot" ] || fail "the backup left $REPO/.backup-snapshot"
}

make_tree() {
	local mnt=$1 tag=$2 n=$3
	rm -rf "$mnt/tree"
	mkdir -p "$mnt/tree" || fail "mkdir $mnt/tree"
	# One awk for all files (a process costs ~0.1 s in the guest): file
	# fI holds 1 to 3 stamped 4 KiB blocks.
	awk -v dir="$mnt/tree" -v tag="$tag" -v n="$n" 'BEGIN {
		pad = sprintf("%4096s", "")
		for (i = 0; i < n; i++) {
			f = dir "/f" i
			for (b = 0; b <= i % 3; b++) {
				s = tag "-" i " " b "\n"
				printf "%s%s", s, substr(pad, 1, 4096 - length(s)) > f
			}
			close(f)
		}
	}' || fail "writing $mnt/tree"
	(cd "$mnt/tree" && sha256sum -- * > ../MANIFEST) || fail "manifest of $mnt/tree"
	sync -f "$mnt/MANIFEST"
}

check_fs() {
	local dev=$1 type=$2
	case $type in
	ext4)
		# A frozen ext4 has its journal flushed: clean as it is.
		e2fsck -fn "$dev" > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck -fn $dev"; }
		mount -o ro "$dev" /mnt/chk || fail "mount -o ro $dev" ;;
	xfs)
		# A frozen xfs keeps its log for the mount to replay (as after
		# a crash): mount first (a copy of a mounted file system has its
		# UUID), then check.
		mount -o nouuid "$dev" /mnt/chk || fail "mount -o nouuid $dev" ;;
	esac
	(cd /mnt/chk/tree && sha256sum --quiet -c ../MANIFEST) > /tmp/manifest.out 2>&1 ||
		{ cat /tmp/manifest.out; umount /mnt/chk; fail "the file tree of $dev does not match its manifest"; }
	umount /mnt/chk || fail "umount /mnt/chk"
	if [ "$type" = xfs ]; then
		xfs_repair -n "$dev" > /tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "xfs_repair -n $dev"; }
	fi
}

same_data() {
	local n=$(($3 >> 20))
	cmp <(dd if="$1" bs=1M count="$n" iflag=direct status=none) \
		<(dd if="$2" bs=1M count="$n" iflag=direct status=none)
}

json_all() {
	grep -o "\"$1\":\(\"[^\"]*\"\|[0-9-]*\|true\|false\|null\)" | sed 's/^[^:]*://; s/"//g'
}
