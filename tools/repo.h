/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backup repository of the blksnap tool: a directory of restore points,
 * each a complete raw image of every device it holds, with per-block XXH3
 * checksums and a JSON manifest. The format is docs/backup-format.md.
 *
 * Every function that can fail returns 0 (or a count) on success and a
 * negative errno on failure, with a one-line message in @msg (a buffer of
 * REPO_MSG_SIZE bytes that the caller prints).
 */
#ifndef BLKSNAP_TOOL_REPO_H
#define BLKSNAP_TOOL_REPO_H

#include <stddef.h>
#include <stdint.h>
#include <linux/blksnap.h>

#define REPO_MSG_SIZE	512
/* A point id: 8 decimal digits, "00000001" for the first point. */
#define REPO_ID_SIZE	9
/* Block sizes of the checksums: a power of two in this range. */
#define REPO_BLOCK_MIN	512u
#define REPO_BLOCK_MAX	(1u << 20)

struct repo;
struct repo_point;

/* A new repository at @dir: created, or an existing empty directory. */
int repo_create(const char *dir, char *msg);
int repo_open(const char *dir, struct repo **repo, char *msg);
void repo_close(struct repo *repo);

/*
 * Hold the repository's writer lock (the one a point or a prune takes)
 * until repo_close(): a backup holds it from before its snapshot is made,
 * so that it can tell its own leftovers from another's. The point begun
 * meanwhile does not release it.
 */
int repo_lock(struct repo *repo, char *msg);
/* The repository's directory (for files of the caller's own in it). */
int repo_dirfd(const struct repo *repo);

/* ---- writing a restore point ---------------------------------------------- */

/*
 * Start a restore point: a full one (@parent NULL) or an increment of the
 * point @parent. Only one point is written at a time (-EBUSY otherwise):
 * the repository stays locked until repo_point_commit() or _abort().
 * Leftovers of points never committed (a crash) are removed first.
 */
int repo_point_begin(struct repo *repo, const char *parent,
		     struct repo_point **point, char *msg);
/* The id the point will have; valid until commit or abort. */
const char *repo_point_id(const struct repo_point *point);

/* Sector ranges changed since the parent point (blksnap_changes_since()). */
struct repo_changes {
	const struct blksnap_sectors *ranges;	/* may be NULL if count is 0 */
	size_t count;
};

/* A device to back up. */
struct repo_source {
	const char *name;		/* unique in the point */
	uint64_t size;			/* bytes */
	uint32_t block_size;		/* of the checksums */
	const char *cbt_generation;	/* stored as given; may be NULL */
	uint32_t cbt_number;		/* stored as given */
	int fd;				/* read with pread(), from offset 0 */
	/*
	 * NULL: every block is read (the device is new in the point). Else
	 * only these ranges: the rest of the image is the parent's, which
	 * must hold the device with the same size and block size.
	 */
	const struct repo_changes *changes;
	/*
	 * If not NULL, called before the copy and after each chunk with the
	 * bytes read so far and the bytes to read in all; a non-zero return
	 * stops the copy (-ECANCELED).
	 */
	int (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/*
 * Copy a device into the point. On failure its files are removed and the
 * point can still be committed without it, or aborted.
 */
int repo_point_add_device(struct repo_point *point, const struct repo_source *src,
			  char *msg);
/* Make the point durable and visible; frees @point, committed or not. */
int repo_point_commit(struct repo_point *point, char *msg);
/* Forget the point and its files; frees @point. */
void repo_point_abort(struct repo_point *point);

/* ---- reading --------------------------------------------------------------- */

enum repo_clone {
	REPO_CLONE_NONE,	/* every block read from the source */
	REPO_CLONE_REFLINK,	/* the parent's image reflinked, changes written in */
	REPO_CLONE_COPY,	/* the parent's image copied, changes written in */
};

/* A device of a point, as its manifest says. */
struct repo_device {
	char *name;
	uint64_t size;
	uint32_t block_size;
	char *cbt_generation;	/* NULL if none was given */
	uint32_t cbt_number;
	char *data_file;	/* the raw image, in the point's directory */
	char *sums_file;	/* its block checksums */
	uint64_t sums_hash;	/* XXH3-64 of the whole checksum file */
	enum repo_clone clone;
	uint64_t copied_bytes;	/* read from the source for this point */
};

/* A point, as its manifest says. */
struct repo_point_info {
	char id[REPO_ID_SIZE];
	char *parent;		/* NULL: a full point; the parent may be pruned */
	int64_t start_time;	/* seconds since the epoch */
	int64_t end_time;
	char *tool_version;
	struct repo_device *devices;
	size_t ndevices;
	int err;		/* < 0: the manifest is unreadable, errmsg says why */
	char *errmsg;
};

struct repo_list {
	struct repo_point_info *points;	/* oldest first */
	size_t count;
};

/* Every committed point (a point with a bad manifest has err set). */
int repo_list(struct repo *repo, struct repo_list *list, char *msg);
void repo_list_free(struct repo_list *list);
const char *repo_clone_name(enum repo_clone clone);

/* The verdict on one device of a point. */
struct repo_verdict {
	char point[REPO_ID_SIZE];
	char *device;		/* NULL: the point's manifest is unreadable */
	int err;		/* 0: every block matches its checksum */
	uint64_t bad_blocks;	/* blocks that do not */
	uint64_t first_bad;	/* the first of them */
	char msg[REPO_MSG_SIZE];
};

/*
 * Re-read every block of the point @id (NULL: of every point) and check it.
 * Returns the number of failed verdicts (0: all good) or a negative errno
 * (no such point @id, its manifest unreadable: with @id NULL such a point
 * is a failed verdict instead); *@verdicts gets an array of *@count, freed
 * with repo_verdicts_free().
 */
int repo_verify(struct repo *repo, const char *id, struct repo_verdict **verdicts,
		size_t *count, char *msg);
void repo_verdicts_free(struct repo_verdict *verdicts, size_t count);

/*
 * Write the device @device of the point @id to @target_fd, checking every
 * block's checksum before it is written. An empty regular file gets the
 * device's size and its zero blocks stay holes; any other target (a block
 * device, a non-empty file) must be at least as large as the device and
 * gets every block written. A checksum mismatch stops the restore (-EBADMSG)
 * with the target partly written.
 */
int repo_restore(struct repo *repo, const char *id, const char *device,
		 int target_fd, char *msg);

/*
 * The files of the device @device of the point @id are what the manifest
 * says (image size, checksum file header and XXH3): what an increment
 * from it relies on. Cheap: the image is not read.
 */
int repo_check_device(struct repo *repo, const char *id, const char *device, char *msg);

/*
 * For the tests of crashes: if the environment's BLKSNAP_TEST_STOP is
 * @stage, stop the process (SIGSTOP) there, for the test to kill or
 * continue it. Stages: "manifest" (the manifest is written, the point not
 * yet renamed into place) and the backup command's own.
 */
void repo_test_stop(const char *stage);

/*
 * Remove all but the newest @keep (>= 1) points; *@removed gets how many
 * went. The others stay restorable: every point is a complete image.
 */
int repo_prune(struct repo *repo, unsigned int keep, size_t *removed, char *msg);

#endif
