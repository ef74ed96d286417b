// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backup repository of the blksnap tool (repo.h). The on-disk format,
 * and why it is so, is docs/backup-format.md: a directory per restore
 * point, made in a temporary directory and renamed into place once every
 * file in it is durable; in it, per device, a raw sparse image and a file
 * of per-block XXH3-64 checksums; last, its manifest (JSON, json-c).
 *
 * Memory does not grow with the devices: data goes through one buffer of
 * BUF_SIZE bytes, checksums through one of BUF_SIZE / REPO_BLOCK_MIN; a
 * backup reads its source through SLOTS more of each, READERS requests in
 * flight.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <json.h>
#include <xxhash.h>
#include "repo.h"
#include "tool.h"

#define MARKER		"blksnap-repo.json"
#define MARKER_FORMAT	"blksnap-backup"
#define POINT_FORMAT	"blksnap-backup-point"
#define FORMAT_VERSION	1
#define MANIFEST	"manifest.json"
/* Names the repository writes before they are complete: never a point. */
#define TMP_PREFIX	".tmp-"
#define BUF_SIZE	(1u << 20)
/* A manifest is a few hundred bytes a device: anything this big is not one. */
#define JSON_MAX	(16 << 20)
#define ID_MAX		99999999ul
/* Why a JSON file was refused ("is truncated"). */
#define WHY_SIZE	96

/* The checksum file: this header, then one XXH3-64 a block (little-endian). */
#define SUMS_MAGIC	"BSNPXXH3"
struct sums_header {
	char magic[8];
	uint32_t version;
	uint32_t block_size;
	uint64_t size;		/* of the device, bytes */
	uint64_t blocks;	/* checksums that follow */
};
#define SUMS_HDR	((uint64_t)sizeof(struct sums_header))
_Static_assert(sizeof(struct sums_header) == 32, "no padding in the checksum header");

struct repo {
	int dirfd;
	int busy;		/* locked for a point or a prune */
	int held;		/* locked by repo_lock() */
};

struct repo_point {
	struct repo *repo;
	char tmp[sizeof(TMP_PREFIX) + REPO_ID_SIZE]; /* "": committed */
	int dirfd;			/* the temporary directory */
	int parent_dirfd;		/* -1: a full point */
	struct repo_point_info info;	/* the manifest being made */
	struct repo_point_info parent;
};

static const char *const clone_names[] = {
	[REPO_CLONE_NONE] = "none",
	[REPO_CLONE_REFLINK] = "reflink",
	[REPO_CLONE_COPY] = "copy",
};

const char *repo_clone_name(enum repo_clone clone)
{
	return (unsigned int)clone < 3 ? clone_names[clone] : "?";
}

/* ---- messages, small helpers ---------------------------------------------- */

