#!/bin/bash
# Module load/unload, VERSION, parameters visible and absurd ones corrected.
. "$SRC/tests/lib/bsctl.sh"
trap blksnap_cleanup EXIT
P=/sys/module/blksnap/parameters

load_blksnap
expect_eq "$(bs version)" "2.0.0.0" "version"
for p in tracking_block_minimum_shift:16 tracking_block_maximum_count:2097152 \
	tracking_block_maximum_shift:26 chunk_minimum_shift:18 \
	chunk_maximum_count_shift:40 chunk_maximum_shift:26 \
	chunk_maximum_in_queue:16 free_diff_buffer_pool_size:128 \
	diff_storage_minimum:2097152; do
	expect_eq "$(cat "$P/${p%%:*}")" "${p#*:}" "default of ${p%%:*}"
done
# The filter backend: on our kernel the module uses its block-device
# filters, says so, and refuses the filter commands of the control device
# (meant for kernels without them) once it has read the argument. On a
# stock kernel it brings its own hook (ftrace), and the control device
# carries the filter commands.
backend=$(kernel_backend)
other=ftrace
[ "$backend" = ftrace ] && other=blkfilter
expect_eq "$(cat "$P/filter_backend")" "$backend" "filter_backend"
expect_fail sh -c "echo $other > $P/filter_backend" 2>/dev/null
if [ "$backend" = blkfilter ]; then
	expect_errno EOPNOTSUPP bdev-filter /dev/vdb attach
	expect_errno EOPNOTSUPP bdev-filter /dev/vdb bad
	expect_eq "$(filter_of /dev/vdb)" "" "vdb filter after BDEV_FILTER"
else
	bs bdev-filter /dev/vdb attach
	expect_eq "$(filter_of /dev/vdb)" blksnap "vdb filter after BDEV_FILTER attach"
	expect_errno EALREADY bdev-filter /dev/vdb attach
	expect_errno EINVAL bdev-filter /dev/vdb bad
	expect_errno ENOTBLK bdev-filter /dev/null attach
	bs bdev-filter /dev/vdb detach
	expect_eq "$(filter_of /dev/vdb)" "" "vdb filter after BDEV_FILTER detach"
	expect_errno ENOENT bdev-filter /dev/vdb detach
fi
rmmod blksnap || fail "rmmod"

# The backend is chosen at build time: setting it at load fails.
expect_fail insmod "$(module_ko blksnap)" filter_backend=$other 2>/dev/null
blksnap_loaded && fail "the module loaded with filter_backend=$other"

# Absurd values are corrected, with a log line each.
dmesg -C
load_module blksnap tracking_block_minimum_shift=3 tracking_block_maximum_shift=1 \
	tracking_block_maximum_count=0 chunk_minimum_shift=2 chunk_maximum_shift=99 \
	chunk_maximum_count_shift=0 chunk_maximum_in_queue=0 diff_storage_minimum=1
expect_eq "$(cat $P/tracking_block_minimum_shift)" 9 "corrected tracking_block_minimum_shift"
expect_eq "$(cat $P/tracking_block_maximum_shift)" 9 "corrected tracking_block_maximum_shift"
expect_eq "$(cat $P/tracking_block_maximum_count)" 1 "corrected tracking_block_maximum_count"
expect_eq "$(cat $P/chunk_minimum_shift)" 12 "corrected chunk_minimum_shift"
expect_eq "$(cat $P/chunk_maximum_shift)" 30 "corrected chunk_maximum_shift"
expect_eq "$(cat $P/chunk_maximum_count_shift)" 1 "corrected chunk_maximum_count_shift"
expect_eq "$(cat $P/chunk_maximum_in_queue)" 1 "corrected chunk_maximum_in_queue"
expect_eq "$(cat $P/diff_storage_minimum)" 16 "corrected diff_storage_minimum"
n=$(dmesg | grep -c 'blksnap: parameter')
[ "$n" -ge 8 ] || fail "expected a log line per corrected parameter, got $n"
expect_eq "$(bs version)" "2.0.0.0" "version with corrected parameters"
rmmod blksnap || fail "rmmod after corrections"
exit 0
