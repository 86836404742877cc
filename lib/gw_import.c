/*
 * gw_import.c: `jobengine-admin import FILE` (SPEC §13).
 *
 * NDJSON, one record a line:
 *
 *	{"kind":"source","sourceId":"src-1","tenantId":"acme",
 *	 "name":"ci","sourceType":"git","createdAt":"2026-11-27T09:58:45Z"}
 *
 * Members are the API fields of SPEC §10 in camelCase.  Every line is
 * checked as strictly as a request body (SPEC §7: no unknown or duplicate
 * members, no coercion) against the table of its kind below, then upserted
 * by id.  The whole file is one write transaction: the first bad line
 * rolls everything back and is reported as "line N: what is wrong".
 * The defaults of omitted members are listed in docs/storage.md.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

#define GW_IMPORT_MAXLINE	(1024 * 1024)
#define GW_IMPORT_MAXFIELD	20

enum gw_import_type {
	GW_IT_ID,		/* gw_valid_id */
	GW_IT_TENANT,		/* gw_valid_tenant */
	GW_IT_PROJECT,		/* gw_valid_tenant or null, stored as '' */
	GW_IT_JOBTYPE,		/* [a-z0-9][a-z0-9._-]{0,63} */
	GW_IT_TEXT,		/* UTF-8, no control characters, min..max */
	GW_IT_ENUM,
	GW_IT_BOOL,
	GW_IT_INT,		/* min..max */
	GW_IT_TIME,		/* RFC 3339 UTC string, stored as epoch */
	GW_IT_JSON,		/* any value, stored as canonical text */
};

#define GW_IF_REQ	0x01	/* must be present */
#define GW_IF_NULL	0x02	/* may be null; null when omitted */
#define GW_IF_DEFI	0x04	/* omitted: defi */

struct gw_import_field {
	const char		*name;		/* API member */
	const char		*col;
	enum gw_import_type	 type;
	unsigned		 flags;
	long long		 min, max;	/* INT value, TEXT length */
	const char *const	*enums;		/* NULL-terminated */
	long long		 defi;		/* with GW_IF_DEFI */
	const char		*defs;		/* omitted: this text */
	const char		*same;		/* omitted: that member's value */
};

struct gw_import_val {
	int		 present;
	int		 null;
	int64_t		 i;
	const char	*s;
};

struct gw_import_kind {
	const char			*kind;
	const char			*table;
	const struct gw_import_field	*fields;	/* [0] is the id */
	int (*check)(const struct gw_import_field *, struct gw_import_val *,
	    char *, size_t);
};

static const char *const gw_import_job_status[] = { "pending", "scheduled",
	"leased", "running", "succeeded", "failed", "canceled", "timed_out",
	NULL };
static const char *const gw_import_priority[] = { "low", "normal", "high",
	NULL };
static const char *const gw_import_dl_status[] = { "pending", "replayed",
	"resolved", "discarded", NULL };
static const char *const gw_import_pack_status[] = { "pending",
	"scheduled", "running", "succeeded", "failed", "canceled",
	"timed_out", NULL };

#define F_ID(n, c)	{ n, c, GW_IT_ID, GW_IF_REQ, 0, 0, NULL, 0, NULL, NULL }
#define F_IDN(n, c)	{ n, c, GW_IT_ID, GW_IF_NULL, 0, 0, NULL, 0, NULL, NULL }
#define F_TENANT	{ "tenantId", "tenant_id", GW_IT_TENANT, GW_IF_REQ, \
			    0, 0, NULL, 0, NULL, NULL }
#define F_PROJECT	{ "projectId", "project_id", GW_IT_PROJECT, \
			    GW_IF_NULL, 0, 0, NULL, 0, NULL, NULL }
#define F_JOBTYPE	{ "jobType", "job_type", GW_IT_JOBTYPE, GW_IF_REQ, \
			    0, 0, NULL, 0, NULL, NULL }
#define F_TEXT(n, c, lo, hi) \
			{ n, c, GW_IT_TEXT, GW_IF_REQ, lo, hi, NULL, 0, NULL, \
			    NULL }
#define F_TEXTN(n, c, hi) \
			{ n, c, GW_IT_TEXT, GW_IF_NULL, 1, hi, NULL, 0, NULL, \
			    NULL }
#define F_ENUM(n, c, e, f, d) \
			{ n, c, GW_IT_ENUM, f, 0, 0, e, 0, d, NULL }
#define F_BOOL(n, c, f, d) \
			{ n, c, GW_IT_BOOL, f, 0, 1, NULL, d, NULL, NULL }
