// SPDX-License-Identifier: GPL-2.0
/*
 * faults: errors injected around a snapshot at random moments.
 *
 *   faults ORIG STORAGE LIMIT FAULT ROUNDS
 *
 * FAULT is one of
 *   mif:DISK   fail_make_request on DISK (a name in /sys/block): the
 *              difference storage, the disk of its file system, or the
 *              original itself
 *   mem        failslab and fail_page_alloc for the writer threads and the
 *              unbound kworkers (where copy-on-write runs)
 *   flakey:DM  the table of the dm device DM (linear; the original or the
 *              storage) is switched to dm-flakey failing all I/O, and back
 *
 * Each round: stamp the original (see integrity.c), create a snapshot with
 * STORAGE (LIMIT sectors, 0 = no limit), take it and overwrite random
 * ranges with O_DIRECT from two threads while a third reads the image. The
 * fault goes on at a random moment: before the take, during the take,
 * during copy-on-write, or for a short while only. After the fault is off:
 * - every acknowledged write must be on the original (a sector whose last
 *   write failed may hold the old data or the failed write's data);
 * - the snapshot is either exact (SNAPSHOTINFO error 0 and the whole image
 *   reads back as it was at the take) or corrupted (a documented error in
 *   SNAPSHOTINFO, the matching corrupted event, image reads fail with EIO);
 * - an image read during the fault returns the right data or EIO.
 * Writes may fail only with EIO (or ENOMEM under memory faults).
 *
 * Figures: one "FIGURE" line. Exit status 0 if all held, 1 otherwise.
 */
#define INTEGRITY_NO_MAIN
#include "integrity.c"

#include <dirent.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#define DBG "/sys/kernel/debug"
#define PHASE_MS 2500		/* copy-on-write phase of a round */
#define MAX_WRITE 512		/* sectors */

enum when { BEFORE, TAKE, COW, TRANSIENT, NR_WHEN };
static const char *const when_name[] = { "before", "take", "cow", "transient" };

static const char *fault;
static char mif_path[128];
static atomic_bool fault_on, stop;
static atomic_ullong writes_ok, writes_failed, reads_ok, reads_eio;
static unsigned long long faults_injected, scenarios, corrupted, exact;
static unsigned long long lost;
static bool failed_test, fault_on_orig;

static void put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(val, f) < 0 || fclose(f)) {
		printf("FAIL: write '%s' to %s: %s\n", val, path, ename(errno));
		exit(1);
	}
}

static void attr_setup(const char *dir, const char *prob, const char *times,
		       bool task_filter)
{
	char p[128];

	snprintf(p, sizeof(p), DBG "/%s/verbose", dir);
	put(p, "0");
	snprintf(p, sizeof(p), DBG "/%s/interval", dir);
	put(p, "1");
	snprintf(p, sizeof(p), DBG "/%s/space", dir);
	put(p, "0");
	snprintf(p, sizeof(p), DBG "/%s/task-filter", dir);
	put(p, task_filter ? "Y" : "N");
	snprintf(p, sizeof(p), DBG "/%s/times", dir);
	put(p, times);
	snprintf(p, sizeof(p), DBG "/%s/probability", dir);
	put(p, prob);
}

/* make-it-fail of every unbound kworker: copy-on-write runs there. */
static void kworkers_fail(bool on)
{
	char path[300], comm[64];
	struct dirent *e;
	DIR *dir = opendir("/proc");
	FILE *f;

	while (dir && (e = readdir(dir))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		if (strncmp(comm, "kworker/u", 9))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/make-it-fail", e->d_name);
		f = fopen(path, "w");
		if (f) {
			fputs(on ? "1" : "0", f);
			fclose(f);
		}
	}
	if (dir)
		closedir(dir);
}

static char dm_name[64], dm_dev[32];
static unsigned long long dm_len, dm_off;

/* Run dmsetup ARGS (no shell in the guest); its output into @out. */
static int dmsetup(char *const args[], char *out, size_t len)
{
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execvp("dmsetup", args);
		_exit(127);
	}
	close(fds[1]);
	while (out && (size_t)got + 1 < len &&
	       (n = read(fds[0], out + got, len - 1 - got)) > 0)
		got += n;
	if (out)
		out[got] = 0;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void flakey_init(const char *name)
{
	char *args[] = { "dmsetup", "table", (char *)name, NULL };
	char out[256];

	snprintf(dm_name, sizeof(dm_name), "%s", name);
	if (dmsetup(args, out, sizeof(out)) ||
	    sscanf(out, "0 %llu linear %31s %llu", &dm_len, dm_dev,
		   &dm_off) != 3) {
		printf("FAIL: %s is not a linear dm device\n", name);
		exit(1);
	}
}