static int say(char *msg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int say(char *msg, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, REPO_MSG_SIZE, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * "WHO: WHAT: error text"; for -EBADMSG (the repository's files are not
 * what the manifest says) WHAT alone says what is wrong.
 */
static int fail_io(char *msg, int err, const char *who, const char *what)
{
	if (err == -EBADMSG)
		return say(msg, err, "%s: %s", who, what);
	return say(msg, err, "%s: %s: %s", who, what, strerror(-err));
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int is_point_id(const char *s)
{
	int i;

	for (i = 0; i < REPO_ID_SIZE - 1; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == 0;
}

static int is_zero(const uint8_t *p, size_t len)
{
	return !p[0] && !memcmp(p, p + 1, len - 1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int dup_str(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}

/* pread() or pwrite() of all @len bytes; -ENODATA if a read meets the end. */
static int io_full(int fd, uint8_t *p, size_t len, uint64_t off, int write)
{
	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)off) :
				    pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return write ? -EIO : -ENODATA;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return io_full(fd, buf, len, off, 0);
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return io_full(fd, (uint8_t *)buf, len, off, 1);
}

/* XXH3-64 of the whole file @fd, read through @buf (BUF_SIZE bytes). */
static int hash_file(int fd, uint8_t *buf, uint64_t *hash)
{
	XXH3_state_t *st = XXH3_createState();
	uint64_t off = 0;
	ssize_t n;
	int rc = 0;

	if (!st)
		return -ENOMEM;
	XXH3_64bits_reset(st);
	while ((n = pread(fd, buf, BUF_SIZE, (off_t)off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		XXH3_64bits_update(st, buf, (size_t)n);
		off += (uint64_t)n;
	}
	*hash = XXH3_64bits_digest(st);
out:
	XXH3_freeState(st);
	return rc;
}

static void format_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(buf, "?");
}

static int parse_time(const char *s, int64_t *t)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

	if (!end || *end)
		return -EBADMSG;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* ---- directories -------------------------------------------------------------- */

typedef int entry_fn(int dirfd, const char *name, void *data);

/* @fn for every entry of the directory @dirfd but . and .., until it fails. */
static int each_entry(int dirfd, entry_fn *fn, void *data)
{
	/* A new open file: readdir() must not move @dirfd's position. */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (!d) {
		rc = -errno;
		close_fd(&fd);
		return rc;
	}
	while (!rc && (errno = 0, e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			rc = fn(dirfd, e->d_name, data);
	if (!rc && errno)
		rc = -errno;
	closedir(d);
	return rc;
}

static int unlink_entry(int dirfd, const char *name, void *data)
{
	(void)data;
	return unlinkat(dirfd, name, 0) ? -errno : 0;
}

/* Remove @name of @dirfd: a file, or a directory of files (a point). */
static int remove_tree(int dirfd, const char *name)
{
	int fd, rc;

	if (!unlinkat(dirfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = each_entry(fd, unlink_entry, NULL);
	close(fd);
	if (!rc && unlinkat(dirfd, name, AT_REMOVEDIR))
		rc = -errno;
	return rc;
}

static int is_tmp(const char *name)
{
	return !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX));
}

static int remove_leftover(int dirfd, const char *name, void *data)
{
	(void)data;
	return is_tmp(name) ? remove_tree(dirfd, name) : 0;
}

/* What a crash left: the temporary names of points and of prunes. */
static int remove_leftovers(struct repo *repo, char *msg)
{
	int rc = each_entry(repo->dirfd, remove_leftover, NULL);

	if (rc)
		say(msg, rc, "removing what an interrupted backup left: %s", strerror(-rc));
	return rc;
}

/* The point ids in the repository, sorted (oldest first). */
struct ids {
	char (*v)[REPO_ID_SIZE];
	size_t n, cap;
};

static int add_id(int dirfd, const char *name, void *data)
{
	struct ids *ids = data;
	void *v;

	(void)dirfd;
	if (!is_point_id(name))
		return 0;
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 16;
		v = reallocarray(ids->v, ids->cap, sizeof(*ids->v));
		if (!v)
			return -ENOMEM;
		ids->v = v;
	}
	memcpy(ids->v[ids->n++], name, REPO_ID_SIZE);
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int scan_ids(struct repo *repo, struct ids *ids, char *msg)
{
	int rc = each_entry(repo->dirfd, add_id, ids);

	if (rc) {
		free(ids->v);
		memset(ids, 0, sizeof(*ids));
		return say(msg, rc, "reading the repository: %s", strerror(-rc));
	}
	if (ids->n)
		qsort(ids->v, ids->n, sizeof(*ids->v), cmp_id);
	return 0;
}

/* ---- JSON files ------------------------------------------------------------------ */

/* Write @obj into the new file @name of @dirfd, durably. */
static int write_json(int dirfd, const char *name, json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = s ? strlen(s) : 0;
	int fd, rc;

	if (!s)
		return -ENOMEM;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = pwrite_full(fd, s, len, 0);
	if (!rc)
		rc = pwrite_full(fd, "\n", 1, len);
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* Parse the file @name of @dirfd; -EBADMSG if it is not one JSON object. */
static int read_json(int dirfd, const char *name, json_object **obj, char why[WHY_SIZE])
{
	enum json_tokener_error e;
	json_tokener *tok = NULL;
	char *buf = NULL;
	struct stat st;
	size_t end;
	int fd, rc;

	*obj = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fstat(fd, &st) ? -errno : 0;
	if (!rc && (!S_ISREG(st.st_mode) || st.st_size > JSON_MAX)) {
		snprintf(why, WHY_SIZE, "is not a regular file of JSON");
		rc = -EBADMSG;
	}
	if (rc)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	tok = json_tokener_new();
	rc = buf && tok ? pread_full(fd, buf, (size_t)st.st_size, 0) : -ENOMEM;
	if (rc)
		goto out;
	*obj = json_tokener_parse_ex(tok, buf, (int)st.st_size);
	end = json_tokener_get_parse_end(tok);
	while (*obj && end < (size_t)st.st_size && isspace((unsigned char)buf[end]))
		end++;
	if (!*obj || end < (size_t)st.st_size || !json_object_is_type(*obj, json_type_object)) {
		e = json_tokener_get_error(tok);
		if (e == json_tokener_continue)
			snprintf(why, WHY_SIZE, "is truncated");
		else if (!*obj)
			snprintf(why, WHY_SIZE, "is not JSON (%s)", json_tokener_error_desc(e));
		else
			snprintf(why, WHY_SIZE, "is not one JSON object");
		json_object_put(*obj);
		*obj = NULL;
		rc = -EBADMSG;
	}
out:
	json_tokener_free(tok);
	free(buf);
	close(fd);
	return rc;
}

/*
 * Building objects: put*() add a member (the object owns the value from
 * then on) and return 1 if out of memory, so that failures add up.
 */
static int put(json_object *o, const char *key, json_object *v)
{
	if (o && !json_object_object_add(o, key, v))
		return 0;
	json_object_put(v);
	return 1;
}

/* A string, or null if @s is NULL. */
static int put_str(json_object *o, const char *key, const char *s)
{
	json_object *v = s ? json_object_new_string(s) : NULL;

	return s && !v ? 1 : put(o, key, v);
}

static int put_u64(json_object *o, const char *key, uint64_t n)
{
	json_object *v = json_object_new_uint64(n);

	return v ? put(o, key, v) : 1;
}

static int put_time(json_object *o, const char *key, int64_t t)
{
	char buf[32];

	format_time(t, buf);
	return put_str(o, key, buf);
}

/*
 * Reading objects: get*() return the member, or note in *@bad the first
 * key that is missing or of the wrong type and return NULL or 0.
 */
static void check(int cond, const char *key, const char **bad)
{
	if (!cond && !*bad)
		*bad = key;
}

static json_object *get(json_object *o, const char *key, json_type type, const char **bad)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	check(json_object_is_type(v, type), key, bad);
	return json_object_is_type(v, type) ? v : NULL;
}

/* A string, or NULL for null if @nullable. */
static const char *get_str(json_object *o, const char *key, int nullable, const char **bad)
{
	json_object *v = NULL;

	if (nullable && json_object_object_get_ex(o, key, &v) && !v)
		return NULL;
	return json_object_get_string(get(o, key, json_type_string, bad));
}

static uint64_t get_u64(json_object *o, const char *key, uint64_t max, const char **bad)
{
	json_object *v = get(o, key, json_type_int, bad);
	int in_range = v && json_object_get_int64(v) >= 0 && json_object_get_uint64(v) <= max;

	check(in_range, key, bad);
	return in_range ? json_object_get_uint64(v) : 0;
}

/* ---- the manifest ------------------------------------------------------------------ */

static void device_free(struct repo_device *d)
{
	free(d->name);
	free(d->cbt_generation);
	free(d->data_file);
	free(d->sums_file);
	memset(d, 0, sizeof(*d));
}

static void point_info_free(struct repo_point_info *p)
{
	size_t i;

	for (i = 0; i < p->ndevices; i++)
		device_free(&p->devices[i]);
	free(p->devices);
	free(p->parent);
	free(p->tool_version);
	free(p->errmsg);
	memset(p, 0, sizeof(*p));
}

static const struct repo_device *find_device(const struct repo_point_info *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ndevices; i++)
		if (!strcmp(p->devices[i].name, name))
			return &p->devices[i];
	return NULL;
}

static uint64_t nblocks(const struct repo_device *d)
{
	return (d->size + d->block_size - 1) / d->block_size;
}

static int valid_block_size(uint64_t bs)
{
	return bs >= REPO_BLOCK_MIN && bs <= REPO_BLOCK_MAX && !(bs & (bs - 1));
}

/* Sizes up to this keep every offset in an off_t with room to round up. */
#define SIZE_MAX_DEV	((uint64_t)INT64_MAX - REPO_BLOCK_MAX)

static json_object *device_to_json(const struct repo_device *d)
{
	json_object *o = json_object_new_object();
	char hash[17];
	int failed;

	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)d->sums_hash);
	failed = put_str(o, "name", d->name);
	failed |= put_u64(o, "size", d->size);
	failed |= put_u64(o, "block_size", d->block_size);
	failed |= put_str(o, "cbt_generation", d->cbt_generation);
	failed |= put_u64(o, "cbt_number", d->cbt_number);
	failed |= put_str(o, "data_file", d->data_file);
	failed |= put_str(o, "checksum_file", d->sums_file);
	failed |= put_str(o, "checksum_file_xxh3", hash);
	failed |= put_str(o, "clone", repo_clone_name(d->clone));
	failed |= put_u64(o, "copied_bytes", d->copied_bytes);
	if (failed) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *point_to_json(const struct repo_point_info *p)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	int failed = put_str(o, "format", POINT_FORMAT);
	size_t i;

	failed |= put_u64(o, "version", FORMAT_VERSION);
	failed |= put_str(o, "id", p->id);
	failed |= put_str(o, "kind", p->parent ? "incremental" : "full");
	failed |= put_str(o, "parent", p->parent);
	failed |= put_time(o, "start_time", p->start_time);
	failed |= put_time(o, "end_time", p->end_time);
	failed |= put_str(o, "tool_version", p->tool_version);
	for (i = 0; devs && i < p->ndevices; i++) {
		json_object *d = device_to_json(&p->devices[i]);

		if (!d || json_object_array_add(devs, d)) {
			json_object_put(d);
			failed = 1;
		}
	}
	failed |= !devs || put(o, "devices", devs);
	if (failed) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A file name in the point's directory: nothing that leads out of it. */
static int plain_name(const char *s)
{
	return s && s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static enum repo_clone clone_of(const char *s, const char **bad)
{
	unsigned int i;

	for (i = 0; s && i < 3; i++)
		if (!strcmp(s, clone_names[i]))
			return (enum repo_clone)i;
	check(0, "clone", bad);
	return REPO_CLONE_NONE;
}

static uint64_t hash_of(const char *s, const char **bad)
{
	size_t i, n = s ? strlen(s) : 0;

	for (i = 0; i < n && isxdigit((unsigned char)s[i]); i++)
		;
	check(n == 16 && i == n, "checksum_file_xxh3", bad);
	return n == 16 && i == n ? strtoull(s, NULL, 16) : 0;
}

static int device_from_json(json_object *o, struct repo_device *d, const char **bad)
{
	const char *name = get_str(o, "name", 0, bad);
	const char *gen = get_str(o, "cbt_generation", 1, bad);
	const char *data = get_str(o, "data_file", 0, bad);
	const char *sums = get_str(o, "checksum_file", 0, bad);

	d->size = get_u64(o, "size", SIZE_MAX_DEV, bad);
	check(d->size > 0, "size", bad);
	d->block_size = (uint32_t)get_u64(o, "block_size", REPO_BLOCK_MAX, bad);
	check(valid_block_size(d->block_size), "block_size", bad);
	d->cbt_number = (uint32_t)get_u64(o, "cbt_number", UINT32_MAX, bad);
	d->sums_hash = hash_of(get_str(o, "checksum_file_xxh3", 0, bad), bad);
	d->clone = clone_of(get_str(o, "clone", 0, bad), bad);
	d->copied_bytes = get_u64(o, "copied_bytes", UINT64_MAX, bad);
	check(name && name[0], "name", bad);
	check(plain_name(data), "data_file", bad);
	check(plain_name(sums) && (!data || strcmp(data, sums)), "checksum_file", bad);
	if (*bad)
		return -EBADMSG;
	if (dup_str(name, &d->name) || dup_str(gen, &d->cbt_generation) ||
	    dup_str(data, &d->data_file) || dup_str(sums, &d->sums_file))
		return -ENOMEM;
	return 0;
}

static int devices_from_json(json_object *arr, struct repo_point_info *p, const char **bad)
{
	size_t i, n = arr ? json_object_array_length(arr) : 0;
	int rc;

	check(n > 0, "devices", bad);
	if (*bad)
		return -EBADMSG;
	p->devices = calloc(n, sizeof(*p->devices));
	if (!p->devices)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(arr, i);

		check(json_object_is_type(d, json_type_object), "devices", bad);
		if (*bad)
			return -EBADMSG;
		rc = device_from_json(d, &p->devices[i], bad);
		p->ndevices = i + 1;
		if (rc)
			return rc;
		check(find_device(p, p->devices[i].name) == &p->devices[i], "name", bad);
	}
	return *bad ? -EBADMSG : 0;
}

static int point_from_json(json_object *o, struct repo_point_info *p, const char **bad)
{
	const char *format = get_str(o, "format", 0, bad);
	uint64_t version = get_u64(o, "version", UINT32_MAX, bad);
	const char *id = get_str(o, "id", 0, bad);
	const char *kind = get_str(o, "kind", 0, bad);
	const char *parent = get_str(o, "parent", 1, bad);
	const char *tool = get_str(o, "tool_version", 0, bad);

	check(format && !strcmp(format, POINT_FORMAT), "format", bad);
	check(version == FORMAT_VERSION, "version", bad);
	check(id && !strcmp(id, p->id), "id", bad);
	check(!parent || is_point_id(parent), "parent", bad);
	check(kind && !strcmp(kind, parent ? "incremental" : "full"), "kind", bad);
	check(!parse_time(get_str(o, "start_time", 0, bad), &p->start_time), "start_time", bad);
	check(!parse_time(get_str(o, "end_time", 0, bad), &p->end_time), "end_time", bad);
	if (*bad)
		return -EBADMSG;
	if (dup_str(parent, &p->parent) || dup_str(tool, &p->tool_version))
		return -ENOMEM;
	return devices_from_json(get(o, "devices", json_type_array, bad), p, bad);
}

/*
 * The manifest of the point @id into @p (p->id is set whatever happens);
 * *@dirfd, if not NULL, gets the point's directory.
 */
static int load_point(struct repo *repo, const char *id, struct repo_point_info *p,
		      int *dirfd, char *msg)
{
	const char *bad = NULL;
	json_object *obj = NULL;
	char why[WHY_SIZE];
	int fd, rc;

	memset(p, 0, sizeof(*p));
	if (!is_point_id(id))
		return say(msg, -EINVAL, "'%s' is not a point id (8 digits)", id);
	memcpy(p->id, id, REPO_ID_SIZE);
	fd = openat(repo->dirfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return say(msg, -errno, "point %s: %s", id,
			   errno == ENOENT ? "no such point" : strerror(errno));
	rc = read_json(fd, MANIFEST, &obj, why);
	if (rc == -EBADMSG)
		say(msg, rc, "point %s: %s %s", id, MANIFEST, why);
	else if (rc)
		say(msg, rc, "point %s: %s: %s", id, MANIFEST, strerror(-rc));
	if (!rc) {
		rc = point_from_json(obj, p, &bad);
		if (rc == -EBADMSG)
			say(msg, rc, "point %s: %s: '%s' is missing or invalid", id, MANIFEST, bad);
		else if (rc)
			say(msg, rc, "point %s: out of memory", id);
	}
	json_object_put(obj);
	if (rc || !dirfd) {
		close(fd);
		if (rc)
			point_info_free(p);
		memcpy(p->id, id, REPO_ID_SIZE);
	} else {
		*dirfd = fd;
	}
	return rc;
}

/* ---- the repository ------------------------------------------------------------------ */

static int not_empty(int dirfd, const char *name, void *data)
{
	(void)dirfd;
	(void)data;
	return is_tmp(name) ? 0 : -ENOTEMPTY;
}

static json_object *marker_json(void)
{
	json_object *o = json_object_new_object();

	if (put_str(o, "format", MARKER_FORMAT) | put_u64(o, "version", FORMAT_VERSION)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The marker, written under a temporary name and renamed: whole or absent. */
static int write_marker(int dirfd)
{
	json_object *m = marker_json();
	int rc = m ? write_json(dirfd, TMP_PREFIX MARKER, m) : -ENOMEM;

	json_object_put(m);
	if (!rc && renameat2(dirfd, TMP_PREFIX MARKER, dirfd, MARKER, RENAME_NOREPLACE))
		rc = -errno;
	if (!rc && fsync(dirfd))
		rc = -errno;
	return rc;
}

/* The new directory's own entry in its parent, durable too. */
static int sync_parent(const char *dir)
{
	char *copy = strdup(dir);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int rc = fd < 0 ? (copy ? -errno : -ENOMEM) : 0;

	if (!rc && fsync(fd))
		rc = -errno;
	close_fd(&fd);
	free(copy);
	return rc;
}

int repo_create(const char *dir, char *msg)
{
	int made = !mkdir(dir, 0700), fd, rc;

	if (!made && errno != EEXIST)
		return say(msg, -errno, "%s: %s", dir, strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return say(msg, -errno, "%s: %s", dir, strerror(errno));
	rc = each_entry(fd, not_empty, NULL);
	if (rc == -ENOTEMPTY) {
		say(msg, rc, "%s: not empty: a repository is made in a new or empty directory", dir);
		goto out;
	}
	if (!rc)
		rc = each_entry(fd, remove_leftover, NULL);
	if (!rc)
		rc = write_marker(fd);
	if (!rc && made)
		rc = sync_parent(dir);
	if (rc)
		say(msg, rc, "%s: writing %s: %s", dir, MARKER, strerror(-rc));
out:
	close(fd);
	return rc;
}

static int check_marker(int dirfd, const char *dir, char *msg)
{
	const char *bad = NULL, *format;
	char why[WHY_SIZE];
	json_object *obj;
	uint64_t version;
	int rc = read_json(dirfd, MARKER, &obj, why);

	if (rc == -ENOENT)
		return say(msg, rc, "%s: not a backup repository (no %s)", dir, MARKER);
	if (rc == -EBADMSG)
		return say(msg, rc, "%s: %s %s", dir, MARKER, why);
	if (rc)
		return say(msg, rc, "%s: %s: %s", dir, MARKER, strerror(-rc));
	format = get_str(obj, "format", 0, &bad);
	version = get_u64(obj, "version", UINT32_MAX, &bad);
	if (bad || strcmp(format, MARKER_FORMAT))
		rc = say(msg, -EBADMSG, "%s: not a backup repository (%s: '%s' is missing or invalid)",
			 dir, MARKER, bad ? bad : "format");
	else if (version != FORMAT_VERSION)
		rc = say(msg, -EPROTONOSUPPORT, "%s: repository format version %llu: this tool reads %d",
			 dir, (unsigned long long)version, FORMAT_VERSION);
	json_object_put(obj);
	return rc;
}

int repo_open(const char *dir, struct repo **repo, char *msg)
{
	struct repo *r = malloc(sizeof(*r));
	int rc;

	*repo = NULL;
	if (!r)
		return say(msg, -ENOMEM, "out of memory");
	r->busy = r->held = 0;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		rc = say(msg, -errno, "%s: %s", dir, strerror(errno));
		free(r);
		return rc;
	}
	rc = check_marker(r->dirfd, dir, msg);
	if (rc) {
		repo_close(r);
		return rc;
	}
	*repo = r;
	return 0;
}

void repo_close(struct repo *repo)
{
	if (!repo)
		return;
	close(repo->dirfd);
	free(repo);
}

/*
 * One writer at a time (a point, a prune): flock() on the repository's
 * directory, which also keeps two handles of one process apart.
 */
static int lock_repo(struct repo *repo, char *msg)
{
	if (repo->busy)
		return say(msg, -EBUSY, "a point is already being written to this repository");
	if (repo->held) {
		repo->busy = 1;
		return 0;
	}
	if (flock(repo->dirfd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ?
		       say(msg, -EBUSY, "the repository is in use by another backup or prune") :
		       say(msg, -errno, "locking the repository: %s", strerror(errno));
	repo->busy = 1;
	return 0;
}

static void unlock_repo(struct repo *repo)
{
	if (!repo->held)
		flock(repo->dirfd, LOCK_UN);
	repo->busy = 0;
}

int repo_lock(struct repo *repo, char *msg)
{
	int rc;

	if (repo->held)
		return 0;
	rc = lock_repo(repo, msg);
	if (!rc) {
		repo->held = 1;
		repo->busy = 0;
	}
	return rc;
}

int repo_dirfd(const struct repo *repo)
{
	return repo->dirfd;
}

/* ---- reading and writing blocks ---------------------------------------------------- */

/* How the file written gets the blocks that are all zeroes. */
enum zeros {
	ZEROS_WRITE,	/* written */
	ZEROS_ZERO,	/* zeroed by the device or file system (a restore's
			 * block device or file with old data), else written */
	ZEROS_SKIP,	/* left alone: the file reads as zeroes there already */
	ZEROS_PUNCH,	/* holes punched: the file holds a clone of older data */
};

/* The state of copying one device, a buffer's worth of blocks at a time. */
struct dev_io {
	const struct repo_device *dev;
	int image;		/* the point's image file, opened here */
	int sums;		/* its checksum file, opened here */
	int src;		/* read: the source device, or the image */
	int dst;		/* written: the new image, the restore target, or -1 */
	int direct;		/* the new image again, O_DIRECT; -1 if none */
	enum zeros zeros;
	uint8_t *buf;		/* BUF_SIZE bytes */
	uint64_t *sums_buf;	/* the checksums of buf's blocks, little-endian */
	uint64_t copied;	/* bytes read from the source */
	uint64_t bad;		/* blocks that do not match their checksum */
	uint64_t first_bad;
	const char *what;	/* what was being done, for messages */
	const struct repo_source *source;	/* a backup's: its progress */
};

/* What O_DIRECT needs of buffers, offsets and lengths here. */
#define DIRECT_ALIGN	4096u

/* A buffer for data: aligned for O_DIRECT reads and writes. */
static void *data_buf(void)
{
	void *p;

	return posix_memalign(&p, DIRECT_ALIGN, BUF_SIZE) ? NULL : p;
}

static int io_init(struct dev_io *io, const struct repo_device *dev)
{
	memset(io, 0, sizeof(*io));
	io->dev = dev;
	io->image = io->sums = io->src = io->dst = io->direct = -1;
	io->buf = data_buf();
	io->sums_buf = malloc(BUF_SIZE / REPO_BLOCK_MIN * sizeof(uint64_t));
	return io->buf && io->sums_buf ? 0 : -ENOMEM;
}

static void io_done(struct dev_io *io)
{
	close_fd(&io->image);
	close_fd(&io->direct);
	close_fd(&io->sums);
	free(io->buf);
	free(io->sums_buf);
}

/* Bytes of the blocks [first, first + n): the last block may be short. */
static uint64_t chunk_len(const struct dev_io *io, uint64_t first, uint64_t n)
{
	uint64_t off = first * io->dev->block_size;

	return min_u64(n * io->dev->block_size, io->dev->size - off);
}

/* Checksum of block @i of the @len bytes in the buffer. */
/* XXH3 of block @i of the @len bytes at @buf (the last block may be short). */
static uint64_t block_hash(const struct dev_io *io, const uint8_t *buf, uint64_t i, uint64_t len)
{
	uint64_t start = i * io->dev->block_size;

	return XXH3_64bits(buf + start, min_u64(io->dev->block_size, len - start));
}

static int write_run(int fd, const uint8_t *p, uint64_t len, uint64_t off, enum zeros how)
{
	if (how == ZEROS_SKIP)
		return 0;
	if (how == ZEROS_PUNCH || how == ZEROS_ZERO) {
		if (!fallocate(fd, (how == ZEROS_PUNCH ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE) |
			       FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		/* Not in this file system or device: write the zeroes. */
	}
	return pwrite_full(fd, p, len, off);
}

/*
 * Data of a new image: straight to the device (O_DIRECT) where the run is
 * aligned, so that a backup neither copies it into the page cache nor
 * pushes the server's cache out; through the cache otherwise (the short
 * last block, or a file system that refuses direct I/O).
 */
static int write_data(struct dev_io *io, const uint8_t *p, uint64_t len, uint64_t off)
{
	int rc;

	if (io->direct >= 0 && !(off % DIRECT_ALIGN) && !(len % DIRECT_ALIGN) &&
	    !((uintptr_t)p % DIRECT_ALIGN)) {
		rc = pwrite_full(io->direct, p, len, off);
		if (rc != -EINVAL)
			return rc;
		close_fd(&io->direct);	/* not for this file system after all */
	}
	return pwrite_full(io->dst, p, len, off);
}

/* The @len bytes of the buffer at @off of io->dst, runs of zero blocks as io->zeros says. */
static int write_runs(struct dev_io *io, uint64_t off, uint64_t len)
{
	uint32_t bs = io->dev->block_size;
	uint64_t i, end;
	int rc = 0, zero;

	if (io->zeros == ZEROS_WRITE)
		return write_data(io, io->buf, len, off);
	for (i = 0; !rc && i < len; i = end) {
		zero = is_zero(io->buf + i, min_u64(bs, len - i));
		for (end = i + bs; end < len && is_zero(io->buf + end, min_u64(bs, len - end)) == zero;)
			end += bs;
		end = min_u64(end, len);
		rc = zero ? write_run(io->dst, io->buf + i, end - i, off + i, io->zeros) :
			    write_data(io, io->buf + i, end - i, off + i);
	}
	return rc;
}

/* Read or write the checksums of blocks [first, first + n) from io->sums_buf. */
static int sums_io(struct dev_io *io, uint64_t first, uint64_t n, int write)
{
	return io_full(io->sums, (uint8_t *)io->sums_buf, n * sizeof(uint64_t),
		       SUMS_HDR + first * sizeof(uint64_t), write);
}

typedef int chunk_fn(struct dev_io *io, uint64_t first, uint64_t n);

/* @step on the blocks [first, end), a buffer's worth at a time. */
static int each_chunk(struct dev_io *io, uint64_t first, uint64_t end, chunk_fn *step)
{
	uint64_t per = BUF_SIZE / io->dev->block_size, n;
	int rc = 0;

	for (; !rc && first < end; first += n) {
		n = min_u64(per, end - first);
		rc = step(io, first, n);
	}
	return rc;
}

/*
 * Verify and restore: read blocks of the image and their checksums, count
 * the blocks that differ; restore (io->dst) writes them out, unless one
 * differs.
 */
static int check_chunk(struct dev_io *io, uint64_t first, uint64_t n)
{
	uint64_t off = first * io->dev->block_size, len = chunk_len(io, first, n), i;
	int rc;

	io->what = "reading the image";
	rc = pread_full(io->src, io->buf, len, off);
	if (rc)
		return rc;
	io->what = "reading the checksums";
	rc = sums_io(io, first, n, 0);
	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		if (le64toh(io->sums_buf[i]) != block_hash(io, io->buf, i, len) && !io->bad++)
			io->first_bad = first + i;
	if (io->dst < 0)
		return 0;
	if (io->bad)
		return -EBADMSG;
	io->what = "writing the target";
	return write_runs(io, off, len);
}

/* ---- reading a backup's source: several requests in flight --------------------- */

/*
 * The source (a snapshot image, opened O_DIRECT) is read by READERS threads
 * into SLOTS buffers, each taking the next chunk of the ranges to copy and
 * checksumming its blocks; the caller's thread writes the chunks out in
 * order. So the device sees up to READERS large requests at once, and the
 * hashing is spread over the CPUs, while memory stays SLOTS buffers.
 */
#define READERS	4
#define SLOTS	8

enum { SLOT_FREE, SLOT_READING, SLOT_READY };

struct slot {
	uint8_t *buf;		/* BUF_SIZE bytes */
	uint64_t *sums;		/* of its blocks, little-endian */
	uint64_t job;		/* the chunk's number in the order of the copy */
	uint64_t first, n;	/* its blocks */
	int state;
	int err;
};

/* Whole blocks to copy: sector ranges widened to blocks, in order. */
struct block_ranges {
	const struct blksnap_sectors *r;	/* NULL: the whole device */
	size_t count;
	size_t i;		/* the next range */
	uint64_t first;		/* the first block of the current range */
	uint64_t next;		/* the next block to copy */
	uint64_t end;		/* the end of the current range (blocks) */
};

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dev_io *io;
	struct slot slots[SLOTS];
	struct block_ranges br;
	uint64_t next_job;	/* jobs handed out */
	uint64_t consumed;	/* jobs written out */
	int exhausted;		/* no job left to hand out */
	int stop;
};

static void br_init(struct block_ranges *br, const struct repo_device *dev,
		    const struct repo_changes *ch)
{
	memset(br, 0, sizeof(*br));
	if (ch) {
		br->r = ch->ranges;
		br->count = ch->count;
	} else {
		br->end = nblocks(dev);
	}
}

/* The next chunk of at most @per blocks; 0 when there is none. */
static int br_next(struct block_ranges *br, const struct repo_device *dev, uint64_t per,
		   uint64_t *first, uint64_t *n)
{
	uint32_t bs = dev->block_size;
	uint64_t start, end, fb;

	while (br->next >= br->end) {
		if (!br->r || br->i >= br->count)
			return 0;
		start = br->r[br->i].offset * BLKSNAP_SECTOR_SIZE;
		end = min_u64(start + br->r[br->i].count * BLKSNAP_SECTOR_SIZE, dev->size);
		br->i++;
		if (start >= end)
			continue;
		/*
		 * A range that begins in the blocks of the one before (two
		 * ranges in one block) starts after them: each block is copied
		 * once. Ranges in any other order are copied as they come.
		 */
		fb = start / bs;
		if (fb >= br->first && fb < br->end) {
			br->next = br->end;
			br->end = max_u64(br->end, (end + bs - 1) / bs);
		} else {
			br->next = fb;
			br->end = (end + bs - 1) / bs;
		}
		br->first = fb;
	}
	*first = br->next;
	*n = min_u64(per, br->end - br->next);
	br->next += *n;
	return 1;
}

/* Bytes the ranges make, for the progress. */
static uint64_t br_total(const struct repo_device *dev, const struct repo_changes *ch,
			 struct dev_io *io)
{
	struct block_ranges br;
	uint64_t first, n, total = 0;

	br_init(&br, dev, ch);
	while (br_next(&br, dev, UINT64_MAX / 2, &first, &n))
		total += chunk_len(io, first, n);
	return total;
}

static void *reader(void *data)
{
	struct pipeline *pl = data;
	struct dev_io *io = pl->io;
	uint64_t per = BUF_SIZE / io->dev->block_size, len, i;
	struct slot *s;
	int rc;

	pthread_mutex_lock(&pl->lock);
	while (!pl->stop && !pl->exhausted) {
		s = &pl->slots[pl->next_job % SLOTS];
		if (pl->next_job >= pl->consumed + SLOTS) {	/* its slot is still in use */
			pthread_cond_wait(&pl->cond, &pl->lock);
			continue;
		}
		if (!br_next(&pl->br, io->dev, per, &s->first, &s->n)) {
			pl->exhausted = 1;
			pthread_cond_broadcast(&pl->cond);
			break;
		}
		s->job = pl->next_job++;
		s->state = SLOT_READING;
		pthread_mutex_unlock(&pl->lock);

		len = chunk_len(io, s->first, s->n);
		rc = pread_full(io->src, s->buf, len, s->first * io->dev->block_size);
		for (i = 0; !rc && i < s->n; i++)
			s->sums[i] = htole64(block_hash(io, s->buf, i, len));

		pthread_mutex_lock(&pl->lock);
		s->err = rc;
		s->state = SLOT_READY;
		pthread_cond_broadcast(&pl->cond);
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

/*
 * Start the writeback of what was just written and wait for what was
 * written WRITE_LAG bytes before: the disk writes while the source is read,
 * and the final fsync() has little left to do. Errors are the fsync()'s to
 * report.
 */
#define WRITE_LAG	(16u << 20)

static void write_behind(int fd, uint64_t off, uint64_t len)
{
	sync_file_range(fd, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE);
	if (off >= WRITE_LAG)
		sync_file_range(fd, (off64_t)(off - WRITE_LAG), (off64_t)len,
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
}

/* Write out the chunk of slot @s: its blocks and their checksums. */
static int store_chunk(struct dev_io *io, struct slot *s)
{
	uint64_t off = s->first * io->dev->block_size, len = chunk_len(io, s->first, s->n);
	uint8_t *buf = io->buf;
	uint64_t *sums = io->sums_buf;
	int rc;

	if (s->err) {
		io->what = s->err == -ENODATA ? "the source ends before the size given" :
						"reading the source";
		return s->err;
	}
	io->buf = s->buf;
	io->sums_buf = s->sums;
	io->what = "writing the image";
	rc = write_runs(io, off, len);
	if (!rc && io->direct < 0)	/* direct writes leave nothing behind */
		write_behind(io->dst, off, len);
	if (!rc) {
		io->copied += len;
		io->what = "writing the checksums";
		rc = sums_io(io, s->first, s->n, 1);
	}
	io->buf = buf;
	io->sums_buf = sums;
	return rc;
}

/* The next slot in order, once read; NULL when the copy is complete. */
static struct slot *next_ready(struct pipeline *pl, uint64_t job)
{
	struct slot *s = &pl->slots[job % SLOTS];

	pthread_mutex_lock(&pl->lock);
	while (!(s->state == SLOT_READY && s->job == job) &&
	       !(pl->exhausted && job >= pl->next_job))
		pthread_cond_wait(&pl->cond, &pl->lock);
	if (!(s->state == SLOT_READY && s->job == job))
		s = NULL;
	pthread_mutex_unlock(&pl->lock);
	return s;
}

static void release(struct pipeline *pl, struct slot *s)
{
	pthread_mutex_lock(&pl->lock);
	s->state = SLOT_FREE;
	pl->consumed++;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
}

/* Copy the blocks of @ch (NULL: every block) from io->src, READERS at a time. */
static int copy_blocks(struct dev_io *io, const struct repo_changes *ch)
{
	const struct repo_source *src = io->source;
	struct pipeline *pl = calloc(1, sizeof(*pl));
	pthread_t threads[READERS];
	uint64_t total, job;
	struct slot *s;
	int i, nthreads = 0, rc = 0;

	io->what = "out of memory";
	if (!pl)
		return -ENOMEM;
	pl->io = io;
	for (i = 0; i < SLOTS; i++) {
		pl->slots[i].buf = data_buf();
		pl->slots[i].sums = malloc(BUF_SIZE / REPO_BLOCK_MIN * sizeof(uint64_t));
		if (!pl->slots[i].buf || !pl->slots[i].sums)
			rc = -ENOMEM;
	}
	if (rc)
		goto out;
	total = br_total(io->dev, ch, io);
	br_init(&pl->br, io->dev, ch);
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	for (i = 0; i < READERS; i++) {
		rc = -pthread_create(&threads[i], NULL, reader, pl);
		if (rc) {
			io->what = "starting the readers";
			break;
		}
		nthreads++;
	}
	if (src && src->progress && !rc && src->progress(src->progress_arg, 0, total)) {
		io->what = "interrupted";
		rc = -ECANCELED;
	}
	for (job = 0; !rc && (s = next_ready(pl, job)); job++) {
		rc = store_chunk(io, s);
		release(pl, s);
		if (!rc && src && src->progress &&
		    src->progress(src->progress_arg, io->copied, total)) {
			io->what = "interrupted";
			rc = -ECANCELED;
		}
	}
	pthread_mutex_lock(&pl->lock);
	pl->stop = 1;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
out:
	for (i = 0; i < SLOTS; i++) {
		free(pl->slots[i].buf);
		free(pl->slots[i].sums);
	}
	free(pl);
	return rc;
}

/* ---- the checksum file ------------------------------------------------------------- */

static void sums_header(const struct repo_device *d, struct sums_header *h)
{
	memcpy(h->magic, SUMS_MAGIC, sizeof(h->magic));
	h->version = htole32(FORMAT_VERSION);
	h->block_size = htole32(d->block_size);
	h->size = htole64(d->size);
	h->blocks = htole64(nblocks(d));
}

static uint64_t sums_size(const struct repo_device *d)
{
	return SUMS_HDR + nblocks(d) * sizeof(uint64_t);
}

/* The image @data and checksums @sums of @d are what its manifest says. */
static int check_files(struct dev_io *io, const struct repo_device *d, int data, int sums)
{
	struct sums_header want, got;
	struct stat st;
	uint64_t hash;
	int rc;

	io->what = "reading the image's size";
	if (fstat(data, &st))
		return -errno;
	io->what = "the image's size is not the device's";
	if ((uint64_t)st.st_size != d->size)
		return -EBADMSG;
	io->what = "reading the checksums";
	rc = pread_full(sums, &got, sizeof(got), 0);
	if (rc && rc != -ENODATA)
		return rc;
	sums_header(d, &want);
	io->what = "the checksum file's header does not match the manifest";
	if (rc || memcmp(&got, &want, sizeof(got)))
		return -EBADMSG;
	io->what = "reading the checksums";
	rc = hash_file(sums, io->buf, &hash);
	if (rc)
		return rc;
	io->what = "the checksum file is damaged (its XXH3 is not the manifest's)";
	return hash == d->sums_hash ? 0 : -EBADMSG;
}

/* Open the image and checksums of io->dev in the point @dirfd, for reading. */
static int open_image(struct dev_io *io, int dirfd)
{
	io->what = "opening the image";
	io->image = io->src = openat(dirfd, io->dev->data_file, O_RDONLY | O_CLOEXEC);
	if (io->image < 0)
		return -errno;
	io->what = "opening the checksums";
	io->sums = openat(dirfd, io->dev->sums_file, O_RDONLY | O_CLOEXEC);
	if (io->sums < 0)
		return -errno;
	return check_files(io, io->dev, io->image, io->sums);
}

/* ---- cloning the parent's image ------------------------------------------------------ */

/* FICLONE fails so where the file system cannot share blocks (ext4, tmpfs). */
static int clone_unsupported(int err)
{
	return err == EOPNOTSUPP || err == EXDEV || err == EINVAL || err == ENOTTY ||
	       err == ENOSYS;
}

static int copy_range(int dst, int src, uint64_t off, uint64_t len)
{
	while (len) {
		loff_t in = (loff_t)off, out = (loff_t)off;
		ssize_t n = copy_file_range(src, &in, dst, &out, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* Copy the file @src of @size bytes into the empty @dst, its holes kept. */
static int copy_sparse(int dst, int src, uint64_t size)
{
	off_t data, hole;
	uint64_t off;
	int rc = 0;

	if (ftruncate(dst, (off_t)size))
		return -errno;
	for (off = 0; !rc && off < size; off = (uint64_t)hole) {
		data = lseek(src, (off_t)off, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;	/* only a hole is left */
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		rc = copy_range(dst, src, (uint64_t)data, min_u64((uint64_t)hole, size) -
				(uint64_t)data);
	}
	return rc;
}

/* @dst (empty) becomes a copy of @src: shared blocks if it can, else copied. */
static int clone_file(int dst, int src, uint64_t size, enum repo_clone *how)
{
	if (!ioctl(dst, FICLONE, src)) {
		*how = REPO_CLONE_REFLINK;
		return 0;
	}
	if (!clone_unsupported(errno))
		return -errno;
	*how = REPO_CLONE_COPY;
	return copy_sparse(dst, src, size);
}

/* The new image and checksums start as the parent's (checked first). */
static int clone_parent(struct dev_io *io, int parent_dirfd, const struct repo_device *base,
			enum repo_clone *how)
{
	enum repo_clone sums_how;
	int data = -1, sums = -1, rc;

	io->what = "opening the parent point's image";
	data = openat(parent_dirfd, base->data_file, O_RDONLY | O_CLOEXEC);
	if (data < 0)
		goto fail;
	io->what = "opening the parent point's checksums";
	sums = openat(parent_dirfd, base->sums_file, O_RDONLY | O_CLOEXEC);
	if (sums < 0)
		goto fail;
	rc = check_files(io, base, data, sums);
	if (rc == -EBADMSG)
		io->what = "the parent point's files are damaged (verify it; back up whole)";
	if (rc)
		goto out;
	io->what = "cloning the parent point's image";
	rc = clone_file(io->dst, data, base->size, how);
	if (rc)
		goto out;
	io->what = "cloning the parent point's checksums";
	rc = clone_file(io->sums, sums, sums_size(base), &sums_how);
	goto out;
fail:
	rc = -errno;
out:
	close_fd(&data);
	close_fd(&sums);
	return rc;
}

/* ---- writing a point ------------------------------------------------------------------ */

/* A full copy: an image of holes and a checksum file of zeroes, filled. */
static int copy_whole(struct dev_io *io)
{
	struct sums_header h;
	int rc;

	sums_header(io->dev, &h);
	io->what = "sizing the image";
	if (ftruncate(io->dst, (off_t)io->dev->size))
		return -errno;
	io->what = "writing the checksums";
	rc = pwrite_full(io->sums, &h, sizeof(h), 0);
	if (rc)
		return rc;
	if (ftruncate(io->sums, (off_t)sums_size(io->dev)))
		return -errno;
	io->zeros = ZEROS_SKIP;
	return copy_blocks(io, NULL);
}

/* The changed ranges into the parent's clone: whole blocks around them. */
static int copy_changes(struct dev_io *io, const struct repo_changes *ch)
{
	io->zeros = ZEROS_PUNCH;
	return copy_blocks(io, ch);
}

static int sync_device(struct repo_device *dev, struct dev_io *io)
{
	int rc;

	io->what = "syncing the image";
	if (fsync(io->image))
		return -errno;
	io->what = "reading the checksums back";
	rc = hash_file(io->sums, io->buf, &dev->sums_hash);
	if (rc)
		return rc;
	io->what = "syncing the checksums";
	return fsync(io->sums) ? -errno : 0;
}

static int open_new(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

/* The image and checksums of @dev in the point: whole, or its parent's + changes. */
static int write_device(struct repo_point *pt, struct repo_device *dev,
			const struct repo_device *base, const struct repo_source *src,
			char *msg)
{
	struct dev_io io;
	char who[300];
	int rc = io_init(&io, dev);

	snprintf(who, sizeof(who), "device %s", dev->name);
	if (rc)
		goto out;
	io.src = src->fd;
	io.source = src;
	io.what = "creating the image";
	io.image = io.dst = open_new(pt->dirfd, dev->data_file);
	if (io.image < 0)
		goto fail;
	/* A second descriptor for direct writes; none if refused. */
	io.direct = openat(pt->dirfd, dev->data_file, O_WRONLY | O_DIRECT | O_CLOEXEC);
	io.what = "creating the checksums";
	io.sums = open_new(pt->dirfd, dev->sums_file);
	if (io.sums < 0)
		goto fail;
	if (base) {
		rc = clone_parent(&io, pt->parent_dirfd, base, &dev->clone);
		if (!rc)
			rc = copy_changes(&io, src->changes);
	} else {
		rc = copy_whole(&io);
	}
	dev->copied_bytes = io.copied;
	if (!rc)
		rc = sync_device(dev, &io);
	goto out;
fail:
	rc = -errno;
out:
	if (rc)
		fail_io(msg, rc, who, rc == -ENOMEM && !io.what ? "out of memory" : io.what);
	io_done(&io);
	return rc;
}

/* Image and checksum file names from the device's name, safe in a directory. */
static int file_names(const char *name, struct repo_device *d)
{
	const char *s = strncmp(name, "/dev/", 5) || !name[5] ? name : name + 5;
	char base[128];
	size_t n = 0;

	if (*s == '.')
		base[n++] = '_';	/* not hidden, not "." or ".." */
	for (; *s && n < sizeof(base) - 1; s++)
		base[n++] = isalnum((unsigned char)*s) || strchr("+-._:@", *s) ? *s : '_';
	base[n] = 0;
	if (asprintf(&d->data_file, "%s.img", base) < 0) {
		d->data_file = NULL;
		return -ENOMEM;
	}
	if (asprintf(&d->sums_file, "%s.xxh3", base) < 0) {
		d->sums_file = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int check_ranges(const struct repo_source *src, char *msg)
{
	uint64_t sectors = (src->size + BLKSNAP_SECTOR_SIZE - 1) / BLKSNAP_SECTOR_SIZE;
	const struct blksnap_sectors *r;
	size_t i;

	if (src->changes->count && !src->changes->ranges)
		return say(msg, -EINVAL, "device %s: no changed ranges given", src->name);
	for (i = 0; i < src->changes->count; i++) {
		r = &src->changes->ranges[i];
		if (r->offset >= sectors || r->count > sectors - r->offset)
			return say(msg, -ERANGE, "device %s: changed range %llu+%llu is past its end",
				   src->name, (unsigned long long)r->offset,
				   (unsigned long long)r->count);
	}
	return 0;
}

/* The source can go into the point; *@base: its parent's copy for an increment. */
static int check_source(struct repo_point *pt, const struct repo_source *src,
			const struct repo_device **base, char *msg)
{
	*base = NULL;
	if (!src->name || !src->name[0] || strlen(src->name) > 255)
		return say(msg, -EINVAL, "a device name is 1 to 255 bytes");
	if (find_device(&pt->info, src->name))
		return say(msg, -EEXIST, "device %s is already in the point", src->name);
	if (!src->size || src->size > SIZE_MAX_DEV)
		return say(msg, -EINVAL, "device %s: invalid size %llu", src->name,
			   (unsigned long long)src->size);
	if (!valid_block_size(src->block_size))
		return say(msg, -EINVAL, "device %s: block size %u is not a power of two from %u to %u",
			   src->name, src->block_size, REPO_BLOCK_MIN, REPO_BLOCK_MAX);
	if (!src->changes)
		return 0;
	if (pt->parent_dirfd < 0)
		return say(msg, -EINVAL, "device %s: changed ranges need a parent point", src->name);
	*base = find_device(&pt->parent, src->name);
	if (!*base)
		return say(msg, -ENOENT, "device %s: not in the parent point %s: back it up whole",
			   src->name, pt->parent.id);
	if ((*base)->size != src->size || (*base)->block_size != src->block_size)
		return say(msg, -EINVAL, "device %s: its size or block size is not the one in the parent point %s: back it up whole",
			   src->name, pt->parent.id);
	return check_ranges(src, msg);
}

/* The device's manifest entry, before its files are written. */
static int new_device(struct repo_point *pt, const struct repo_source *src,
		      struct repo_device *dev, char *msg)
{
	const struct repo_device *other;
	size_t i;
	void *v;

	dev->size = src->size;
	dev->block_size = src->block_size;
	dev->cbt_number = src->cbt_number;
	v = reallocarray(pt->info.devices, pt->info.ndevices + 1, sizeof(*dev));
	if (v)
		pt->info.devices = v;
	if (!v || dup_str(src->name, &dev->name) ||
	    dup_str(src->cbt_generation, &dev->cbt_generation) || file_names(src->name, dev))
		return say(msg, -ENOMEM, "out of memory");
	for (i = 0; i < pt->info.ndevices; i++) {
		other = &pt->info.devices[i];
		if (!strcmp(other->data_file, dev->data_file))
			return say(msg, -EEXIST, "devices %s and %s would share the file %s: give them names that differ in letters or digits",
				   other->name, dev->name, dev->data_file);
	}
	return 0;
}

int repo_point_add_device(struct repo_point *pt, const struct repo_source *src, char *msg)
{
	const struct repo_device *base;
	struct repo_device dev = { 0 };
	int rc = check_source(pt, src, &base, msg);

	if (!rc)
		rc = new_device(pt, src, &dev, msg);
	if (rc)
		goto out;
	rc = write_device(pt, &dev, base, src, msg);
	if (rc) {
		/* The point stays as it was, without this device. */
		unlinkat(pt->dirfd, dev.data_file, 0);
		unlinkat(pt->dirfd, dev.sums_file, 0);
		goto out;
	}
	pt->info.devices[pt->info.ndevices++] = dev;
	return 0;
out:
	device_free(&dev);
	return rc;
}

static void point_free(struct repo_point *pt)
{
	if (pt->tmp[0] && pt->dirfd >= 0)
		remove_tree(pt->repo->dirfd, pt->tmp);
	close_fd(&pt->dirfd);
	close_fd(&pt->parent_dirfd);
	point_info_free(&pt->info);
	point_info_free(&pt->parent);
	unlock_repo(pt->repo);
	free(pt);
}

void repo_point_abort(struct repo_point *pt)
{
	if (pt)
		point_free(pt);
}

const char *repo_point_id(const struct repo_point *pt)
{
	return pt->info.id;
}

/* The next id: one more than the newest point's. */
static int next_id(struct repo *repo, char id[REPO_ID_SIZE], char *msg)
{
	struct ids ids = { 0 };
	unsigned long last;
	int rc = scan_ids(repo, &ids, msg);

	if (rc)
		return rc;
	last = ids.n ? strtoul(ids.v[ids.n - 1], NULL, 10) : 0;
	free(ids.v);
	if (last >= ID_MAX)
		return say(msg, -EOVERFLOW, "no point id left after %lu", last);
	snprintf(id, REPO_ID_SIZE, "%08lu", last + 1);
	return 0;
}

int repo_point_begin(struct repo *repo, const char *parent, struct repo_point **point,
		     char *msg)
{
	struct repo_point *pt = calloc(1, sizeof(*pt));
	int rc = pt ? lock_repo(repo, msg) : say(msg, -ENOMEM, "out of memory");

	*point = NULL;
	if (rc) {
		free(pt);
		return rc;
	}
	pt->repo = repo;
	pt->dirfd = pt->parent_dirfd = -1;
	rc = remove_leftovers(repo, msg);
	if (!rc && parent)
		rc = load_point(repo, parent, &pt->parent, &pt->parent_dirfd, msg);
	if (!rc)
		rc = next_id(repo, pt->info.id, msg);
	if (rc)
		goto fail;
	pt->info.start_time = time(NULL);
	if (dup_str(parent, &pt->info.parent) || dup_str(TOOL_VERSION, &pt->info.tool_version)) {
		rc = say(msg, -ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(pt->tmp, sizeof(pt->tmp), TMP_PREFIX "%s", pt->info.id);
	if (mkdirat(repo->dirfd, pt->tmp, 0700) ||
	    (pt->dirfd = openat(repo->dirfd, pt->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = say(msg, -errno, "creating %s in the repository: %s", pt->tmp, strerror(errno));
		goto fail;
	}
	*point = pt;
	return 0;
fail:
	point_free(pt);
	return rc;
}

/*
 * The manifest last, then every name durable before the point appears
 * under its id: a crash before the rename leaves only a temporary
 * directory, which no one reads and the next writer removes.
 */
int repo_point_commit(struct repo_point *pt, char *msg)
{
	struct repo *repo = pt->repo;
	json_object *m = NULL;
	char who[32];
	int rc;

	snprintf(who, sizeof(who), "point %s", pt->info.id);
	if (!pt->info.ndevices) {
		rc = say(msg, -EINVAL, "%s: no devices in the point", who);
		goto out;
	}
	pt->info.end_time = time(NULL);
	m = point_to_json(&pt->info);
	rc = m ? write_json(pt->dirfd, MANIFEST, m) : -ENOMEM;
	if (rc) {
		fail_io(msg, rc, who, "writing the manifest");
		goto out;
	}
	if (fsync(pt->dirfd)) {
		rc = fail_io(msg, -errno, who, "syncing its directory");
		goto out;
	}
	repo_test_stop("manifest");
	if (renameat2(repo->dirfd, pt->tmp, repo->dirfd, pt->info.id, RENAME_NOREPLACE)) {
		rc = fail_io(msg, -errno, who, "moving it into place");
		goto out;
	}
	pt->tmp[0] = 0;
	if (fsync(repo->dirfd))
		rc = fail_io(msg, -errno, who, "syncing the repository (the point may not last a crash)");
out:
	json_object_put(m);
	point_free(pt);
	return rc;
}

/* ---- list, verify, restore, prune ------------------------------------------------------ */

int repo_list(struct repo *repo, struct repo_list *list, char *msg)
{
	char pmsg[REPO_MSG_SIZE];
	struct ids ids = { 0 };
	size_t i;
	int rc = scan_ids(repo, &ids, msg);

	memset(list, 0, sizeof(*list));
	if (rc)
		return rc;
	list->points = calloc(ids.n ? ids.n : 1, sizeof(*list->points));
	if (!list->points) {
		free(ids.v);
		return say(msg, -ENOMEM, "out of memory");
	}
	for (i = 0; i < ids.n; i++) {
		struct repo_point_info *p = &list->points[list->count++];

		rc = load_point(repo, ids.v[i], p, NULL, pmsg);
		if (rc == -ENOMEM)
			break;
		p->err = rc;
		if (rc && !(p->errmsg = strdup(pmsg))) {
			rc = -ENOMEM;
			break;
		}
		rc = 0;
	}
	free(ids.v);
	if (rc) {
		repo_list_free(list);
		return say(msg, rc, "out of memory");
	}
	return 0;
}

void repo_list_free(struct repo_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		point_info_free(&list->points[i]);
	free(list->points);
	memset(list, 0, sizeof(*list));
}

/* The verdict on @dev of the point @p, in the directory @dirfd. */
static void verify_device(int dirfd, const struct repo_point_info *p,
			  const struct repo_device *dev, struct repo_verdict *v)
{
	struct dev_io io;
	char who[300];
	int rc = io_init(&io, dev);

	snprintf(who, sizeof(who), "point %s, device %s", p->id, dev->name);
	memcpy(v->point, p->id, REPO_ID_SIZE);
	v->device = strdup(dev->name);
	if (!rc && !v->device)
		rc = -ENOMEM;
	io.what = "out of memory";
	if (!rc)
		rc = open_image(&io, dirfd);
	if (!rc)
		rc = each_chunk(&io, 0, nblocks(dev), check_chunk);
	v->bad_blocks = io.bad;
	v->first_bad = io.first_bad;
	if (!rc && io.bad)
		rc = say(v->msg, -EBADMSG, "%s: %llu block(s) do not match their checksum, the first is block %llu (byte %llu)",
			 who, (unsigned long long)io.bad, (unsigned long long)io.first_bad,
			 (unsigned long long)(io.first_bad * dev->block_size));
	else if (rc)
		fail_io(v->msg, rc, who, io.what);
	v->err = rc;
	io_done(&io);
}

/* Verdicts on every device of @p, into @v (p->ndevices, or 1 if p->err). */
static void verify_point(struct repo *repo, const struct repo_point_info *p,
			 struct repo_verdict *v)
{
	int dirfd = p->err ? -1 : openat(repo->dirfd, p->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t i;

	memcpy(v->point, p->id, REPO_ID_SIZE);
	if (p->err) {
		v->err = p->err;
		snprintf(v->msg, sizeof(v->msg), "%s", p->errmsg);
		return;
	}
	if (dirfd < 0) {
		v->err = say(v->msg, -errno, "point %s: %s", p->id, strerror(errno));
		return;
	}
	for (i = 0; i < p->ndevices; i++)
		verify_device(dirfd, p, &p->devices[i], &v[i]);
	close(dirfd);
}

static int list_one(struct repo *repo, const char *id, struct repo_list *list, char *msg)
{
	int rc;

	list->points = calloc(1, sizeof(*list->points));
	if (!list->points)
		return say(msg, -ENOMEM, "out of memory");
	list->count = 1;
	rc = load_point(repo, id, list->points, NULL, msg);
	if (rc)
		repo_list_free(list);
	return rc;
}

int repo_verify(struct repo *repo, const char *id, struct repo_verdict **verdicts,
		size_t *count, char *msg)
{
	struct repo_list list = { 0 };
	struct repo_verdict *v;
	size_t i, n = 0;
	int rc = id ? list_one(repo, id, &list, msg) : repo_list(repo, &list, msg);

	*verdicts = NULL;
	*count = 0;
	if (rc)
		return rc;
	for (i = 0; i < list.count; i++)
		n += list.points[i].err ? 1 : list.points[i].ndevices;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		repo_list_free(&list);
		return say(msg, -ENOMEM, "out of memory");
	}
	for (i = 0, n = 0; i < list.count; i++) {
		verify_point(repo, &list.points[i], v + n);
		n += list.points[i].err ? 1 : list.points[i].ndevices;
	}
	repo_list_free(&list);
	for (i = 0; i < n; i++)
		rc += v[i].err != 0;
	*verdicts = v;
	*count = n;
	return rc;
}

void repo_verdicts_free(struct repo_verdict *verdicts, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(verdicts[i].device);
	free(verdicts);
}

/*
 * The target's size, and how it gets zero blocks: an empty regular file
 * is new (it reads as zeroes once sized), anything else may hold old data.
 */
static int prepare_target(struct dev_io *io, char *msg)
{
	uint64_t size = io->dev->size, have;
	struct stat st;

	if (fstat(io->dst, &st))
		return say(msg, -errno, "target: %s", strerror(errno));
	if (S_ISREG(st.st_mode) && !st.st_size) {
		io->zeros = ZEROS_SKIP;
		if (ftruncate(io->dst, (off_t)size))
			return say(msg, -errno, "target: sizing it: %s", strerror(errno));
		return 0;
	}
	io->zeros = ZEROS_ZERO;
	if (S_ISREG(st.st_mode))
		have = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode))
		return say(msg, -EINVAL, "target: not a regular file or a block device");
	else if (ioctl(io->dst, BLKGETSIZE64, &have))
		return say(msg, -errno, "target: reading its size: %s", strerror(errno));
	if (have < size)
		return say(msg, -ENOSPC, "target: %llu bytes, smaller than the device (%llu bytes)",
			   (unsigned long long)have, (unsigned long long)size);
	return 0;
}

static int restore_device(int dirfd, const struct repo_point_info *p,
			  const struct repo_device *dev, int target, char *msg)
{
	struct dev_io io;
	char who[300];
	int rc = io_init(&io, dev);

	snprintf(who, sizeof(who), "point %s, device %s", p->id, dev->name);
	io.dst = target;
	if (rc) {
		say(msg, rc, "out of memory");
		goto out;
	}
	rc = open_image(&io, dirfd);
	if (rc) {
		fail_io(msg, rc, who, io.what);
		goto out;
	}
	rc = prepare_target(&io, msg);
	if (rc)
		goto out;
	rc = each_chunk(&io, 0, nblocks(dev), check_chunk);
	if (!rc && fsync(target)) {
		io.what = "syncing the target";
		rc = -errno;
	}
	if (rc && io.bad)
		say(msg, rc, "%s: block %llu (byte %llu) does not match its checksum: the target is only partly written",
		    who, (unsigned long long)io.first_bad,
		    (unsigned long long)(io.first_bad * dev->block_size));
	else if (rc)
		fail_io(msg, rc, who, io.what);
out:
	io_done(&io);
	return rc;
}

int repo_restore(struct repo *repo, const char *id, const char *device, int target_fd,
		 char *msg)
{
	struct repo_point_info p;
	const struct repo_device *dev;
	int dirfd = -1, rc = load_point(repo, id, &p, &dirfd, msg);

	if (rc)
		return rc;
	dev = find_device(&p, device);
	if (dev)
		rc = restore_device(dirfd, &p, dev, target_fd, msg);
	else
		rc = say(msg, -ENOENT, "point %s has no device %s", id, device);
	close(dirfd);
	point_info_free(&p);
	return rc;
}

void repo_test_stop(const char *stage)
{
	const char *want = getenv("BLKSNAP_TEST_STOP");

	if (want && !strcmp(want, stage))
		raise(SIGSTOP);
}

int repo_check_device(struct repo *repo, const char *id, const char *device, char *msg)
{
	struct repo_point_info p;
	const struct repo_device *dev;
	struct dev_io io;
	char who[300];
	int dirfd = -1, rc = load_point(repo, id, &p, &dirfd, msg);

	if (rc)
		return rc;
	dev = find_device(&p, device);
	if (!dev) {
		rc = say(msg, -ENOENT, "point %s has no device %s", id, device);
		goto out;
	}
	snprintf(who, sizeof(who), "point %s, device %s", id, dev->name);
	rc = io_init(&io, dev);
	if (!rc)
		rc = open_image(&io, dirfd);
	if (rc)
		fail_io(msg, rc, who, rc == -ENOMEM && !io.what ? "out of memory" : io.what);
	io_done(&io);
out:
	close(dirfd);
	point_info_free(&p);
	return rc;
}

/*
 * Each point is renamed out of the way first, so that it disappears at
 * once; a crash then leaves a temporary directory for the next writer.
 */
int repo_prune(struct repo *repo, unsigned int keep, size_t *removed, char *msg)
{
	char tmp[sizeof(TMP_PREFIX "pruned-") + REPO_ID_SIZE];
	struct ids ids = { 0 };
	size_t i;
	int rc;

	*removed = 0;
	if (!keep)
		return say(msg, -EINVAL, "keep at least one point");
	rc = lock_repo(repo, msg);
	if (rc)
		return rc;
	rc = remove_leftovers(repo, msg);
	if (!rc)
		rc = scan_ids(repo, &ids, msg);
	for (i = 0; !rc && i + keep < ids.n; i++) {
		snprintf(tmp, sizeof(tmp), TMP_PREFIX "pruned-%s", ids.v[i]);
		if (renameat2(repo->dirfd, ids.v[i], repo->dirfd, tmp, RENAME_NOREPLACE)) {
			rc = say(msg, -errno, "point %s: %s", ids.v[i], strerror(errno));
			break;
		}
		++*removed;
		rc = remove_tree(repo->dirfd, tmp);
		if (rc)
			say(msg, rc, "point %s: removing its files: %s", ids.v[i], strerror(-rc));
	}
	if (!rc && fsync(repo->dirfd))
		rc = say(msg, -errno, "syncing the repository: %s", strerror(errno));
	free(ids.v);
	unlock_repo(repo);
	return rc;
}
