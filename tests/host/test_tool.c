// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The blksnap tool's command line, run without a kernel module: help for
 * every command, usage errors (exit 2), failures (exit 1) as one line
 * "blksnap: COMMAND: ..." on stderr.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

static const char *tool;
static char out[65536], err[65536];

static void slurp(FILE *f, char *buf, size_t size)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Run the tool with the NULL-terminated arguments; return its exit status. */
static int run(const char *arg, ...)
{
	const char *argv[32];
	FILE *o = tmpfile(), *e = tmpfile();
	va_list ap;
	int n = 0, status;
	pid_t pid;

	argv[n++] = tool;
	va_start(ap, arg);
	for (; arg && n < 31; arg = va_arg(ap, const char *))
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(fileno(o), 1);
		dup2(fileno(e), 2);
		execv(tool, (char **)argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	slurp(o, out, sizeof(out));
	slurp(e, err, sizeof(err));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && nl[1] == 0;
}

/* Exit status @st, nothing on stdout, one error line starting with @prefix. */
#define ERR(st, prefix, name, ...) do {					\
	int _rc = run(__VA_ARGS__, NULL);				\
	int _p = _rc == (st) && !strncmp(err, prefix, strlen(prefix)) && \
		 one_line(err) && !out[0];				\
	if (!_p)							\
		tap_diag("exit %d, stderr: %s", _rc, err);		\
	ok(_p, "tool: %s", name);					\
} while (0)

