#!/bin/bash
# Every error code of the snapshot lifecycle.
. "$SRC/tests/lib/bsctl.sh"
need_filter_backend
trap 'blksnap_cleanup /mnt' EXIT
Z=00000000-0000-0000-0000-000000000000

load_blksnap
bs attach /dev/vda
bs attach /dev/vdb
bs attach /dev/vdc
expect_errno ESRCH add /dev/vda $Z
expect_errno ESRCH take $Z
expect_errno ESRCH destroy $Z
expect_errno ESRCH wait $Z 0
expect_errno EINVAL create null 0
expect_errno EINVAL create /dev/null 0
expect_errno EINVAL create /tmp 0
mkfifo /tmp/fifo; expect_errno EINVAL create /tmp/fifo 0

s1=$(bs create /dev/vdd 0)
expect_errno EBUSY create /dev/vdd 0		# opened exclusively
expect_errno ENODEV take "$s1"			# no devices
bs add /dev/vda "$s1"
expect_errno EALREADY add /dev/vda "$s1"
mkdir -p /tmp/ds
s2=$(bs create /tmp/ds 65536)
expect_errno EBUSY add /dev/vda "$s2"		# in another snapshot
bs take "$s1"
expect_errno EALREADY take "$s1"
expect_errno EBUSY add /dev/vdb "$s1"		# after take
bs destroy "$s1"
expect_errno ESRCH destroy "$s1"
expect_errno ESRCH take "$s1"

# The difference storage's own device, and a file on it
s3=$(bs create /dev/vdc 0)
expect_errno EINVAL add /dev/vdc "$s3"
bs destroy "$s3"
bs detach /dev/vdc
mkfs.ext4 -q -F /dev/vdc && mount /dev/vdc /mnt || fail mount
bs attach /dev/vdc
s4=$(bs create /mnt $((64 * 2048)))
expect_errno EINVAL add /dev/vdc "$s4"
bs destroy "$s4"
umount /mnt
bs destroy "$s2"
exit 0