#define F_INT(n, c, f, lo, hi, d) \
			{ n, c, GW_IT_INT, f, lo, hi, NULL, d, NULL, NULL }
#define F_TIME(n, c)	{ n, c, GW_IT_TIME, GW_IF_REQ, 0, 0, NULL, 0, NULL, \
			    NULL }
#define F_TIMEN(n, c)	{ n, c, GW_IT_TIME, GW_IF_NULL, 0, 0, NULL, 0, NULL, \
			    NULL }
#define F_TIMEAS(n, c, s) \
			{ n, c, GW_IT_TIME, 0, 0, 0, NULL, 0, NULL, s }
#define F_JSON(n, c)	{ n, c, GW_IT_JSON, 0, 0, 0, NULL, 0, "null", NULL }
#define F_END		{ NULL, NULL, 0, 0, 0, 0, NULL, 0, NULL, NULL }

static const struct gw_import_field gw_import_source[] = {
	F_ID("sourceId", "source_id"),
	F_TENANT,
	F_PROJECT,
	F_TEXT("name", "name", 1, 256),
	F_TEXT("sourceType", "source_type", 1, 64),
	F_BOOL("enabled", "enabled", GW_IF_DEFI, 1),
	F_BOOL("paused", "paused", GW_IF_DEFI, 0),
	F_TEXTN("pauseReason", "pause_reason", 256),
	F_TIME("createdAt", "created_at"),
	F_TIMEAS("updatedAt", "updated_at", "createdAt"),
	F_END
};

static const struct gw_import_field gw_import_quota[] = {
	F_ID("quotaId", "quota_id"),
	F_TENANT,
	F_PROJECT,
	F_JOBTYPE,
	F_INT("maxActive", "max_active", GW_IF_REQ, 1, 100000, 0),
	F_INT("maxPerHour", "max_per_hour", GW_IF_REQ, 1, 10000000, 0),
	F_INT("burst", "burst", 0, 1, 10000000, 0),	/* see quota_check */
	F_BOOL("paused", "paused", GW_IF_DEFI, 0),
	F_TEXTN("pauseReason", "pause_reason", 256),
	F_TEXTN("pauseTicket", "pause_ticket", 128),
	F_TIMEN("pausedAt", "paused_at"),
	F_TEXTN("pausedBy", "paused_by", 256),
	F_INT("version", "version", GW_IF_DEFI, 1, INT64_MAX, 1),
	F_TIME("createdAt", "created_at"),
	F_TIMEAS("updatedAt", "updated_at", "createdAt"),
	F_TEXTN("updatedBy", "updated_by", 256),
	F_END
};

static const struct gw_import_field gw_import_job[] = {
	F_ID("jobId", "job_id"),
	F_TENANT,
	F_PROJECT,
	F_JOBTYPE,
	F_IDN("sourceId", "source_id"),
	F_ENUM("status", "status", gw_import_job_status, GW_IF_REQ, NULL),
	F_ENUM("priority", "priority", gw_import_priority, 0, "normal"),
	F_IDN("replayOf", "replay_of"),
	F_JSON("payload", "payload"),
	F_TIME("createdAt", "created_at"),
	F_TIMEN("startedAt", "started_at"),
	F_TIMEN("finishedAt", "finished_at"),
	F_END
};

static const struct gw_import_field gw_import_deadletter[] = {
	F_ID("entryId", "entry_id"),
	F_TENANT,
	F_PROJECT,
	F_ID("jobId", "job_id"),
	F_JOBTYPE,
	F_IDN("sourceId", "source_id"),
	F_TEXT("category", "category", 1, 128),
	F_TEXT("errorCode", "error_code", 1, 128),
	F_TEXT("message", "message", 0, 4096),
	F_BOOL("retryable", "retryable", GW_IF_REQ, 0),
	F_INT("attempts", "attempts", GW_IF_DEFI, 0, 1000000, 1),
	F_JSON("payload", "payload"),
	F_ENUM("status", "status", gw_import_dl_status, 0, "pending"),
	F_INT("replayCount", "replay_count", GW_IF_DEFI, 0, 1000000, 0),
	F_IDN("lastReplayJobId", "last_replay_job_id"),
	F_TIME("failedAt", "failed_at"),
	F_TIMEN("replayedAt", "replayed_at"),
	F_TEXTN("replayedBy", "replayed_by", 256),
	F_END
};

