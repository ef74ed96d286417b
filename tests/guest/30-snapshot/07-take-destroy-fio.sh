#!/bin/bash
# Take/destroy loop while fio writes to the original and reads the images.
. "$SRC/tests/guest/20-cbt/bs-lib.sh"
need_blkfilter
cleanup() { kill $fiopid 2>/dev/null; wait 2>/dev/null; bs_cleanup; true; }
trap cleanup EXIT
fiopid=

load_blksnap
bs attach /dev/vdb
fio --name=w --filename=/dev/vdb --rw=randwrite --bs=4k --size=64M --direct=1 \
	--time_based --runtime=600 --ioengine=psync --output=fio.log &
fiopid=$!
sleep 2
for i in $(seq 1 10); do
	id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
	dd if="$(image /dev/vdb)" of=/dev/null bs=64k count=256 iflag=direct status=none \
		|| fail "image read in round $i"
	bs destroy "$id"
done
kill -0 $fiopid 2>/dev/null || { cat fio.log; fail "fio died"; }
kill -INT $fiopid; wait $fiopid
fiopid=
grep -q "err= 0" fio.log || { cat fio.log; fail "fio reported errors"; }
expect_eq "$(cbt /dev/vdb changes)" 10 "changes after 10 takes"
bs detach /dev/vdb
exit 0
