#!/bin/bash
# Full cycle with the tool: create (two devices, block-device difference
# storage), take, read the images while the originals change, destroy.
. "$SRC/tests/guest/60-tool/tool-lib.sh"
tool_setup

stamp /dev/vda A 0 256
stamp /dev/vdb A 0 256

id=$("$BS" snapshot create --storage /dev/vdd --limit 2G /dev/vda /dev/vdb) || fail "create failed"
[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "create printed '$id'"
expect_eq "$(filter_of /dev/vda)" "blksnap" "create attached vda"
expect_eq "$("$BS" snapshot collect)" "$id" "collect lists the snapshot"
expect_eq "$("$BS" snapshot collect --json)" "{\"snapshots\":[\"$id\"]}" "collect (json)"
expect_eq "$("$BS" snapshot info /dev/vda --json | json_get image)" "" "no image before take"

expect_ok "$BS" snapshot take "$id"
for d in vda vdb; do
	img=$("$BS" snapshot info /dev/$d --json | json_get image)
	expect_eq "$img" "$(image /dev/$d)" "image name of $d"
	expect_eq "$("$BS" snapshot info /dev/$d --json | json_get error_code)" 0 "error code of $d"
	"$BS" snapshot info /dev/$d | grep -q "^image: $img\$" || fail "human info lacks the image"
	[ -b "$img" ] || fail "$img is not a block device"
	expect_eq "$(blockdev --getsize64 "$img")" "$(blockdev --getsize64 /dev/$d)" "image size of $d"
done
expect_eq "$("$BS" cbtinfo /dev/vda --json | json_get changes_number)" 1 "changes number after take"

# The originals change; the images keep the point-in-time data.
stamp /dev/vda B 0 128
stamp /dev/vdb B 64 128
verify /dev/vda B 0 128
verify "$(image /dev/vda)" A 0 256
verify "$(image /dev/vdb)" A 0 256

# Images are writable; writes go to the difference storage only.
stamp "$(image /dev/vda)" C 200 8
verify "$(image /dev/vda)" C 200 8
verify /dev/vda A 200 8

expect_ok "$BS" snapshot destroy "$id"
[ ! -e "$(image /dev/vda)" ] || fail "image still present after destroy"
expect_eq "$("$BS" snapshot collect)" "" "collect after destroy"
expect_eq "$(filter_of /dev/vda)" "blksnap" "filter stays attached after destroy"
expect_eq "$("$BS" snapshot info /dev/vda --json | json_get image)" "" "no image after destroy"
verify /dev/vda B 0 128
verify /dev/vdb B 64 128

# create --take in one go, with a difference storage directory on ext4.
mkfs.ext4 -q -F /dev/vdc || fail "mkfs failed"
mkdir -p /mnt/ds && mount /dev/vdc /mnt/ds || fail "mount failed"
id=$("$BS" snapshot create -s /mnt/ds -l 512M --take /dev/vda --json | json_get id) || fail "create --take failed"
[ -n "$id" ] || fail "create --json printed no id"
[ -b "$(image /dev/vda)" ] || fail "create --take did not take the snapshot"
expect_eq "$(find /mnt/ds -mindepth 1 -maxdepth 1 ! -name lost+found)" "" "the temporary file has no name"
expect_ok "$BS" snapshot destroy "$id"
expect_ok "$BS" detach /dev/vda
expect_ok "$BS" detach /dev/vdb