static const struct gw_import_field gw_import_packrun[] = {
	F_ID("packRunId", "pack_run_id"),
	F_TENANT,
	F_PROJECT,
	F_ID("packId", "pack_id"),
	F_TEXT("packVersion", "pack_version", 1, 64),
	F_ENUM("status", "status", gw_import_pack_status, GW_IF_REQ, NULL),
	F_INT("attempt", "attempt", GW_IF_DEFI, 1, 1000000, 1),
	F_IDN("retryOf", "retry_of"),
	F_TEXTN("reason", "reason", 256),
	F_TIME("createdAt", "created_at"),
	F_TIMEN("startedAt", "started_at"),
	F_TIMEN("finishedAt", "finished_at"),
	F_TIMEAS("updatedAt", "updated_at", "createdAt"),
	F_TEXTN("canceledBy", "canceled_by", 256),
	F_END
};

static int
gw_import_index(const struct gw_import_field *f, const char *name)
{
	int	 i;

	for (i = 0; f[i].name != NULL; i++)
		if (strcmp(f[i].name, name) == 0)
			return i;
	return -1;
}

/* SPEC §10: burst is 1..maxPerHour, default maxActive capped at
 * maxPerHour; the pause fields are all null when not paused. */
static int
gw_import_quota_check(const struct gw_import_field *f,
    struct gw_import_val *v, char *err, size_t errlen)
{
	static const char *const pause[] = { "pauseReason", "pauseTicket",
		"pausedAt", "pausedBy", NULL };
	struct gw_import_val	*ma, *mph, *b, *p;
	size_t			 i;

	ma = &v[gw_import_index(f, "maxActive")];
	mph = &v[gw_import_index(f, "maxPerHour")];
	b = &v[gw_import_index(f, "burst")];
	if (!b->present) {
		b->present = 1;
		b->i = ma->i < mph->i ? ma->i : mph->i;
	} else if (b->i > mph->i) {
		snprintf(err, errlen, "burst: must not exceed maxPerHour");
		return -1;
	}
	if (v[gw_import_index(f, "paused")].i)
		return 0;
	for (i = 0; pause[i] != NULL; i++) {
		p = &v[gw_import_index(f, pause[i])];
		if (p->present && !p->null) {
			snprintf(err, errlen, "%s: must be null when paused "
			    "is false", pause[i]);
			return -1;
		}
	}
	return 0;
}

static const struct gw_import_kind gw_import_kinds[] = {
	{ "source", "sources", gw_import_source, NULL },
	{ "quota", "quotas", gw_import_quota, gw_import_quota_check },
	{ "job", "jobs", gw_import_job, NULL },
	{ "deadletter", "deadletter", gw_import_deadletter, NULL },
	{ "packRun", "pack_runs", gw_import_packrun, NULL },
};
#define GW_IMPORT_NKIND	(sizeof(gw_import_kinds) / sizeof(gw_import_kinds[0]))

/*
 * INSERT ... ON CONFLICT (id) DO UPDATE, which SQLite and PostgreSQL both
 * read the same way.  The WHERE keeps an import from moving a row to
 * another tenant: such a line changes nothing and is refused.
 */
static void
gw_import_sql(const struct gw_import_kind *k, struct gw_buf *b)
{
	const struct gw_import_field	*f = k->fields;
	int				 i;

	gw_buf_printf(b, "INSERT INTO %s (", k->table);
	for (i = 0; f[i].name != NULL; i++)
		gw_buf_printf(b, "%s%s", i ? ", " : "", f[i].col);
	gw_buf_puts(b, ") VALUES (");
	for (i = 0; f[i].name != NULL; i++)
		gw_buf_puts(b, i ? ", ?" : "?");
	gw_buf_printf(b, ") ON CONFLICT (%s) DO UPDATE SET ", f[0].col);
	for (i = 1; f[i].name != NULL; i++)
		gw_buf_printf(b, "%s%s = excluded.%s", i > 1 ? ", " : "",
		    f[i].col, f[i].col);
	gw_buf_printf(b, " WHERE %s.tenant_id = excluded.tenant_id",
	    k->table);
}

static int
gw_import_jobtype(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))
			continue;
		return 0;
	}
	return i >= 1 && i <= 64;
}

