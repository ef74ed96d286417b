#!/bin/bash
# Attach and detach repeatedly (alternately counting and postponing writes)
# while ext4 on the device is under write load: no hang, no splat, the file
# system stays writable, the data is intact and fsck finds it clean. Also
# attach/detach while user space has frozen the file system.
. "$(dirname "$0")/common.sh"
dev=/dev/vdd
mnt=/mnt/bf-load
stop=/tmp/bf-load.stop
loadpid=
cleanup() {
	touch $stop
	[ -n "$loadpid" ] && wait $loadpid 2>/dev/null
	fsfreeze -u $mnt 2>/dev/null
	detach_quiet $dev
	umount $mnt 2>/dev/null
	set_param mode 0
	unload_module $TF_MOD
	rm -f $stop /tmp/bf-load.src
}
trap cleanup EXIT
tf_load

mkfs.ext4 -q -F $dev 512M || fail "mkfs.ext4"
mkdir -p $mnt
mount -t ext4 $dev $mnt || fail "mount"
head -c 1M /dev/urandom > /tmp/bf-load.src

# Writer: copies of the source file, some synced, the oldest removed.
rm -f $stop
(
	i=0
	while [ ! -e $stop ]; do
		cp /tmp/bf-load.src $mnt/f$i || exit 1
		[ $((i % 4)) = 0 ] && sync $mnt/f$i
		[ $i -ge 16 ] && rm -f $mnt/f$((i - 16))
		i=$((i + 1))
	done
	exit 0
) &
loadpid=$!

for round in 1 2 3 4 5 6; do
	echo $((round % 2)) > /sys/module/$TF_MOD/parameters/mode
	timeout 120 "$BF" attach $dev testfilter >/dev/null || fail "attach, round $round"
	sleep 0.5
	timeout 120 "$BF" detach $dev testfilter >/dev/null || fail "detach, round $round"
	kill -0 $loadpid 2>/dev/null || fail "the writer stopped"
done
echo 0 > /sys/module/$TF_MOD/parameters/mode

touch $stop
wait $loadpid || fail "the writer failed"
loadpid=
expect_eq "$(tf_refcnt)" 0 "refcnt after the loop"

# The file system is not left frozen.
timeout 60 touch $mnt/after || fail "the file system is still frozen"

# Frozen by user space: attach and detach do not thaw it.
fsfreeze -f $mnt || fail "fsfreeze -f"
timeout 120 "$BF" attach $dev testfilter >/dev/null || fail "attach while frozen"
timeout 120 "$BF" detach $dev testfilter >/dev/null || fail "detach while frozen"
touch $mnt/frozen &
tpid=$!
sleep 3
kill -0 $tpid 2>/dev/null || fail "the file system was thawed by the filter"
fsfreeze -u $mnt || fail "fsfreeze -u"
wait $tpid || fail "touch after thaw"
timeout 60 touch $mnt/after2 || fail "the file system is still frozen"

for f in $mnt/f[0-9]*; do
	cmp -s /tmp/bf-load.src "$f" || fail "content of $f differs from its source"
done
umount $mnt || fail "umount"
e2fsck -fn $dev >/tmp/fsck.out 2>&1 || { cat /tmp/fsck.out; fail "e2fsck"; }
exit 0