/* Switch the table: load, then suspend and resume to make it live. */
static void flakey_set(bool on)
{
	char table[256];
	char *load[] = { "dmsetup", "load", dm_name, "--table", table, NULL };
	char *suspend[] = { "dmsetup", "suspend", dm_name, NULL };
	char *resume[] = { "dmsetup", "resume", dm_name, NULL };

	snprintf(table, sizeof(table), "0 %llu %s %s %llu%s", dm_len,
		 on ? "flakey" : "linear", dm_dev, dm_off, on ? " 0 3600" : "");
	if (dmsetup(load, NULL, 0) || dmsetup(suspend, NULL, 0) ||
	    dmsetup(resume, NULL, 0)) {
		printf("FAIL: dmsetup: %s %s\n", dm_name, table);
		exit(1);
	}
}

static void inject(bool on, int prob)
{
	char p[16];

	if (atomic_load(&fault_on) == on)
		return;
	if (!strncmp(fault, "mif:", 4)) {
		if (on) {
			snprintf(p, sizeof(p), "%d", prob);
			attr_setup("fail_make_request", p, "-1", false);
		}
		put(mif_path, on ? "1" : "0");
	} else if (!strcmp(fault, "mem")) {
		if (on) {
			snprintf(p, sizeof(p), "%d", prob);
			attr_setup("failslab", p, "-1", true);
			put(DBG "/failslab/ignore-gfp-wait", "N");
			attr_setup("fail_page_alloc", p, "-1", true);
			put(DBG "/fail_page_alloc/ignore-gfp-wait", "N");
			put(DBG "/fail_page_alloc/ignore-gfp-highmem", "N");
			put(DBG "/fail_page_alloc/min-order", "0");
		} else {
			put(DBG "/failslab/probability", "0");
			put(DBG "/fail_page_alloc/probability", "0");
		}
		kworkers_fail(on);
	} else {
		flakey_set(on);
	}
	if (on)
		faults_injected++;
	atomic_store(&fault_on, on);
}

static bool err_ok(int err)
{
	return err == EIO || (err == ENOMEM && !strcmp(fault, "mem"));
}

static void bad(const char *fmt, const char *a, long long b)
{
	printf("FAIL: ");
	printf(fmt, a, b);
	printf("\n");
	failed_test = true;
}

/* O_DIRECT overwrites of random ranges; failures are noted in the model. */
static void *fwriter(void *arg)
{
	uint64_t *rs = arg;
	void *buf = xalloc(MAX_WRITE * SECT);
	struct dev *d = &devs[0];

	if (!strcmp(fault, "mem"))
		put("/proc/thread-self/make-it-fail", "1");
	while (!atomic_load(&stop)) {
		unsigned int n = rnd(rs, 4) ? 1 + rnd(rs, 16) :
			1 + rnd(rs, MAX_WRITE);
		uint32_t seq = atomic_fetch_add(&next_seq, 1);
		uint64_t sector;
		ssize_t r;

		pick_range(rs, n, &sector);
		stamp_range(buf, d->id, sector, n, seq);
		r = pwrite(d->fd_d, buf, (size_t)n * SECT, sector * SECT);
		if (r == (ssize_t)n * SECT) {
			for (unsigned int i = 0; i < n; i++) {
				d->model[sector + i] = seq;
				d->failed[sector + i] = 0;
			}
			atomic_fetch_add(&writes_ok, 1);
		} else {
			if (r >= 0 || !err_ok(errno))
				bad("write to the original: %s (%lld)",
				    r < 0 ? ename(errno) : "short", r);
			memset(d->failed + sector, 1, n);
			atomic_fetch_add(&writes_failed, 1);
		}
		range_put(d, sector, n);
	}
	free(buf);
	return NULL;
}