static int
gw_import_text(const char *s, size_t len)
{
	size_t	 i;

	if (strlen(s) != len || !gw_valid_utf8(s, len))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* Check one member against its field; fill v. */
static int
gw_import_value(const struct gw_import_field *f, struct json_object *o,
    struct gw_arena *a, struct gw_import_val *v, char *err, size_t errlen)
{
	const char	*s;
	size_t		 len, i;

	v->present = 1;
	if (json_object_get_type(o) == json_type_null) {
		if (!(f->flags & GW_IF_NULL)) {
			if (f->type != GW_IT_JSON) {
				snprintf(err, errlen, "%s: must not be null",
				    f->name);
				return -1;
			}
		} else {
			v->null = 1;
			return 0;
		}
	}

	switch (f->type) {
	case GW_IT_BOOL:
		if (!json_object_is_type(o, json_type_boolean)) {
			snprintf(err, errlen, "%s: must be true or false",
			    f->name);
			return -1;
		}
		v->i = json_object_get_boolean(o) ? 1 : 0;
		return 0;
	case GW_IT_INT:
		if (!json_object_is_type(o, json_type_int)) {
			snprintf(err, errlen, "%s: must be an integer",
			    f->name);
			return -1;
		}
		v->i = json_object_get_int64(o);
		if (v->i < f->min || v->i > f->max) {
			snprintf(err, errlen, "%s: must be %lld to %lld",
			    f->name, f->min, f->max);
			return -1;
		}
		return 0;
	case GW_IT_JSON:
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE);
		if ((v->s = gw_json_canonical(s, strlen(s), a)) == NULL) {
			snprintf(err, errlen, "%s: not storable JSON", f->name);
			return -1;
		}
		return 0;
	default:
		break;
	}

	if (!json_object_is_type(o, json_type_string)) {
		snprintf(err, errlen, "%s: must be a string", f->name);
		return -1;
	}
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	v->s = s;
	switch (f->type) {
	case GW_IT_ID:
		if (strlen(s) == len && gw_valid_id(s))
			return 0;
		snprintf(err, errlen, "%s: must be 1-128 characters of "
		    "[A-Za-z0-9._:-]", f->name);
		return -1;
	case GW_IT_TENANT:
	case GW_IT_PROJECT:
		if (strlen(s) == len && gw_valid_tenant(s))
			return 0;
		snprintf(err, errlen, "%s: must be 1-64 characters of "
		    "[A-Za-z0-9._-]", f->name);
		return -1;
	case GW_IT_JOBTYPE:
		if (strlen(s) == len && gw_import_jobtype(s))
			return 0;
		snprintf(err, errlen, "%s: must match "
		    "[a-z0-9][a-z0-9._-]{0,63}", f->name);
		return -1;
	case GW_IT_TEXT:
		if (!gw_import_text(s, len)) {
			snprintf(err, errlen, "%s: must be UTF-8 without "
			    "control characters", f->name);
			return -1;
		}
		if ((long long)len < f->min || (long long)len > f->max) {
			snprintf(err, errlen, "%s: must be %lld to %lld bytes",
			    f->name, f->min, f->max);
			return -1;
		}
		return 0;
	case GW_IT_ENUM:
		for (i = 0; f->enums[i] != NULL; i++)
			if (strcmp(s, f->enums[i]) == 0 && strlen(s) == len)
				return 0;
		snprintf(err, errlen, "%s: must be one of", f->name);
		for (i = 0; f->enums[i] != NULL; i++) {
			len = strlen(err);
			snprintf(err + len, errlen - len, "%s %s",
			    i ? "," : "", f->enums[i]);
		}
		return -1;
	case GW_IT_TIME:
		if (gw_time_parse(s, &v->i) == 0 && strlen(s) == len)
			return 0;
		snprintf(err, errlen, "%s: must be an RFC 3339 UTC time like "
		    "2026-11-27T09:58:45Z", f->name);
		return -1;
	default:
		snprintf(err, errlen, "%s: bad field type", f->name);
		return -1;
	}
}