void test_tool(const char *path)
{
	static const char *const cmds[][3] = {
		{ "version", NULL, "--json" },
		{ "attach", NULL, "--filter" },
		{ "detach", NULL, "--filter" },
		{ "cbtinfo", NULL, "--json" },
		{ "readcbtmap", NULL, "--output" },
		{ "markdirty", NULL, "--file" },
		{ "changes", NULL, "--generation" },
		{ "snapshot", "create", "--limit" },
		{ "snapshot", "add", "--no-attach" },
		{ "snapshot", "take", "UUID" },
		{ "snapshot", "destroy", "UUID" },
		{ "snapshot", "collect", "--json" },
		{ "snapshot", "info", "--json" },
		{ "snapshot", "watch", "--timeout" },
		{ "backup", NULL, "--storage" },
		{ "restore", NULL, "DEVICE=TARGET" },
		{ "verify", NULL, "--point" },
		{ "list", NULL, "--json" },
		{ "prune", NULL, "--keep" },
	};
	char dir[] = "/tmp/blksnap-tool-XXXXXX", sub[64];
	const char *uuid = "123e4567-e89b-12d3-a456-426614174000";
	struct stat st;
	unsigned int i;
	int rc;

	tool = path;
	ok(run("--help", NULL) == 0 && strstr(out, "snapshot watch") && strstr(out, "readcbtmap"),
	   "tool: --help lists the commands");
	ok(run("--version", NULL) == 0 && !strncmp(out, "blksnap ", 8), "tool: --version");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char usage[64];

		snprintf(usage, sizeof(usage), "Usage: blksnap %s%s%s", cmds[i][0],
			 cmds[i][1] ? " " : "", cmds[i][1] ? cmds[i][1] : "");
		rc = cmds[i][1] ? run(cmds[i][0], cmds[i][1], "--help", NULL) :
				  run(cmds[i][0], "--help", NULL);
		ok(rc == 0 && !strncmp(out, usage, strlen(usage)) && strstr(out, cmds[i][2]) && !err[0],
		   "tool: '%s%s%s --help' documents %s", cmds[i][0], cmds[i][1] ? " " : "",
		   cmds[i][1] ? cmds[i][1] : "", cmds[i][2]);
	}
	ok(run("help", "snapshot", "watch", NULL) == 0 && strstr(out, "Usage: blksnap snapshot watch"),
	   "tool: 'help snapshot watch'");
	ok(run("snapshot", "--help", NULL) == 0 && strstr(out, "collect"), "tool: 'snapshot --help'");

	ERR(2, "blksnap: unknown command", "unknown command -> exit 2", "frobnicate");
	ERR(2, "blksnap: unknown option", "unknown global option -> exit 2", "--frob");
	rc = run(NULL);
	ok(rc == 2 && strstr(err, "Usage:"), "tool: no command -> usage on stderr, exit 2");
	ERR(2, "blksnap: cbtinfo: missing argument", "cbtinfo without device", "cbtinfo");
	ERR(2, "blksnap: cbtinfo: unexpected argument", "cbtinfo with two devices", "cbtinfo", "/dev/a", "/dev/b");
	ERR(2, "blksnap: attach: unknown option '--bogus'", "unknown command option", "attach", "--bogus", "/dev/x");
	ERR(2, "blksnap: attach: option --filter needs a value", "option without value", "attach", "/dev/x", "--filter");
	ERR(2, "blksnap: snapshot: unknown snapshot command", "unknown snapshot command", "snapshot", "frob");
	ERR(2, "blksnap: snapshot: missing snapshot command", "snapshot without command", "snapshot");
	ERR(2, "blksnap: snapshot create: --storage is required", "create without --storage",
	    "snapshot", "create", "--limit", "1G");
	ERR(2, "blksnap: snapshot create: --limit is required", "create without --limit",
	    "snapshot", "create", "--storage", "/tmp");
	ERR(2, "blksnap: snapshot create: invalid size '1Q'", "create with a bad size",
	    "snapshot", "create", "--storage", "/tmp", "--limit", "1Q");
	ERR(2, "blksnap: snapshot create: the limit must not be zero", "create with limit 0",
	    "snapshot", "create", "--storage=/tmp", "--limit=0");
	ERR(2, "blksnap: snapshot create: --take needs at least one device", "create --take without devices",
	    "snapshot", "create", "-s", "/tmp", "-l", "1G", "--take");
	ERR(2, "blksnap: snapshot take: 'xyz' is not a UUID", "take with a bad UUID", "snapshot", "take", "xyz");
	ERR(2, "blksnap: snapshot destroy: missing argument", "destroy without UUID", "snapshot", "destroy");
	ERR(2, "blksnap: snapshot add: missing argument", "add without device", "snapshot", "add", uuid);
	ERR(2, "blksnap: snapshot watch: invalid timeout", "watch with a bad timeout",
	    "snapshot", "watch", uuid, "--timeout", "soon");
	ERR(2, "blksnap: markdirty: invalid range list '1+0'", "markdirty with an empty range",
	    "markdirty", "/dev/null", "0+8", "1+0");
	ERR(2, "blksnap: markdirty: missing ranges", "markdirty without ranges", "markdirty", "/dev/null");
	ERR(2, "blksnap: markdirty: give either RANGES or --file", "markdirty with ranges and --file",
	    "markdirty", "/dev/null", "0+8", "--file", "/dev/null");
	ERR(2, "blksnap: changes: --since is required", "changes without --since", "changes", "/dev/null");
	ERR(2, "blksnap: changes: invalid change number '256'", "changes --since 256",
	    "changes", "/dev/null", "--since", "256");
	ERR(2, "blksnap: changes: 'g' is not a UUID", "changes with a bad generation",
	    "changes", "/dev/null", "--since", "1", "--generation", "g");

	ERR(1, "blksnap: attach: /dev/null: not a block device", "attach a character device -> exit 1",
	    "attach", "/dev/null");
	ERR(1, "blksnap: cbtinfo: /nonexistent: no such device", "cbtinfo of a missing device -> exit 1",
	    "cbtinfo", "/nonexistent");
	ERR(1, "blksnap: snapshot info: /dev/null: not a block device", "snapshot info of /dev/null",
	    "--json", "snapshot", "info", "/dev/null");
	ERR(1, "blksnap: markdirty: /nonexistent/ranges: No such file", "markdirty with a missing file",
	    "markdirty", "/dev/null", "--file", "/nonexistent/ranges");

	ERR(2, "blksnap: backup: --to is required", "backup without --to", "backup", "/dev/x");
	ERR(2, "blksnap: backup: missing argument", "backup without a device", "backup", "--to", "/tmp/r");
	ERR(2, "blksnap: backup: invalid block size '3000'", "backup with a bad block size",
	    "backup", "/dev/x", "--to", "/tmp/r", "--block-size", "3000");
	ERR(2, "blksnap: backup: invalid size '1Q'", "backup with a bad limit",
	    "backup", "/dev/x", "--to", "/tmp/r", "--limit", "1Q");
	ERR(2, "blksnap: restore: 'vda' is not DEVICE=TARGET", "restore without a target",
	    "restore", "/tmp/r", "vda");
	ERR(2, "blksnap: restore: '=x' is not DEVICE=TARGET", "restore without a device",
	    "restore", "/tmp/r", "=x");
	ERR(2, "blksnap: prune: --keep is required", "prune without --keep", "prune", "/tmp/r");
	ERR(2, "blksnap: prune: invalid count '0'", "prune --keep 0", "prune", "/tmp/r", "--keep", "0");
	ERR(2, "blksnap: verify: missing argument", "verify without a repository", "verify");

	/* The repository commands need no module: an empty repository. */
	if (!mkdtemp(dir))
		abort();
	snprintf(sub, sizeof(sub), "%s/none", dir);
	ERR(1, "blksnap: list: ", "list of a missing directory -> exit 1", "list", sub);
	ERR(1, "blksnap: verify: ", "verify of a directory that is no repository", "verify", dir);
	ok(!strstr(err, "created"), "tool: verify does not make a repository");
	if (stat("/dev/blksnap-control", &st) != 0) {
		ERR(1, "blksnap: backup: /dev/blksnap-control: blksnap module is not loaded",
		    "backup without the module", "backup", "/dev/x", "--to", sub);
		ok(stat(sub, &st) != 0, "tool: backup without the module makes no repository");
	}
	rmdir(dir);

	if (stat("/dev/blksnap-control", &st) != 0) {
		ERR(1, "blksnap: version: /dev/blksnap-control: blksnap module is not loaded",
		    "version without the module -> 'module is not loaded'", "version");
		ERR(1, "blksnap: snapshot collect: /dev/blksnap-control: blksnap module is not loaded",
		    "collect without the module", "snapshot", "collect", "--json");
		ERR(1, "blksnap: snapshot create: /dev/blksnap-control: blksnap module is not loaded",
		    "create without the module", "snapshot", "create", "--storage", "/tmp", "--limit", "1G");
	} else {
		tap_diag("/dev/blksnap-control exists: module-absent checks skipped");
	}
}

