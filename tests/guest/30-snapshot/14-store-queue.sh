#!/bin/bash
# One chunk at most waiting in memory (chunk_maximum_in_queue=1), so nearly
# every copy waits for the store worker to make room. A chunk's lock is
# shared with every 64th chunk: 64 writes at once into chunks 0, 64, 128...
# (one lock) make copies wait for room while the store worker needs that
# lock for the chunk before; the copy must not hold it while it waits.
# Then 4 KiB random writes at queue depth 16 over 256 chunks. Every
# write must complete, and the image keep the data of the take.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
command -v fio >/dev/null || skip "no fio in the guest"
trap blksnap_cleanup EXIT

CHUNK_BLOCKS=64		# 256 KiB chunks of 4 KiB blocks
STRIDE=$((64 * CHUNK_BLOCKS))	# 16 MiB: the next chunk with the same lock
ranges=()
for k in $(seq 0 63); do
	ranges+=(A $((k * STRIDE)) $CHUNK_BLOCKS)
done
load_blksnap chunk_maximum_in_queue=1
bs stamp /dev/vdb "${ranges[@]}"
bs attach /dev/vdb
id=$(snap_take /dev/vdc 0 /dev/vdb) || exit 1
timeout 300 fio --name=onelock --filename=/dev/vdb --thread --numjobs=64 \
	--offset_increment=16M --size=4k --bs=4k --rw=write --ioengine=psync \
	--direct=1 --output=/dev/null || fail "fio: writes into one lock's chunks did not complete (rc $?)"
timeout 300 fio --name=random --filename=/dev/vdb --size=64M \
	--rw=randwrite --bs=4k --iodepth=16 --ioengine=libaio --direct=1 \
	--number_ios=2048 --randrepeat=0 --output=/dev/null ||
	fail "fio: random writes did not complete (rc $?)"
info=$(bs info /dev/vdb) || exit 1
[[ $info == "error=0 "* ]] || fail "snapshot after the writes: $info"
bs verify "$(image /dev/vdb)" "${ranges[@]}" || fail "image after the writes"
bs destroy "$id"
bs detach /dev/vdb
