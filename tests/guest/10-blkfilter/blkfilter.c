// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper: issue the block device filter ioctls and print the outcome.
 *
 *   blkfilter attach DEV NAME          BLKFILTER_ATTACH
 *   blkfilter detach DEV NAME          BLKFILTER_DETACH
 *   blkfilter ctl DEV NAME CMD [U32]   BLKFILTER_CTL, optional __u32 option
 *   blkfilter counters DEV [NAME]      testfilter counters, "key=value" lines
 *   blkfilter reset DEV                zero the testfilter counters
 *   blkfilter mode DEV MODE            set the testfilter mode
 *   blkfilter longname DEV OP          OP (attach|detach|ctl) with a name
 *                                      that fills all 32 bytes
 *   blkfilter badptr DEV OP            OP (attach|detach|ctl|ctlopt|ctllen)
 *                                      with a bad user pointer
 *   blkfilter optlen DEV LEN           testfilter GET with optlen LEN: prints
 *                                      the result and the optlen returned
 *   blkfilter nocap SUBCOMMAND...      the same without CAP_SYS_ADMIN
 *   blkfilter looprm N                 LOOP_CTL_REMOVE of /dev/loopN
 *
 * The first line printed is "OK" or the errno name (ENOENT, ...); the exit
 * status is 0 if the ioctl succeeded, 1 if it failed, 2 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/blk-filter.h>	/* and the BLKFILTER_* ioctl numbers */

#include "../../modules/testfilter/testfilter.h"

static int usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of blkfilter.c\n");
	return 2;
}

/* Print the outcome of an ioctl; returns the exit status. */
static int report(int ret)
{
	if (ret == 0) {
		printf("OK\n");
		return 0;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	return 1;
}

static int open_dev(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "blkfilter: cannot open %s: %s\n", path,
			strerror(errno));
		exit(2);
	}
	return fd;
}

static void set_name(__u8 *dst, const char *name)
{
	memset(dst, 0, BLKFILTER_NAME_LENGTH);
	strncpy((char *)dst, name, BLKFILTER_NAME_LENGTH - 1);
}

static int do_ctl(int fd, const char *name, __u32 cmd, void *opt, __u32 *len)
{
	struct blkfilter_ctl ctl;
	int ret;

	set_name(ctl.name, name);
	ctl.cmd = cmd;
	ctl.optlen = *len;
	ctl.opt = (uintptr_t)opt;
	ret = ioctl(fd, BLKFILTER_CTL, &ctl);
	*len = ctl.optlen;
	return ret;
}

static int cmd_name_op(int fd, unsigned long req, const char *name)
{
	struct blkfilter_name arg;

	set_name(arg.name, name);
	return report(ioctl(fd, req, &arg));
}

static int cmd_counters(int fd, const char *name)
{
	struct testfilter_counters c;
	__u32 len = sizeof(c);
	int ret;

	memset(&c, 0, sizeof(c));
	ret = do_ctl(fd, name, TESTFILTER_CTL_GET, &c, &len);
	if (ret) {
		return report(ret);
	}
	printf("OK\n");
	printf("read_bios=%" PRIu64 "\n", (uint64_t)c.bios[TESTFILTER_READ]);
	printf("write_bios=%" PRIu64 "\n", (uint64_t)c.bios[TESTFILTER_WRITE]);
	printf("other_bios=%" PRIu64 "\n", (uint64_t)c.bios[TESTFILTER_OTHER]);
	printf("read_sectors=%" PRIu64 "\n", (uint64_t)c.sectors[TESTFILTER_READ]);
	printf("write_sectors=%" PRIu64 "\n", (uint64_t)c.sectors[TESTFILTER_WRITE]);
	printf("other_sectors=%" PRIu64 "\n", (uint64_t)c.sectors[TESTFILTER_OTHER]);
	printf("postponed=%" PRIu64 "\n", (uint64_t)c.postponed);
	printf("resubmitted=%" PRIu64 "\n", (uint64_t)c.resubmitted);
	printf("own_submitted=%" PRIu64 "\n", (uint64_t)c.own_submitted);
	printf("own_completed=%" PRIu64 "\n", (uint64_t)c.own_completed);
	printf("own_errors=%" PRIu64 "\n", (uint64_t)c.own_errors);
	printf("own_seen=%" PRIu64 "\n", (uint64_t)c.own_seen);
	printf("bad_context=%" PRIu64 "\n", (uint64_t)c.bad_context);
	printf("mode=%" PRIu64 "\n", (uint64_t)c.mode);
	printf("optlen=%" PRIu32 "\n", len);
	return 0;
}