/* Validate one parsed line and bind it to the kind's statement. */
static int
gw_import_record(struct gw_store *s, struct json_object *o,
    struct gw_buf *sql, struct gw_arena *a, struct gw_stmt **stp, char *err,
    size_t errlen)
{
	const struct gw_import_kind	*k = NULL;
	const struct gw_import_field	*f;
	struct gw_import_val		 v[GW_IMPORT_MAXFIELD];
	struct json_object		*ko;
	const char			*kind;
	size_t				 ki;
	int				 i, j;

	*stp = NULL;
	if (!json_object_object_get_ex(o, "kind", &ko) ||
	    !json_object_is_type(ko, json_type_string)) {
		snprintf(err, errlen, "kind: must be a string");
		return -1;
	}
	kind = json_object_get_string(ko);
	for (ki = 0; ki < GW_IMPORT_NKIND; ki++)
		if (strcmp(kind, gw_import_kinds[ki].kind) == 0)
			k = &gw_import_kinds[ki];
	if (k == NULL) {
		snprintf(err, errlen, "kind: must be one of source, quota, "
		    "job, deadletter, packRun");
		return -1;
	}
	f = k->fields;

	memset(v, 0, sizeof(v));
	json_object_object_foreach(o, name, val) {
		if (strcmp(name, "kind") == 0)
			continue;
		if ((i = gw_import_index(f, name)) == -1) {
			snprintf(err, errlen, "unknown member \"%s\" for kind "
			    "%s", name, k->kind);
			return -1;
		}
		if (gw_import_value(&f[i], val, a, &v[i], err, errlen) == -1)
			return -1;
	}

	for (i = 0; f[i].name != NULL; i++) {
		if (v[i].present)
			continue;
		if (f[i].flags & GW_IF_REQ) {
			snprintf(err, errlen, "%s: required", f[i].name);
			return -1;
		}
		if (f[i].same == NULL)
			continue;
		j = gw_import_index(f, f[i].same);
		v[i] = v[j];
	}
	if (k->check != NULL && k->check(f, v, err, errlen) == -1)
		return -1;

	gw_buf_reset(sql);
	gw_import_sql(k, sql);
	if (gw_db_prepare(s->db, sql->data, stp) != GW_OK) {
		snprintf(err, errlen, "cannot prepare the %s upsert", k->kind);
		return -1;
	}
	for (i = 0; f[i].name != NULL; i++) {
		if (f[i].type == GW_IT_PROJECT)
			gw_stmt_bind_text(*stp, i + 1,
			    v[i].present && !v[i].null ? v[i].s : "");
		else if (!v[i].present && (f[i].flags & GW_IF_DEFI))
			gw_stmt_bind_int(*stp, i + 1, f[i].defi);
		else if (!v[i].present)
			gw_stmt_bind_text(*stp, i + 1, f[i].defs);
		else if (v[i].null)
			gw_stmt_bind_text(*stp, i + 1, NULL);
		else if (f[i].type == GW_IT_BOOL || f[i].type == GW_IT_INT ||
		    f[i].type == GW_IT_TIME)
			gw_stmt_bind_int(*stp, i + 1, v[i].i);
		else
			gw_stmt_bind_text(*stp, i + 1, v[i].s);
	}
	return 0;
}

static int
gw_import_blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

enum gw_err
gw_import(struct gw_store *s, FILE *fp, long *nrecords, char *err,
    size_t errlen)
{
	struct gw_arena		*a;
	struct gw_buf		 sql;
	struct gw_stmt		*st;
	struct json_object	*o;
	char			*line = NULL, msg[256];
	size_t			 cap = 0;
	ssize_t			 len;
	enum gw_err		 e;
	long			 lineno = 0, n = 0;
	int			 row;

	*nrecords = 0;
	a = gw_arena_new();
	gw_buf_init(&sql);
	if ((e = gw_db_begin(s->db, 1)) != GW_OK) {
		snprintf(err, errlen, "cannot begin a write transaction");
		goto out;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		gw_arena_reset(a);
		if (gw_import_blank(line))
			continue;
		e = GW_ERR_INVALID_BODY;
		if (len > GW_IMPORT_MAXLINE) {
			snprintf(err, errlen, "line %ld: longer than %d bytes",
			    lineno, GW_IMPORT_MAXLINE);
			goto fail;
		}
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if ((o = gw_json_parse_object(line, (size_t)len, msg,
		    sizeof(msg))) == NULL) {
			snprintf(err, errlen, "line %ld: %s", lineno, msg);
			goto fail;
		}
		if (gw_import_record(s, o, &sql, a, &st, msg,
		    sizeof(msg)) == -1) {
			json_object_put(o);
			snprintf(err, errlen, "line %ld: %s", lineno, msg);
			goto fail;
		}
		json_object_put(o);
		e = gw_stmt_step(st, &row);
		if (e == GW_OK && gw_stmt_changes(st) == 0) {
			e = GW_ERR_CONFLICT;
			snprintf(err, errlen, "line %ld: the id belongs to a "
			    "row of another tenant", lineno);
		} else if (e == GW_ERR_CONFLICT)
			snprintf(err, errlen, "line %ld: conflicts with an "
			    "existing row (a unique constraint)", lineno);
		else if (e != GW_OK)
			snprintf(err, errlen, "line %ld: the database refused "
			    "the record", lineno);
		gw_stmt_reset(st);
		if (e != GW_OK)
			goto fail;
		n++;
	}
	if (ferror(fp)) {
		e = GW_ERR_INTERNAL;
		snprintf(err, errlen, "line %ld: read error", lineno + 1);
		goto fail;
	}
	if ((e = gw_db_commit(s->db)) != GW_OK) {
		snprintf(err, errlen, "commit failed: nothing was imported");
		goto out;
	}
	*nrecords = n;
	goto out;
fail:
	gw_db_rollback(s->db);
out:
	free(line);
	gw_buf_free(&sql);
	gw_arena_free(a);
	return e;
}
