#!/bin/bash
# I/O errors of the difference storage corrupt only the snapshot.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
cleanup() { blksnap_cleanup; dmsetup remove -f bsflaky 2>/dev/null; true; }
trap cleanup EXIT

load_blksnap
S=$(blockdev --getsz /dev/vdc)
dmsetup create bsflaky --table "0 $S linear /dev/vdc 0" || fail dmsetup
bs stamp /dev/vdb A 0 1024
bs attach /dev/vdb
id=$(snap_take /dev/mapper/bsflaky 0 /dev/vdb) || exit 1
img=$(image /dev/vdb)
bs stamp /dev/vdb B 0 64
bs verify "$img" A 0 1024 || fail "image before the failure"
# From now on every write to the storage fails.
dmsetup suspend bsflaky && dmsetup reload bsflaky --table "0 $S flakey /dev/vdc 0 0 1 1 error_writes" \
	&& dmsetup resume bsflaky || fail "dm-flakey"
bs stamp /dev/vdb B 500 64
sync
out=$(bs wait "$id" 30000 2>/dev/null)
case "$out" in "code=0 dev=$(devnum /dev/vdb) err=-"*) ;; *) fail "event: $out" ;; esac
if dd if="$img" of=/dev/null bs=4096 count=1 iflag=direct status=none 2>/dev/null; then
	fail "image read succeeded"
fi
bs verify /dev/vdb B 0 64 || fail "original 0+64"
bs verify /dev/vdb A 64 436 || fail "original 64+436"
bs verify /dev/vdb B 500 64 || fail "original 500+64"
bs destroy "$id"
bs detach /dev/vdb
exit 0