/* ---- the tool against the fake kernel interface (fake_kernel.c) ---- */

static char logbuf[8192];

static const char *read_log(const char *path)
{
	FILE *f = fopen(path, "r");

	logbuf[0] = 0;
	if (f)
		slurp(f, logbuf, sizeof(logbuf));
	unlink(path);
	return logbuf;
}

/* Exit status 0, stdout exactly @want, nothing on stderr. */
#define OUT(want, name, ...) do {					\
	int _rc = run(__VA_ARGS__, NULL);				\
	int _p = _rc == 0 && !strcmp(out, want) && !err[0];		\
	if (!_p)							\
		tap_diag("exit %d, stdout:\n%s\nstderr: %s", _rc, out, err); \
	ok(_p, "fake: %s", name);					\
} while (0)

void test_tool_fake(const char *path)
{
	const char *gen = "11111111-2222-3333-4444-555555555555";
	const char *a = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
	char logpath[] = "/tmp/blksnap-fake-log.XXXXXX", rpath[] = "/tmp/blksnap-ranges.XXXXXX";
	char cbt[] = "/tmp/blksnap-cbt.XXXXXX";
	unsigned char raw[32];
	FILE *f;
	int fd, rc;

	tool = path;
	fd = mkstemp(logpath);
	close(fd);
	unlink(logpath);
	setenv("FAKE_LOG", logpath, 1);

	OUT("tool:    1.0.0\nlibrary: 1.0.0\nmodule:  2.0.0.0\nbackend: blkfilter\n", "version", "version");
	OUT("{\"tool\":\"1.0.0\",\"library\":\"1.0.0\",\"module\":\"2.0.0.0\",\"backend\":\"blkfilter\"}\n",
	    "version --json", "--json", "version");
	setenv("FAKE_BACKEND", "none", 1);
	OUT("tool:    1.0.0\nlibrary: 1.0.0\nmodule:  2.0.0.0\nbackend: unknown\n",
	    "version of a module without filter_backend", "version");

	/*
	 * The "ftrace" backend: block devices have no filter ioctls, the
	 * library sends every filter command through the control device, and
	 * the output does not change.
	 */
	setenv("FAKE_BACKEND", "ftrace", 1);
	OUT("tool:    1.0.0\nlibrary: 1.0.0\nmodule:  2.0.0.0\nbackend: ftrace\n", "version (ftrace)",
	    "version");
	read_log(logpath);
	OUT("", "attach (ftrace)", "attach", "/fake/a");
	ok(!strcmp(read_log(logpath), "bdev_filter\nattach blksnap\n"),
	   "fake: attach goes through the control device (ftrace)");
	OUT("{\"device\":\"/fake/a\",\"capacity\":1044480,\"block_size\":65536,\"block_count\":16,"
	    "\"generation\":\"11111111-2222-3333-4444-555555555555\",\"changes_number\":3}\n",
	    "cbtinfo --json (ftrace)", "cbtinfo", "/fake/a", "--json");
	ok(!strcmp(read_log(logpath), "bdev_filter\ncbtinfo\n"),
	   "fake: cbtinfo goes through the control device (ftrace)");
	OUT("", "markdirty (ftrace)", "markdirty", "/fake/a", "0+8");
	ok(!strcmp(read_log(logpath), "bdev_filter\ncbtdirty 0+8\n"),
	   "fake: markdirty goes through the control device (ftrace)");
	OUT("", "detach (ftrace)", "detach", "/fake/a");
	ok(!strcmp(read_log(logpath), "bdev_filter\ndetach blksnap\n"),
	   "fake: detach goes through the control device (ftrace)");
	unsetenv("FAKE_BACKEND");
	OUT("{\"device\":\"/fake/a\",\"capacity\":1044480,\"block_size\":65536,\"block_count\":16,"
	    "\"generation\":\"11111111-2222-3333-4444-555555555555\",\"changes_number\":3}\n",
	    "cbtinfo --json", "cbtinfo", "/fake/a", "--json");
	OUT("device:         /fake/a\ncapacity:       1044480 bytes (2040 sectors)\n"
	    "block size:     65536 bytes\nblock count:    16\n"
	    "generation:     11111111-2222-3333-4444-555555555555\nchanges number: 3\n",
	    "cbtinfo", "cbtinfo", "/fake/a");
	OUT("# generation 11111111-2222-3333-4444-555555555555 changes_number 3 block_size 65536 "
	    "block_count 16\n2+2 3\n4+1 1\n5+2 2\n15+1 3\n", "readcbtmap runs", "readcbtmap", "/fake/a");
	OUT("{\"device\":\"/fake/a\",\"block_size\":65536,\"block_count\":16,"
	    "\"generation\":\"11111111-2222-3333-4444-555555555555\",\"changes_number\":3,"
	    "\"runs\":[{\"block\":2,\"count\":2,\"value\":3},{\"block\":4,\"count\":1,\"value\":1},"
	    "{\"block\":5,\"count\":2,\"value\":2},{\"block\":15,\"count\":1,\"value\":3}]}\n",
	    "readcbtmap --json", "readcbtmap", "/fake/a", "--json");
	fd = mkstemp(cbt);
	close(fd);
	OUT("", "readcbtmap -o FILE", "readcbtmap", "/fake/a", "-o", cbt);
	f = fopen(cbt, "rb");
	rc = f ? (int)fread(raw, 1, sizeof(raw), f) : -1;
	if (f)
		fclose(f);
	ok(rc == 16 && raw[2] == 3 && raw[4] == 1 && raw[15] == 3 && raw[0] == 0,
	   "fake: raw table written to the file");
	unlink(cbt);
	read_log(logpath);

	OUT("256+256\n640+256\n1920+120\n", "changes since 1 (last block clipped)",
	    "changes", "/fake/a", "--since", "1", "--generation", gen);
	OUT("{\"device\":\"/fake/a\",\"generation\":\"11111111-2222-3333-4444-555555555555\","
	    "\"changes_number\":3,\"since\":1,\"full_backup\":false,\"sectors\":632,\"ranges\":["
	    "{\"offset\":256,\"count\":256},{\"offset\":640,\"count\":256},{\"offset\":1920,\"count\":120}]}\n",
	    "changes --json", "changes", "/fake/a", "--since=1", "--generation=11111111-2222-3333-4444-555555555555",
	    "--json");
	OUT("", "changes since 3: nothing", "changes", "/fake/a", "--since", "3", "--generation", gen);
	ERR(3, "blksnap: changes: /fake/a: full backup needed", "changes since 4 -> exit 3",
	    "changes", "/fake/a", "--since", "4", "--generation", gen);
	ERR(3, "blksnap: changes: /fake/a: full backup needed", "changes of another generation -> exit 3",
	    "changes", "/fake/a", "--since", "1", "--generation", a);
	rc = run("changes", "/fake/a", "--since", "9", "--json", NULL);
	ok(rc == 3 && strstr(out, "\"full_backup\":true") && strstr(out, "\"ranges\":[]"),
	   "fake: changes --json full backup");

	/* markdirty: what reaches the kernel. */
	read_log(logpath);
	OUT("", "markdirty ranges", "markdirty", "/fake/a", "0+8,16-23", "100");
	ok(!strcmp(read_log(logpath), "cbtdirty 0+8 16+8 100+1\n"), "fake: markdirty sends the parsed ranges");
	fd = mkstemp(rpath);
	dprintf(fd, "# changes output\n256+256\n640+256\n\n1920+120\n");
	close(fd);
	OUT("", "markdirty --file", "markdirty", "/fake/a", "--file", rpath);
	ok(!strcmp(read_log(logpath), "cbtdirty 256+256 640+256 1920+120\n"), "fake: markdirty --file sends the file's ranges");
	unlink(rpath);

	/* snapshot commands */
	OUT("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n", "snapshot create with devices",
	    "snapshot", "create", "--storage", "/var/tmp", "--limit", "1G", "/fake/a", "/fake/b");
	ok(!strcmp(read_log(logpath), "create /var/tmp 2097152\nattach blksnap\nadd aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"
		   "attach blksnap\nadd aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"),
	   "fake: create, attach + add each device");
	OUT("{\"id\":\"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\"}\n", "snapshot create --take --json",
	    "snapshot", "create", "-s", "/dev/x", "-l", "1000", "--take", "/fake/a", "--json");
	ok(!strcmp(read_log(logpath), "create /dev/x 2\nattach blksnap\nadd aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"
		   "take aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"),
	   "fake: create --take; limit rounded up to sectors");
	setenv("FAKE_FAIL_ADD", "16", 1);
	ERR(1, "blksnap: snapshot create: /fake/a: device is already part of another snapshot",
	    "create: a device that cannot be added", "snapshot", "create", "-s", "/x", "-l", "1M", "/fake/a", "/fake/b");
	ok(strstr(read_log(logpath), "destroy aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n") != NULL,
	   "fake: failed create destroys the new snapshot");
	unsetenv("FAKE_FAIL_ADD");
	OUT("", "snapshot add", "snapshot", "add", a, "/fake/c");
	OUT("", "snapshot add --no-attach", "snapshot", "add", a, "/fake/c", "--no-attach");
	ok(!strcmp(read_log(logpath), "attach blksnap\nadd aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"
		   "add aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"), "fake: add attaches unless --no-attach");
	OUT("", "snapshot take", "snapshot", "take", a);
	OUT("", "snapshot destroy", "snapshot", "destroy", a);
	OUT("", "detach", "detach", "/fake/a");
	OUT("", "attach --filter", "attach", "/fake/a", "--filter", "other");
	ok(!strcmp(read_log(logpath), "take aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\n"
		   "destroy aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\ndetach blksnap\nattach other\n"),
	   "fake: take, destroy, detach, attach --filter reach the kernel");
	OUT("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\nbbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb\n",
	    "snapshot collect", "snapshot", "collect");
	OUT("{\"snapshots\":[\"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\",\"bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb\"]}\n",
	    "snapshot collect --json", "snapshot", "collect", "--json");
	OUT("image: /dev/blksnap-image_253:0\nerror: -28 (No space left on device)\n", "snapshot info",
	    "snapshot", "info", "/fake/a");
	OUT("{\"device\":\"/fake/a\",\"image\":\"/dev/blksnap-image_253:0\",\"error_code\":-28}\n",
	    "snapshot info --json", "snapshot", "info", "/fake/a", "--json");

	rc = run("snapshot", "watch", a, "--json", NULL);
	ok(rc == 0 && !strncmp(out, "{\"id\":\"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\",\"time\":1500000000,"
			      "\"event\":\"corrupted\",\"code\":0,\"major\":253,\"minor\":0,\"device\":\"", 118) &&
	   strstr(out, "\"error_code\":-28}\n{\"id\":\"aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa\",\"event\":\"gone\"}\n"),
	   "fake: snapshot watch --json: corrupted event, then gone");
	if (rc || !strstr(out, "gone"))
		tap_diag("exit %d, stdout: %s, stderr: %s", rc, out, err);
	rc = run("snapshot", "watch", a, NULL);
	ok(rc == 0 && !strncmp(out, "1.500000000 corrupted ", 22) && strstr(out, " 253:0 -28 (No space left on device)\n") &&
	   strstr(out, "snapshot aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa is gone\n"), "fake: snapshot watch");
	ERR(1, "blksnap: snapshot watch: cccccccc-cccc-cccc-cccc-cccccccccccc: no such snapshot",
	    "watch of a snapshot that does not exist", "snapshot", "watch", "cccccccc-cccc-cccc-cccc-cccccccccccc");
	rc = run("snapshot", "watch", a, "--count", "1", NULL);
	ok(rc == 0 && !strstr(out, "gone"), "fake: watch --count 1 stops after one event");

	/* Kernel errors become context-aware one-line messages. */
	setenv("FAKE_ERRNO", "16", 1);
	ERR(1, "blksnap: snapshot add: /fake/a: another filter is attached", "EBUSY on attach",
	    "snapshot", "add", a, "/fake/a");
	ERR(1, "blksnap: snapshot add: /fake/a: device is already part of another snapshot",
	    "EBUSY on snapshot add", "snapshot", "add", a, "/fake/a", "--no-attach");
	/* The library's messages name no command of the tool: it adds its own advice. */
	setenv("FAKE_ERRNO", "19", 1);
	ERR(1, "blksnap: snapshot take: aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa: the snapshot has no devices: "
	    "add some with 'blksnap snapshot add' first\n", "ENODEV on take", "snapshot", "take", a);
	setenv("FAKE_ERRNO", "3", 1);
	ERR(1, "blksnap: snapshot destroy: aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa: no such snapshot "
	    "(list them with 'blksnap snapshot collect')\n", "ESRCH on destroy", "snapshot", "destroy", a);
	setenv("FAKE_ERRNO", "2", 1);
	ERR(1, "blksnap: cbtinfo: /fake/a: the blksnap filter is not attached to this device: "
	    "run 'blksnap attach DEVICE' first\n", "ENOENT on cbtinfo", "cbtinfo", "/fake/a");
	ERR(1, "blksnap: readcbtmap: /fake/a: the blksnap filter is not attached", "ENOENT on readcbtmap",
	    "readcbtmap", "/fake/a");
	setenv("FAKE_ERRNO", "114", 1);
	ERR(1, "blksnap: attach: /fake/a: the filter is already attached", "EALREADY on attach",
	    "attach", "/fake/a");
	setenv("FAKE_ERRNO", "1", 1);
	ERR(1, "blksnap: snapshot collect: permission denied", "EPERM on collect", "snapshot", "collect");
	unsetenv("FAKE_ERRNO");
	unsetenv("FAKE_LOG");
	unlink(logpath);
}