/* Image reads while the fault happens: right data or EIO, nothing else. */
static void *freader(void *arg)
{
	uint64_t *rs = arg;
	void *buf = xalloc(MAX_WRITE * SECT);
	struct dev *d = &devs[0];

	while (!atomic_load(&stop)) {
		unsigned int n = 8 << rnd(rs, 7);
		uint64_t sector = rnd(rs, d->nsect / 8 - n / 8 + 1) * 8;
		ssize_t r;

		/* A read that succeeds must fill the buffer: no stale data. */
		memset(buf, 0xa5, (size_t)n * SECT);
		r = pread(d->img_d, buf, (size_t)n * SECT, sector * SECT);

		if (r < 0 && errno == EIO) {
			atomic_fetch_add(&reads_eio, 1);
			continue;
		}
		if (r < 0 || r % SECT)
			bad("image read: %s (%lld)", r < 0 ? ename(errno) :
			    "odd size", r);
		else if (check_range("image during the fault", d, buf, sector,
				     r / SECT, d->pre, NULL))
			failed_test = true;
		atomic_fetch_add(&reads_ok, 1);
	}
	free(buf);
	return NULL;
}

static bool corrupted_error(int e)
{
	return e == -EIO || e == -ENOSPC || e == -ENOMEM || e == -ENODEV;
}

static void round_run(const char *storage, uint64_t limit, int round,
		      uint64_t seed)
{
	static const int probs[] = { 100, 30, 5 };
	struct blksnap_event_corrupted cr;
	uint64_t rs = seed * 7919 + round, wrs[2], rrs;
	pthread_t wt[2], rt;
	struct blksnap_uuid id;
	struct dev *d = &devs[0];
	enum when when = rnd(&rs, NR_WHEN);
	int prob = probs[rnd(&rs, 3)], err, error, i;
	unsigned long long ok0 = writes_ok;
	unsigned int code, at_ms, len_ms;
	bool must_corrupt;
	static char *buf;
	double t0;
	ssize_t r;

	if (!strcmp(fault, "mem")) {
		when = rnd(&rs, 2) ? COW : TRANSIENT;
		prob = 1 + rnd(&rs, 10);
	}
	if (fault_on_orig)
		prob = prob == 100 ? 20 : prob;	/* some writes must pass */
	at_ms = rnd(&rs, PHASE_MS);
	len_ms = 50 + rnd(&rs, 450);
	printf("# round %d: fault %s %s p=%d%% at %u ms for %u ms\n", round,
	       fault, when_name[when], prob, at_ms,
	       when == TRANSIENT ? len_ms : 0);

	if (!buf)
		buf = xalloc(SECT);
	dev_fill(d);
	memset(d->failed, 0, d->nsect);
	memcpy(d->pre, d->model, d->nsect * sizeof(*d->model));
	err = snap_create(storage, limit, &id);
	if (err)
		die("SNAPSHOT_CREATE", err);
	err = snap_attach(d);
	if (err)
		die("BLKFILTER_ATTACH", err);
	err = snap_add(d, &id);
	if (err)
		die("SNAPSHOTADD", err);
	if (when == BEFORE)
		inject(true, prob);
	if (when == TAKE) {
		/* On at a random instant of the take (which freezes). */
		pid_t pid = fork();

		if (pid == 0) {
			usleep(rnd(&rs, 20000));
			inject(true, prob);
			_exit(0);
		}
		err = snap_cmd(IOCTL_BLKSNAP_SNAPSHOT_TAKE, &id);
		waitpid(pid, NULL, 0);
		inject(true, prob);	/* our own state: it is on now */
	} else {
		err = snap_cmd(IOCTL_BLKSNAP_SNAPSHOT_TAKE, &id);
	}
	if (err)
		die("SNAPSHOT_TAKE", err);
	image_open(d);

	atomic_store(&stop, false);
	for (i = 0; i < 2; i++) {
		wrs[i] = rs + 17 * i + 1;
		pthread_create(&wt[i], NULL, fwriter, &wrs[i]);
	}
	rrs = rs + 99;
	pthread_create(&rt, NULL, freader, &rrs);
	t0 = now();
	while ((now() - t0) * 1000 < PHASE_MS) {
		double ms = (now() - t0) * 1000;

		if (when == COW && ms >= at_ms)
			inject(true, prob);
		if (when == TRANSIENT)
			inject(ms >= at_ms && ms < at_ms + len_ms, prob);
		usleep(10000);
	}
	atomic_store(&stop, true);
	for (i = 0; i < 2; i++)
		pthread_join(wt[i], NULL);
	pthread_join(rt, NULL);
	/*
	 * A storage that failed every write since before the take must have
	 * corrupted the snapshot once a write was preserved: give the store
	 * worker time to try before the fault goes away.
	 */
	must_corrupt = when == BEFORE && prob == 100 && !fault_on_orig &&
		       strcmp(fault, "mem") && writes_ok > ok0;
	if (must_corrupt)
		usleep(1000000);
	inject(false, prob);

	/* The original: every acknowledged write is there. */
	i = dev_verify("original", d, d->fd_d, d->model, d->failed);
	lost += i;
	if (i)
		failed_test = true;

	/* The snapshot: exact, or corrupted and saying so. */
	err = snap_info(d, &error, NULL, 0);
	if (err)
		die("SNAPSHOTINFO", err);
	if (!error && must_corrupt)
		bad("the storage failed all along, yet the snapshot is %s%lld",
		    "exact", 0);
	if (!error) {
		if (dev_verify("image", d, d->img_d, d->pre, NULL))
			failed_test = true;
		err = snap_event(&id, 0, &cr, &code);
		if (err != ENOENT)
			bad("an event (%s %lld) but no error in SNAPSHOTINFO",
			    err ? ename(err) : "code", err ? 0 : code);
		exact++;
	} else {
		if (!corrupted_error(error))
			bad("SNAPSHOTINFO error %s%lld: not documented", "",
			    error);
		r = pread(d->img_d, buf, SECT, 0);
		if (r >= 0 || errno != EIO)
			bad("image read of a corrupted snapshot: %s (%lld)",
			    r < 0 ? ename(errno) : "succeeded", r);
		err = snap_event(&id, 5000, &cr, &code);
		if (err)
			bad("no corrupted event: %s%lld", ename(err), 0);
		else if (code != blksnap_event_code_corrupted ||
			 cr.err_code != error)
			bad("event code %s%lld", "", code * 1000LL + cr.err_code);
		corrupted++;
	}
	printf("# round %d: writes ok %llu failed %llu, image reads ok %llu eio %llu, snapshot error %d\n",
	       round, (unsigned long long)writes_ok,
	       (unsigned long long)writes_failed,
	       (unsigned long long)reads_ok, (unsigned long long)reads_eio,
	       error);
	image_close(d);
	err = snap_cmd(IOCTL_BLKSNAP_SNAPSHOT_DESTROY, &id);
	if (err)
		die("SNAPSHOT_DESTROY", err);
	scenarios++;
}

