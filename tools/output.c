// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Output of the blksnap tool: one-line error messages on stderr (with the
 * tool's advice added to the library's messages) and the --json objects,
 * built and serialised with json-c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tool.h"

const char *cmd_name = "blksnap";
int json_output;

/* ---- messages ------------------------------------------------------------ */

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "blksnap: %s: ", cmd_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int usage_error(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "blksnap: %s: %s (see 'blksnap %s --help')\n", cmd_name,
		buf, cmd_name);
	return EXIT_USAGE;
}

/*
 * What to do, when a command of this tool is the remedy: the library's
 * messages describe the problem without naming them.
 */
static const char *advice(enum blksnap_op op, int err)
{
	switch (err < 0 ? -err : err) {
	case ESRCH:		/* "no such snapshot", whatever the operation */
		return " (list them with 'blksnap snapshot collect')";
	case ENOENT:		/* "the blksnap filter is not attached ..." */
		switch (op) {
		case BLKSNAP_OP_CBTINFO:
		case BLKSNAP_OP_CBTMAP:
		case BLKSNAP_OP_CBTDIRTY:
		case BLKSNAP_OP_SNAPSHOT_ADD:
		case BLKSNAP_OP_SNAPSHOT_INFO:
			return ": run 'blksnap attach DEVICE' first";
		default:
			return "";
		}
	case ENODEV:		/* "the snapshot has no devices" */
		return op == BLKSNAP_OP_SNAPSHOT_TAKE ?
		       ": add some with 'blksnap snapshot add' first" : "";
	default:
		return "";
	}
}

int lib_fail(const char *subject, int err)
{
	const char *m = blksnap_strerror(err), *a = advice(blksnap_last_op(), err);

	if (subject)
		return fail("%s: %s%s", subject, m, a);
	return fail("%s%s", m, a);
}

/* ---- opening, reporting failures ------------------------------------------ */

int open_device(const char *path)
{
	int fd = blksnap_open_device(path);

	if (fd < 0)
		lib_fail(path, fd);
	return fd;
}

int open_control(void)
{
	int fd = blksnap_open_control();

	if (fd < 0)
		lib_fail(BLKSNAP_CONTROL_PATH, fd);
	return fd;
}

int query_device(int argc, char **argv, const char *help,
		 int (*query)(int fd, void *result), void *result)
{
	int fd, rc = cmdline_parse(argc, argv, help, 1, 1);

	if (rc != CMDLINE_GO)
		return rc;
	fd = open_device(argv[0]);
	if (fd < 0)
		return EXIT_FAIL;
	rc = query(fd, result);
	close(fd);
	return rc < 0 ? lib_fail(argv[0], rc) : CMDLINE_GO;
}

const char *uuid_str(const struct blksnap_uuid *id, char buf[BLKSNAP_UUID_STR_LEN])
{
	blksnap_uuid_format(id, buf, BLKSNAP_UUID_STR_LEN);
	return buf;
}

const char *errno_text(int code)
{
	const char *m = strerrordesc_np(code < 0 ? -code : code);

	return m ? m : "unknown error";
}

/* ---- JSON --------------------------------------------------------------------- */

/* Compact, '/' as is: the bytes the tool has always printed. */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * json-c writes \b, \f and \r as two-character escapes; the tool has always
 * written every control character but \n and \t as \u00XX. Strings holding
 * one of those three are serialised here, the same way as before.
 */
static int string_to_json(json_object *jso, struct printbuf *pb, int level,
			  int flags)
{
	const unsigned char *s = (const unsigned char *)json_object_get_string(jso);
	char esc[8];
	int rc = printbuf_strappend(pb, "\"");

	(void)level;
	(void)flags;
	for (; *s && rc >= 0; s++) {
		if (*s == '"' || *s == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *s);
		else if (*s == '\n')
			strcpy(esc, "\\n");
		else if (*s == '\t')
			strcpy(esc, "\\t");
		else if (*s < 0x20)
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
		else
			snprintf(esc, sizeof(esc), "%c", *s);
		rc = printbuf_memappend(pb, esc, (int)strlen(esc));
	}
	return rc < 0 ? -1 : printbuf_strappend(pb, "\"");
}

json_object *json_str(const char *s)
{
	json_object *jso = json_object_new_string(s);

	if (jso && strpbrk(s, "\b\f\r"))
		json_object_set_serializer(jso, string_to_json, NULL, NULL);
	return jso;
}

json_object *json_obj(const char *key, ...)
{
	json_object *obj = json_object_new_object();
	va_list ap;

	va_start(ap, key);
	for (; key; key = va_arg(ap, const char *)) {
		json_object *val = va_arg(ap, json_object *);

		if (obj)
			json_object_object_add(obj, key, val);
		else
			json_object_put(val);
	}
	va_end(ap);
	return obj;
}

struct lazy_array {
	json_next_fn *next;
	const void *data;
};

/* json-c's compact array form, one element made and released at a time. */
static int lazy_array_to_json(json_object *jso, struct printbuf *pb, int level,
			      int flags)
{
	const struct lazy_array *la = json_object_get_userdata(jso);
	json_object *el;
	size_t pos = 0, n;
	int rc = printbuf_strappend(pb, "[");

	(void)level;
	for (n = 0; rc >= 0 && (el = la->next(la->data, &pos)); n++) {
		const char *s = json_object_to_json_string_ext(el, flags);

		if (n)
			rc = printbuf_strappend(pb, ",");
		if (rc >= 0)
			rc = s ? printbuf_memappend(pb, s, (int)strlen(s)) : -1;
		json_object_put(el);
	}
	return rc < 0 ? -1 : printbuf_strappend(pb, "]");
}

json_object *json_lazy_array(json_next_fn *next, const void *data)
{
	json_object *arr = json_object_new_array();
	struct lazy_array *la = malloc(sizeof(*la));

	if (!arr || !la) {
		json_object_put(arr);
		free(la);
		return NULL;
	}
	la->next = next;
	la->data = data;
	json_object_set_serializer(arr, lazy_array_to_json, la,
				   json_object_free_userdata);
	return arr;
}

int json_print(json_object *obj)
{
	const char *s = obj ? json_object_to_json_string_ext(obj, JSON_FLAGS) : NULL;
	int rc = s ? EXIT_OK : fail("out of memory");

	if (s)
		puts(s);
	json_object_put(obj);
	return rc;
}
