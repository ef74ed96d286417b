/*
 * memcycles: memory figures for 06-memory.sh, without a process per step.
 *
 *   stat [READS [POLLS]]  settle, then print the smallest of READS samples:
 *                         slab_kib= sunreclaim_kib= vmalloc_kib=
 *                         bsv_areas= bsv_bytes= (vmallocinfo, [blksnap])
 *   touch DEV K CHUNK     write one 4 KiB block at the start of K chunks
 *
 * KASAN keeps freed slab objects in a quarantine (1/32 of RAM), counted as
 * Slab until pushed out, so a cycle that frees everything it allocated still
 * shows as growth. stat fills the quarantine with its own short-lived
 * kmalloc-4k blocks first: whatever the test freed is pushed out
 * and really freed, and the quarantine holds the same thing before and
 * after.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "../helpers.h"

static void usage(void)
{
	fprintf(stderr, "usage: memcycles stat [READS] | touch DEV K CHUNK\n");
	exit(2);
}

static unsigned long long num(const char *s)
{
	unsigned long long v;

	if (parse_ull(s, &v))
		usage();
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		fprintf(stderr, "memcycles: %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Churn through 160 MiB of kmalloc-4k objects, twice the quarantine: poll()
 * copies its array into page-sized kmalloc blocks and frees them, 8 MiB a
 * call with 1 Mi (ignored, negative) descriptors.
 */
#define POLL_FDS (1 << 20)

static void fill_quarantine(int polls)
{
	struct rlimit rl = { POLL_FDS, POLL_FDS };
	static struct pollfd fds[POLL_FDS];
	int i;

	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		perror("memcycles: setrlimit");
		exit(3);
	}
	for (i = 0; i < POLL_FDS; i++)
		fds[i].fd = -1;
	for (i = 0; i < polls; i++) {
		if (poll(fds, POLL_FDS, 0) < 0) {
			perror("memcycles: poll");
			exit(3);
		}
	}
}

struct sample {
	unsigned long long slab, sunreclaim, vmalloc, bsv_areas, bsv_bytes;
};

static void meminfo(struct sample *s)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f) {
		perror("memcycles: /proc/meminfo");
		exit(3);
	}
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Slab: %llu", &s->slab);
		sscanf(line, "SUnreclaim: %llu", &s->sunreclaim);
		sscanf(line, "VmallocUsed: %llu", &s->vmalloc);
	}
	fclose(f);
}

/* The module's own vmalloc areas, exactly: count and bytes (with guard). */
static void vmallocinfo(struct sample *s)
{
	unsigned long long size;
	char line[512];
	FILE *f = fopen("/proc/vmallocinfo", "r");

	s->bsv_areas = 0;
	s->bsv_bytes = 0;
	if (!f) {
		perror("memcycles: /proc/vmallocinfo");
		exit(3);
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[blksnap]"))
			continue;
		if (sscanf(line, "%*s %llu", &size) == 1) {
			s->bsv_areas++;
			s->bsv_bytes += size;
		}
	}
	fclose(f);
}

#define MIN(a, b) ((a) < (b) ? (a) : (b))

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Shrinking a slab cache also empties KASAN's quarantine of that cache:
 * freed objects waiting there still count in Slab, by the megabyte, and
 * would hide or fake a trend.
 */
static void shrink_slabs(void)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir("/sys/kernel/slab");

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink",
			 e->d_name);
		if (access(path, W_OK) == 0)
			write_file(path, "1");
	}
	closedir(d);
}

static int do_stat(int reads, int polls)
{
	long long t0 = now_ms(), t1, t2;
	struct sample s, m;
	int i;

	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	t1 = now_ms();
	/* Let RCU callbacks run before the quarantine is pushed through. */
	sleep_ms(500);
	shrink_slabs();
	if (polls)
		fill_quarantine(polls);
	t2 = now_ms();
	memset(&m, 0, sizeof(m));
	for (i = 0; i < reads; i++) {
		if (i)
			sleep_ms(200);
		memset(&s, 0, sizeof(s));
		meminfo(&s);
		/* Slow to read (a symbol lookup a line): first and last. */
		if (!i || i == reads - 1) {
			vmallocinfo(&s);
		} else {
			s.bsv_areas = m.bsv_areas;
			s.bsv_bytes = m.bsv_bytes;
		}
		if (!i) {
			m = s;
			continue;
		}
		m.slab = MIN(m.slab, s.slab);
		m.sunreclaim = MIN(m.sunreclaim, s.sunreclaim);
		m.vmalloc = MIN(m.vmalloc, s.vmalloc);
		/* Must not move while nobody touches blksnap. */
		if (s.bsv_areas != m.bsv_areas || s.bsv_bytes != m.bsv_bytes) {
			printf("vmallocinfo of blksnap moved: %llu/%llu then %llu/%llu\n",
			       m.bsv_areas, m.bsv_bytes, s.bsv_areas,
			       s.bsv_bytes);
			return 1;
		}
	}
	printf("slab_kib=%llu sunreclaim_kib=%llu vmalloc_kib=%llu bsv_areas=%llu bsv_bytes=%llu drop_ms=%lld fill_ms=%lld\n",
	       m.slab, m.sunreclaim, m.vmalloc, m.bsv_areas, m.bsv_bytes,
	       t1 - t0, t2 - t1 - 500);
	return 0;
}

/*
 * Change K chunks from the start of DEV: with chunks of up to 1 MiB, 1 MiB
 * writes (one bio preserves many chunks: far fewer round trips than a
 * write per chunk); larger chunks get one 4 KiB block each.
 */
#define TOUCH (1 << 20)

static int do_touch(const char *dev, unsigned long long k,
		    unsigned long long chunk)
{
	unsigned long long off, end = k * chunk;
	size_t len = chunk <= TOUCH ? TOUCH : 4096;
	char *buf;
	int fd = open(dev, O_WRONLY | O_DIRECT);

	if (fd < 0 || posix_memalign((void **)&buf, 4096, TOUCH)) {
		fprintf(stderr, "memcycles: %s: %s\n", dev, strerror(errno));
		return 3;
	}
	memset(buf, 't', TOUCH);
	for (off = 0; off < end; off += len > chunk ? len : chunk) {
		size_t n = end - off < len ? end - off : len;

		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			printf("write at %llu: %s\n", off, strerror(errno));
			return 1;
		}
	}
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "stat") && argc <= 4)
		return do_stat(argc >= 3 ? (int)num(argv[2]) : 5,
			       argc == 4 ? (int)num(argv[3]) : 0);
	if (argc == 5 && !strcmp(argv[1], "touch"))
		return do_touch(argv[2], num(argv[3]), num(argv[4]));
	usage();
	return 2;
}