int main(int argc, char **argv)
{
	uint64_t seed, limit;
	double start = now(), soak;
	int rounds, round = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: %s ORIG STORAGE LIMIT FAULT ROUNDS\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	limit = strtoull(argv[3], NULL, 0);
	fault = argv[4];
	rounds = atoi(argv[5]);
	seed = env_seed();
	soak = env_soak();
	if (!strncmp(fault, "mif:", 4)) {
		char p[128], num[32] = "";
		struct stat st;
		FILE *f;

		snprintf(mif_path, sizeof(mif_path), "/sys/block/%s/make-it-fail",
			 fault + 4);
		snprintf(p, sizeof(p), "/sys/block/%s/dev", fault + 4);
		f = fopen(p, "r");
		if (!f || !fgets(num, sizeof(num), f) || stat(argv[1], &st))
			die(p, errno);
		fclose(f);
		snprintf(p, sizeof(p), "%u:%u\n", major(st.st_rdev),
			 minor(st.st_rdev));
		fault_on_orig = !strcmp(p, num);
	} else if (!strncmp(fault, "flakey:", 7)) {
		char dm[128], *a = realpath(argv[1], NULL), *b;

		flakey_init(fault + 7);
		snprintf(dm, sizeof(dm), "/dev/mapper/%s", fault + 7);
		b = realpath(dm, NULL);
		fault_on_orig = a && b && !strcmp(a, b);
		free(a);
		free(b);
	} else if (strcmp(fault, "mem")) {
		return 2;
	}

	dev_open(&devs[0], argv[1], 0);
	ndevs = 1;
	while (++round <= rounds || (soak && now() < start + soak)) {
		round_run(argv[2], limit, round, seed);
		if (failed_test)
			break;
	}
	printf("FIGURE fault=%s faults_injected=%llu scenarios=%llu snapshots_corrupted=%llu snapshots_exact=%llu bytes_verified=%llu acknowledged_writes_lost=%llu writes_ok=%llu writes_failed=%llu image_reads_eio=%llu seed=%" PRIu64 " secs=%.0f\n",
	       fault, faults_injected, scenarios, corrupted, exact,
	       (unsigned long long)bytes_verified, lost,
	       (unsigned long long)writes_ok,
	       (unsigned long long)writes_failed,
	       (unsigned long long)reads_eio, seed, now() - start);
	return failed_test ? 1 : 0;
}