static int cmd_longname(int fd, const char *op)
{
	struct blkfilter_name arg;
	struct blkfilter_ctl ctl;

	memset(arg.name, 'x', sizeof(arg.name));
	if (!strcmp(op, "attach"))
		return report(ioctl(fd, BLKFILTER_ATTACH, &arg));
	if (!strcmp(op, "detach"))
		return report(ioctl(fd, BLKFILTER_DETACH, &arg));
	if (!strcmp(op, "ctl")) {
		memset(&ctl, 0, sizeof(ctl));
		memset(ctl.name, 'x', sizeof(ctl.name));
		return report(ioctl(fd, BLKFILTER_CTL, &ctl));
	}
	return usage();
}

static int cmd_badptr(int fd, const char *op)
{
	/* An address that is never mapped: the first page. */
	void *bad = (void *)(uintptr_t)16;
	struct blkfilter_ctl *ctl;
	struct testfilter_counters c;
	__u32 len = sizeof(c);
	void *ro;

	if (!strcmp(op, "attach"))
		return report(ioctl(fd, BLKFILTER_ATTACH, bad));
	if (!strcmp(op, "detach"))
		return report(ioctl(fd, BLKFILTER_DETACH, bad));
	if (!strcmp(op, "ctl"))
		return report(ioctl(fd, BLKFILTER_CTL, bad));
	if (!strcmp(op, "ctlopt"))	/* the filter copies to a bad address */
		return report(do_ctl(fd, TESTFILTER_NAME, TESTFILTER_CTL_GET,
				     bad, &len));
	if (!strcmp(op, "ctllen")) {
		/* The argument is readable but not writable: optlen cannot
		 * be copied back. */
		ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ro == MAP_FAILED)
			return 2;
		ctl = ro;
		set_name(ctl->name, TESTFILTER_NAME);
		ctl->cmd = TESTFILTER_CTL_GET;
		ctl->optlen = sizeof(c);
		ctl->opt = (uintptr_t)&c;
		if (mprotect(ro, 4096, PROT_READ))
			return 2;
		return report(ioctl(fd, BLKFILTER_CTL, ctl));
	}
	return usage();
}

static int cmd_optlen(int fd, __u32 len)
{
	struct testfilter_counters c[2];
	int ret, rc;

	ret = do_ctl(fd, TESTFILTER_NAME, TESTFILTER_CTL_GET, c, &len);
	rc = report(ret);
	printf("optlen=%" PRIu32 "\n", len);
	return rc;
}

/* Drop CAP_SYS_ADMIN from the effective set. */
static void drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data)) {
		perror("capget");
		exit(2);
	}
	data[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
	if (syscall(SYS_capset, &hdr, data)) {
		perror("capset");
		exit(2);
	}
}

static int cmd_looprm(const char *n)
{
	int fd = open("/dev/loop-control", O_RDWR);

	if (fd < 0) {
		perror("/dev/loop-control");
		return 2;
	}
	return report(ioctl(fd, LOOP_CTL_REMOVE, atoi(n)) < 0 ? -1 : 0);
}

static int run(int argc, char **argv)
{
	__u32 val, len;
	int fd;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "nocap")) {
		drop_sys_admin();
		return run(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "looprm") && argc == 3)
		return cmd_looprm(argv[2]);
	if (argc < 3)
		return usage();
	fd = open_dev(argv[2]);

	if (!strcmp(argv[1], "attach") && argc == 4)
		return cmd_name_op(fd, BLKFILTER_ATTACH, argv[3]);
	if (!strcmp(argv[1], "detach") && argc == 4)
		return cmd_name_op(fd, BLKFILTER_DETACH, argv[3]);
	if (!strcmp(argv[1], "ctl") && (argc == 5 || argc == 6)) {
		val = argc == 6 ? strtoul(argv[5], NULL, 0) : 0;
		len = argc == 6 ? sizeof(val) : 0;
		return report(do_ctl(fd, argv[3], strtoul(argv[4], NULL, 0),
				     &val, &len));
	}
	if (!strcmp(argv[1], "counters") && (argc == 3 || argc == 4))
		return cmd_counters(fd, argc == 4 ? argv[3] : TESTFILTER_NAME);
	if (!strcmp(argv[1], "reset") && argc == 3) {
		len = 0;
		return report(do_ctl(fd, TESTFILTER_NAME, TESTFILTER_CTL_RESET,
				     NULL, &len));
	}
	if (!strcmp(argv[1], "mode") && argc == 4) {
		val = strtoul(argv[3], NULL, 0);
		len = sizeof(val);
		return report(do_ctl(fd, TESTFILTER_NAME, TESTFILTER_CTL_MODE,
				     &val, &len));
	}
	if (!strcmp(argv[1], "longname") && argc == 4)
		return cmd_longname(fd, argv[3]);
	if (!strcmp(argv[1], "badptr") && argc == 4)
		return cmd_badptr(fd, argv[3]);
	if (!strcmp(argv[1], "optlen") && argc == 4)
		return cmd_optlen(fd, strtoul(argv[3], NULL, 0));
	return usage();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run(argc, argv);
}
