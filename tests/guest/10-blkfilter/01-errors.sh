#!/bin/bash
# Every error code of the three ioctls, the module reference held while a
# filter is attached, and failed attachments that must not leak it.
. "$(dirname "$0")/common.sh"
dev=/dev/vda
cleanup() {
	set_param attach_error 0
	detach_quiet $dev
	unload_module $TF_MOD
}
trap cleanup EXIT

# No filter registered under that name.
unload_module $TF_MOD
bf_expect ENOENT attach $dev testfilter
tf_load
expect_eq "$(tf_refcnt)" 0 "refcnt after load"

bf_expect ENOENT attach $dev no-such-filter
bf_expect ENOENT attach $dev ""
bf_expect ENOENT detach $dev testfilter
bf_expect ENOENT ctl $dev testfilter 0
expect_eq "$(sysfs_filter $dev)" "" "sysfs filter before attach"

# A name must be NUL-terminated within BLKFILTER_NAME_LENGTH bytes.
bf_expect EINVAL longname $dev attach
bf_expect EINVAL longname $dev detach
bf_expect EINVAL longname $dev ctl

# Bad user pointers.
bf_expect EFAULT badptr $dev attach
bf_expect EFAULT badptr $dev detach
bf_expect EFAULT badptr $dev ctl

# Without CAP_SYS_ADMIN.
bf_expect EPERM nocap attach $dev testfilter
expect_eq "$(tf_refcnt)" 0 "refcnt after failed attaches"

bf_expect OK attach $dev testfilter
expect_eq "$(sysfs_filter $dev)" testfilter "sysfs filter after attach"
expect_eq "$(tf_refcnt)" 1 "refcnt while attached"
bf_expect EALREADY attach $dev testfilter
bf_expect EBUSY attach $dev testfilter2
bf_expect EINVAL detach $dev testfilter2
bf_expect ENOENT ctl $dev testfilter2 0
bf_expect ENOTTY ctl $dev testfilter 99
bf_expect EPERM nocap detach $dev testfilter
bf_expect EPERM nocap ctl $dev testfilter 0
bf_expect EPERM nocap counters $dev
expect_eq "$(sysfs_filter $dev)" testfilter "sysfs filter after refused detach"
expect_eq "$(tf_refcnt)" 1 "refcnt after failed operations"

# ctl: bad option buffer, optlen not writable, optlen copied back.
bf_expect EFAULT badptr $dev ctlopt
bf_expect EFAULT badptr $dev ctllen
size=$("$BF" optlen $dev 1000 | sed -n 's/^optlen=//p')
expect_eq "$("$BF" optlen $dev 1000 | head -n 1)" OK "GET with a large buffer"
expect_eq "$size" 112 "optlen returned by GET"
expect_eq "$("$BF" optlen $dev 8 | head -n 1)" ENOSPC "GET with a small buffer"
expect_eq "$("$BF" optlen $dev 8 | sed -n 's/^optlen=//p')" 112 "optlen needed"
bf_expect OK ctl $dev testfilter 1
bf_expect EINVAL ctl $dev testfilter 2 0x100

# The module cannot go while attached.
expect_fail rmmod $TF_MOD
grep -q "^$TF_MOD " /proc/modules || fail "module unloaded while attached"

bf_expect OK detach $dev testfilter
expect_eq "$(sysfs_filter $dev)" "" "sysfs filter after detach"
expect_eq "$(tf_refcnt)" 0 "refcnt after detach"
bf_expect ENOENT detach $dev testfilter

# A filter without a ctl callback.
bf_expect OK attach $dev testfilter2
expect_eq "$(sysfs_filter $dev)" testfilter2 "sysfs filter testfilter2"
bf_expect ENOTTY ctl $dev testfilter2 0
bf_expect ENOENT ctl $dev testfilter 0
bf_expect EBUSY attach $dev testfilter
bf_expect OK detach $dev testfilter2

# The filter's attach callback fails: nothing attached, no reference kept.
echo 5 > /sys/module/$TF_MOD/parameters/attach_error
bf_expect EIO attach $dev testfilter
echo 0 > /sys/module/$TF_MOD/parameters/attach_error
expect_eq "$(sysfs_filter $dev)" "" "sysfs filter after failed attach"
expect_eq "$(tf_refcnt)" 0 "refcnt after failed attach"

# Attach and detach work again, and the module unloads.
bf_expect OK attach $dev testfilter
bf_expect OK detach $dev testfilter
expect_ok rmmod $TF_MOD
bf_expect ENOENT attach $dev testfilter
exit 0
