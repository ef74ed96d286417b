# blksnap: block-device filtering, changed-block tracking and snapshots.
#
#   make demo      set up everything and run the demonstration in the VM
#   make check     set up everything and run every test (host + VM)
#   make check-stock   the kernel suites on Debian's own 6.1 and 6.12
#                  kernels with the module built by DKMS (docs/testing.md)
#
# Other targets: deps, build, kernel, modules, user, initramfs, vm-shell,
# vm-run SCRIPT=path [ARGS=...], soak DURATION=seconds [SEED=n], bench,
# bench-stock (its stock-kernel part alone), bench-kernel, checkpatch,
# deb (Debian packages, docs/packaging.md), stock-kernels (Debian's own 6.1 and 6.12 kernels for the VM,
# vm/run.sh --kernel stock-6.1|stock-6.12), clean.
# All outputs go to build/ (ignored by git).

TOP   := $(CURDIR)
BUILD := $(TOP)/build
SHELL := /bin/bash

# Debian packages the build, the VM and the tests need.
DEB_PACKAGES := linux-source-6.12 build-essential bc bison flex libelf-dev \
	libssl-dev dwarves cpio xz-utils rsync file kmod qemu-system-x86 \
	busybox-static util-linux mount fdisk e2fsprogs xfsprogs fio dmsetup \
	procps psmisc gawk diffutils findutils bsdextrautils libcap2-bin strace \
	uuid-dev libjson-c-dev libxxhash-dev pkg-config gnuplot-nox python3-ply python3-git
DEPS_STAMP := $(BUILD)/.deps-$(shell echo $(DEB_PACKAGES) | sha1sum | cut -c1-12)

# Debian packages `make deb` needs (and only it): the build of lib/ and
# tools/, debhelper with the DKMS sequence, lintian.
PACKAGING_PACKAGES := build-essential dpkg-dev debhelper dh-dkms dkms lintian rsync \
	uuid-dev libjson-c-dev libxxhash-dev pkg-config
PACKAGING_DEPS_STAMP := $(BUILD)/.deps-deb-$(shell echo $(PACKAGING_PACKAGES) | sha1sum | cut -c1-12)

# Install the Debian packages of list $(1) that are missing, then touch $@.
define install-packages
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "[deps] installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@mkdir -p $(BUILD) && touch $@
endef

GUEST_C := $(wildcard tests/guest/*/*.c)
GUEST_BINS := $(patsubst tests/guest/%.c,$(BUILD)/tests/%,$(GUEST_C))
# Static: the guest's dynamic loader costs a tenth of a second per exec under
# emulation with KASAN, and tests run these helpers hundreds of times.
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(TOP)/include -I$(TOP)/include/uapi

.PHONY: all deps build kernel modules user guest-helpers initramfs check demo \
	vm-shell vm-run soak bench bench-stock bench-kernel checkpatch deb stock-kernels \
	check-stock clean

all: build

deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	$(call install-packages,$(DEB_PACKAGES))

$(PACKAGING_DEPS_STAMP):
	$(call install-packages,$(PACKAGING_PACKAGES))

kernel: deps
	@bash vm/build-kernel.sh debug

modules: kernel
	@bash vm/build-modules.sh debug

user: deps
	@if [ -f lib/Makefile ]; then $(MAKE) -s -C lib BUILD=$(BUILD); fi
	@if [ -f tools/Makefile ]; then $(MAKE) -s -C tools BUILD=$(BUILD); fi

guest-helpers: user $(GUEST_BINS)
$(BUILD)/tests/%: tests/guest/%.c $(wildcard include/uapi/linux/*.h include/blksnap/*.h tests/guest/*.h tests/guest/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -static -o $@ $< -L$(BUILD)/user/lib \
		$(if $(wildcard $(BUILD)/user/lib/libblksnap.a),-lblksnap) -luuid -lpthread

# C helpers that include another helper's source
$(BUILD)/tests/70-reliability/faults: tests/guest/70-reliability/integrity.c
$(BUILD)/tests/30-snapshot/bsctl: tests/guest/20-cbt/bsctl.c

initramfs: deps $(BUILD)/vm/initramfs.cpio
$(BUILD)/vm/initramfs.cpio: vm/build-initramfs.sh vm/init
	@mkdir -p $(@D)
	@bash vm/build-initramfs.sh $@

build: kernel modules user guest-helpers initramfs stock-modules-6.1

# The packaging test (DKMS) needs the packages; a run of chosen SUITES only
# when it names `packaging` or a stock-kernel suite.
check: build $(if $(SUITES),$(if $(filter packaging 80-stock,$(SUITES)),deb),deb)
	@bash vm/check.sh $(SUITES)

# Every kernel suite that applies on Debian's unmodified kernels, on both.
STOCK_SUITES := packaging 20-cbt 30-snapshot 60-tool 70-reliability 80-stock
check-stock: build stock-modules-6.12 deb
	@CHECK_RESULTS=$(BUILD)/check-stock bash vm/check.sh --kernel stock-6.1 \
		--kernel stock-6.12 $(or $(SUITES),$(STOCK_SUITES))

# The reliability suite for DURATION seconds in all (default one hour).
soak: build
	@bash vm/soak.sh $(or $(DURATION),3600) $(SEED)

demo: build
	@bash vm/run.sh --name demo demo/demo.sh

vm-shell: build
	@bash vm/run.sh --shell

vm-run: build
	@test -n "$(SCRIPT)" || { echo "usage: make vm-run SCRIPT=path [ARGS='...']"; exit 2; }
	@bash vm/run.sh $(SCRIPT) $(ARGS)

bench-kernel: deps
	@bash vm/build-kernel.sh bench
	@bash vm/build-modules.sh bench

# Our bench kernel (every case); then the CPU-bound cases of a few percent
# on the instruction clock (bench/run.sh --icount), on our kernel and on
# Debian's unmodified 6.1 with the module's own filter hook: one VM boot each.
ICOUNT_BENCH := cases="P1 P2 P3" reps=2 runtime=1
STOCK_BENCH := --icount cases=P1 reps=2 runtime=1
bench: bench-kernel user initramfs stock-modules-6.1
	@bash bench/run.sh
	@bash bench/run.sh --icount $(ICOUNT_BENCH)
	@bash bench/run.sh --kernel stock-6.1 $(STOCK_BENCH)

# The stock-kernel part alone.
bench-stock: user initramfs stock-modules-6.1
	@bash bench/run.sh --kernel stock-6.1 $(STOCK_BENCH)

# Debian's unmodified kernels, downloaded and extracted (not installed)
# into build/stock/ with an initramfs for each (vm/stock-kernel.sh).
stock-kernels: deps initramfs
	@bash vm/stock-kernel.sh 6.1
	@bash vm/stock-kernel.sh 6.12

# One of them, and our modules built against its headers.
stock-modules-%: deps initramfs
	@bash vm/stock-kernel.sh $*
	@bash vm/build-modules.sh stock-$*

checkpatch: kernel
	@bash vm/checkpatch.sh

# Debian packages blksnap-dkms, libblksnap1, libblksnap-dev, blksnap in
# build/deb/, checked by lintian (docs/packaging.md). Always rebuilt.
deb: $(PACKAGING_DEPS_STAMP)
	@bash packaging/build-deb.sh

clean:
	rm -rf $(BUILD)
