#!/bin/bash
# Devices with an integrity or inline-encryption profile can be tracked
# but not snapshotted (EPERM at SNAPSHOTADD), and a REQ_NOWAIT write that
# would have to wait for a copy fails with EAGAIN and changes nothing.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
# The test module specialdisk needs inline encryption, which Debian's
# kernels do not have: there, only the REQ_NOWAIT part runs.
special=(sd_integrity sd_crypto)
if stock_kernel && ! compgen -G "$MODDIR/specialdisk/*.ko" >/dev/null; then
	log "stock kernel: no specialdisk for $BLKSNAP_KERNEL (no inline encryption): integrity/crypto devices not tested, REQ_NOWAIT is"
	special=()
fi
cleanup() { blksnap_cleanup; rmmod specialdisk 2>/dev/null; true; }
trap cleanup EXIT

load_blksnap
id=$(bs create /dev/vdc 0) || exit 1
if [ ${#special[@]} -gt 0 ]; then
	load_module specialdisk
	for d in "${special[@]}"; do
		[ -b /dev/$d ] || fail "no /dev/$d"
	done
	expect_eq "$(cat /sys/block/sd_integrity/integrity/tag_size 2>/dev/null)" 8 \
		"integrity profile of sd_integrity"
	[ -d /sys/block/sd_crypto/queue/crypto ] || fail "no crypto profile on sd_crypto"
	# Tracking works; a snapshot is refused and the snapshot stays usable.
	for d in "${special[@]}"; do
		bs attach /dev/$d
		[ "$(cbt /dev/$d block_count)" -gt 0 ] || fail "cbtinfo of $d"
		expect_errno EPERM add /dev/$d "$id"
	done
fi
bs stamp /dev/vdb A 0 2048
bs attach /dev/vdb
bs add /dev/vdb "$id"
bs take "$id"
bs verify "$(image /dev/vdb)" A 0 2048 || fail "image next to refused devices"

# REQ_NOWAIT: chunk 0 (256 KiB) is not copied yet, so the write would wait.
expect_errno EAGAIN nowait-write /dev/vdb 0 4096
bs verify /dev/vdb A 0 2048 || fail "original changed by a refused write"
# Once the chunk is preserved, a NOWAIT write goes straight through.
bs stamp /dev/vdb B 0 8
bs nowait-write /dev/vdb 4096 4096
cmp <(dd if=/dev/vdb bs=4096 skip=1 count=1 iflag=direct status=none) \
	<(head -c 4096 /dev/zero | tr '\0' '\132') || fail "NOWAIT write into a preserved chunk"
bs verify "$(image /dev/vdb)" A 0 2048 || fail "image after NOWAIT writes"
bs destroy "$id"
for d in "${special[@]}" vdb; do bs detach /dev/$d; done
[ ${#special[@]} = 0 ] || rmmod specialdisk || fail "rmmod specialdisk"
exit 0
