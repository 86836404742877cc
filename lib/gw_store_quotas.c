/*
 * gw_store_quotas.c: quotas (SPEC §10) and the quota summary.
 *
 * Quotas belong to the gateway: only these functions change them, each
 * change bumps `version` by one, and a quota's ETag is derived from its id
 * and version, so If-Match is checked against the row and the write is
 * conditional on the same version (`... WHERE version = ?`).  Between the
 * read and the write nothing can slip in: the pipeline holds the write
 * transaction (SQLite BEGIN IMMEDIATE), and where a store lets a
 * concurrent writer in anyway (PostgreSQL, READ COMMITTED) the UPDATE
 * re-checks the version and finds no row: a conditional request then
 * fails with 412, an unconditional one reads the new version and tries
 * again.  Two operators racing on one version: exactly one wins.
 *
 * The summary never scans the jobs table: active and queued come from
 * job_counts, which triggers keep exact (docs/storage.md, invariant 1),
 * and admittedLastHour is an index range count (see below).
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define GW_STORE_QUOTA_COLS \
	"quota_id, tenant_id, project_id, job_type, max_active, " \
	"max_per_hour, burst, paused, pause_reason, pause_ticket, " \
	"paused_at, paused_by, version, created_at, updated_at, updated_by"

/* An unconditional write that keeps losing races gives up: 503. */
#define GW_STORE_QUOTA_TRIES	8

enum gw_store_quota_op {
	GW_QOP_UPDATE,
	GW_QOP_DELETE,
	GW_QOP_PAUSE,
	GW_QOP_RESUME,
};

/*
 * "q<version>-<16 base64url chars of SHA-256("quota" NUL id)>", e.g.
 * "q3-kP0a9Y2m7QfZr1cX".  The version makes it change with every write;
 * the id part keeps the tags of two quotas at the same version apart.
 */
void
gw_store_quota_etag(const struct gw_quota *q, char out[GW_QUOTA_ETAG_MAX])
{
	struct gw_buf	 in;
	unsigned char	 md[32];
	char		 b64[64];

	gw_buf_init(&in);
	gw_buf_add(&in, "quota", 6);
	gw_buf_puts(&in, q->quota_id);
	gw_sha256(in.data, in.len, md);
	gw_buf_free(&in);
	gw_b64url_encode(md, 12, b64);
	snprintf(out, GW_QUOTA_ETAG_MAX, "\"q%lld-%.16s\"",
	    (long long)q->version, b64);
}

static void
gw_store_quota_row(struct gw_stmt *st, struct gw_arena *a, struct gw_quota *q)
{
	const char	*p;

	q->quota_id = gw_stmt_dup(st, 0, a);
	q->tenant_id = gw_stmt_dup(st, 1, a);
	/* '' is how the store spells "no project" (docs/storage.md). */
	p = gw_stmt_text(st, 2);
	q->project_id = p == NULL || *p == '\0' ? NULL : gw_arena_strdup(a, p);
	q->job_type = gw_stmt_dup(st, 3, a);
	q->max_active = gw_stmt_int(st, 4);
	q->max_per_hour = gw_stmt_int(st, 5);
	q->burst = gw_stmt_int(st, 6);
	q->paused = gw_stmt_int(st, 7) != 0;
	q->pause_reason = gw_stmt_dup(st, 8, a);
	q->pause_ticket = gw_stmt_dup(st, 9, a);
	q->paused_at = gw_stmt_int(st, 10);
	q->paused_by = gw_stmt_dup(st, 11, a);
	q->version = gw_stmt_int(st, 12);
	q->created_at = gw_stmt_int(st, 13);
	q->updated_at = gw_stmt_int(st, 14);
	q->updated_by = gw_stmt_dup(st, 15, a);
}

/*
 * One of 16 fixed texts (project, jobType, paused, later page), so the
 * statement cache stays small.  Each is a range scan of
 * quotas_tenant_type (tenant_id, job_type, quota_id), or of
 * quotas_tenant_project_type with a project, in index order: no sort, and
 * page N costs what page 1 costs (SPEC §9).  `paused` is not in the index;
 * it filters rows of the range.  With a jobType filter the key's jobType
 * is the filter's (the continuation token binds it), so the keyset is
 * quota_id alone: a row value there would make SQLite sort the range.
 */
const char *
gw_store_quotas_sql(const struct gw_quota_filter *f, int keyset, char *buf,
    size_t len)
{
	snprintf(buf, len, "SELECT " GW_STORE_QUOTA_COLS " FROM quotas "
	    "WHERE tenant_id = ?%s%s%s%s ORDER BY job_type, quota_id LIMIT ?",
	    f->project != NULL ? " AND project_id = ?" : "",
	    f->job_type != NULL ? " AND job_type = ?" : "",
	    f->paused >= 0 ? " AND paused = ?" : "",
	    !keyset ? "" : f->job_type != NULL ? " AND quota_id > ?" :
	    " AND (job_type, quota_id) > (?, ?)");
	return buf;
}

/* gw_store_quota_row as gw_store_page_rows fills a row. */
static void
quota_fill(struct gw_stmt *st, struct gw_arena *a, void *row)
{
	gw_store_quota_row(st, a, row);
}

enum gw_err
gw_store_quotas_list(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_filter *f, const struct gw_page *page,
    struct gw_quota **rowsp, size_t *nrowsp, int *more)
{
	struct gw_stmt	*st;
	void		*rows;
	char		 sql[640];
	enum gw_err	 e;
	int		 i = 1, keyset = page->nkey >= 2;

	*rowsp = NULL;
	*nrowsp = 0;
	*more = 0;
	gw_store_quotas_sql(f, keyset, sql, sizeof(sql));
	if ((e = gw_db_prepare(s->db, sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->job_type != NULL)
		gw_stmt_bind_text(st, i++, f->job_type);
	if (f->paused >= 0)
		gw_stmt_bind_int(st, i++, f->paused != 0);
	if (keyset && f->job_type == NULL)
		gw_stmt_bind_text(st, i++, page->key[0]);
	if (keyset)
		gw_stmt_bind_text(st, i++, page->key[1]);
	/* One row more than asked tells whether a next page exists. */
	gw_stmt_bind_int(st, i++, page->limit + 1);

	if ((e = gw_store_page_rows(st, a, page->limit, sizeof(**rowsp),
	    quota_fill, &rows, nrowsp, more)) == GW_OK)
		*rowsp = rows;
	return e;
}

enum gw_err
gw_store_quota_get(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_key *k, struct gw_quota *q)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if (k->project != NULL)
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_QUOTA_COLS
		    " FROM quotas WHERE quota_id = ? AND tenant_id = ?"
		    " AND project_id = ?", &st);
	else
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_QUOTA_COLS
		    " FROM quotas WHERE quota_id = ? AND tenant_id = ?", &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, k->id);
	gw_stmt_bind_text(st, 2, k->tenant);
	if (k->project != NULL)
		gw_stmt_bind_text(st, 3, k->project);
	if ((e = gw_stmt_step(st, &row)) == GW_OK) {
		if (row)
			gw_store_quota_row(st, a, q);
		else
			e = GW_ERR_QUOTA_NOT_FOUND;
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_quota_create(struct gw_store *s, struct gw_quota *q,
    const struct gw_quota_limits *lim, const struct gw_quota_change *c)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "INSERT INTO quotas (quota_id, "
	    "tenant_id, project_id, job_type, max_active, max_per_hour, "
	    "burst, paused, version, created_at, updated_at, updated_by) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?)", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, q->quota_id);
	gw_stmt_bind_text(st, 2, q->tenant_id);
	gw_stmt_bind_text(st, 3, q->project_id != NULL ? q->project_id : "");
	gw_stmt_bind_text(st, 4, q->job_type);
	gw_stmt_bind_int(st, 5, lim->max_active);
	gw_stmt_bind_int(st, 6, lim->max_per_hour);
	gw_stmt_bind_int(st, 7, lim->burst);
	gw_stmt_bind_int(st, 8, c->now);
	gw_stmt_bind_int(st, 9, c->now);
	gw_stmt_bind_text(st, 10, c->actor);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	/* UNIQUE (tenant_id, project_id, job_type): SPEC §10's 409. */
	if (e == GW_ERR_CONFLICT)
		return GW_ERR_QUOTA_EXISTS;
	if (e != GW_OK)
		return e;
	q->max_active = lim->max_active;
	q->max_per_hour = lim->max_per_hour;
	q->burst = lim->burst;
	q->paused = 0;
	q->pause_reason = q->pause_ticket = q->paused_by = NULL;
	q->paused_at = 0;
	q->version = 1;
	q->created_at = q->updated_at = c->now;
	q->updated_by = c->actor;
	return GW_OK;
}

/* The conditional write of one operation against the version read. */
static enum gw_err
gw_store_quota_apply(struct gw_store *s, const struct gw_quota_key *k,
    enum gw_store_quota_op op, const struct gw_quota_limits *lim,
    const struct gw_quota_change *c, int64_t version, int64_t *nrows)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 i = 1, row;

	switch (op) {
	case GW_QOP_UPDATE:
		e = gw_db_prepare(s->db, "UPDATE quotas SET max_active = ?, "
		    "max_per_hour = ?, burst = ?, version = version + 1, "
		    "updated_at = ?, updated_by = ? WHERE tenant_id = ? "
		    "AND quota_id = ? AND version = ?", &st);
		break;
	case GW_QOP_DELETE:
		e = gw_db_prepare(s->db, "DELETE FROM quotas WHERE "
		    "tenant_id = ? AND quota_id = ? AND version = ?", &st);
		break;
	case GW_QOP_PAUSE:
		e = gw_db_prepare(s->db, "UPDATE quotas SET paused = 1, "
		    "pause_reason = ?, pause_ticket = ?, paused_at = ?, "
		    "paused_by = ?, version = version + 1, updated_at = ?, "
		    "updated_by = ? WHERE tenant_id = ? AND quota_id = ? "
		    "AND version = ?", &st);
		break;
	case GW_QOP_RESUME:
	default:
		e = gw_db_prepare(s->db, "UPDATE quotas SET paused = 0, "
		    "pause_reason = NULL, pause_ticket = NULL, "
		    "paused_at = NULL, paused_by = NULL, "
		    "version = version + 1, updated_at = ?, updated_by = ? "
		    "WHERE tenant_id = ? AND quota_id = ? AND version = ?",
		    &st);
		break;
	}
	if (e != GW_OK)
		return e;
	if (op == GW_QOP_UPDATE) {
		gw_stmt_bind_int(st, i++, lim->max_active);
		gw_stmt_bind_int(st, i++, lim->max_per_hour);
		gw_stmt_bind_int(st, i++, lim->burst);
	}
	if (op == GW_QOP_PAUSE) {
		gw_stmt_bind_text(st, i++, c->reason);
		gw_stmt_bind_text(st, i++, c->ticket);
		gw_stmt_bind_int(st, i++, c->now);
		gw_stmt_bind_text(st, i++, c->actor);
	}
	if (op != GW_QOP_DELETE) {
		gw_stmt_bind_int(st, i++, c->now);
		gw_stmt_bind_text(st, i++, c->actor);
	}
	gw_stmt_bind_text(st, i++, k->tenant);
	gw_stmt_bind_text(st, i++, k->id);
	gw_stmt_bind_int(st, i++, version);
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		*nrows = gw_stmt_changes(st);
	gw_stmt_reset(st);
	return e;
}

/* What the row is after a write of op (no need to read it back). */
static void
gw_store_quota_after(struct gw_arena *a, enum gw_store_quota_op op,
    const struct gw_quota_limits *lim, const struct gw_quota_change *c,
    struct gw_quota *q)
{
	switch (op) {
	case GW_QOP_UPDATE:
		q->max_active = lim->max_active;
		q->max_per_hour = lim->max_per_hour;
		q->burst = lim->burst;
		break;
	case GW_QOP_PAUSE:
		q->paused = 1;
		q->pause_reason = gw_arena_strdup(a, c->reason);
		q->pause_ticket = c->ticket != NULL ?
		    gw_arena_strdup(a, c->ticket) : NULL;
		q->paused_at = c->now;
		q->paused_by = gw_arena_strdup(a, c->actor);
		break;
	case GW_QOP_RESUME:
		q->paused = 0;
		q->pause_reason = q->pause_ticket = q->paused_by = NULL;
		q->paused_at = 0;
		break;
	case GW_QOP_DELETE:
		return;
	}
	q->version++;
	q->updated_at = c->now;
	q->updated_by = gw_arena_strdup(a, c->actor);
}

/*
 * Read, check If-Match (RFC 9110 §13.1.1: strong comparison against the
 * current tag), write on condition of the version read.  Losing a race
 * means the version moved: a conditional request has then failed; an
 * unconditional one starts over from the new version.
 */
static enum gw_err
gw_store_quota_write(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_key *k, const char *if_match,
    enum gw_store_quota_op op, const struct gw_quota_limits *lim,
    const struct gw_quota_change *c, struct gw_quota *q, int *changed)
{
	char		 etag[GW_QUOTA_ETAG_MAX];
	enum gw_err	 e;
	int64_t		 nrows;
	int		 try;

	*changed = 0;
	for (try = 0; try < GW_STORE_QUOTA_TRIES; try++) {
		if ((e = gw_store_quota_get(s, a, k, q)) != GW_OK)
			return e;
		if (if_match != NULL) {
			gw_store_quota_etag(q, etag);
			if (!gw_etag_match(if_match, etag))
				return GW_ERR_PRECONDITION_FAILED;
		}
		/* SPEC §10: pausing a paused quota (resuming a running one)
		 * is a no-op, not a new version. */
		if ((op == GW_QOP_PAUSE && q->paused) ||
		    (op == GW_QOP_RESUME && !q->paused))
			return GW_OK;
		if ((e = gw_store_quota_apply(s, k, op, lim, c, q->version,
		    &nrows)) != GW_OK)
			return e;
		if (nrows == 1) {
			gw_store_quota_after(a, op, lim, c, q);
			*changed = 1;
			return GW_OK;
		}
		if (if_match != NULL)
			return GW_ERR_PRECONDITION_FAILED;
	}
	return GW_ERR_UNAVAILABLE;
}

enum gw_err
gw_store_quota_update(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_key *k, const char *if_match,
    const struct gw_quota_limits *lim, const struct gw_quota_change *c,
    struct gw_quota *q)
{
	int	 changed;

	return gw_store_quota_write(s, a, k, if_match, GW_QOP_UPDATE, lim, c,
	    q, &changed);
}

enum gw_err
gw_store_quota_delete(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_key *k, const char *if_match)
{
	struct gw_quota		 q;
	struct gw_quota_change	 c;
	int			 changed;

	memset(&c, 0, sizeof(c));
	return gw_store_quota_write(s, a, k, if_match, GW_QOP_DELETE, NULL,
	    &c, &q, &changed);
}

enum gw_err
gw_store_quota_pause(struct gw_store *s, struct gw_arena *a,
    const struct gw_quota_key *k, int pause, const struct gw_quota_change *c,
    struct gw_quota *q, int *changed)
{
	return gw_store_quota_write(s, a, k, NULL,
	    pause ? GW_QOP_PAUSE : GW_QOP_RESUME, NULL, c, q, changed);
}

/* ---------------------------------------------------------------- */
/* The summary. */

static int
gw_store_load_cmp(const void *a, const void *b)
{
	const struct gw_quota_load *const	*x = a, *const *y = b;

	return strcmp((*x)->q.job_type, (*y)->q.job_type);
}

/* The first quota of jobType jt in by_type (sorted by jobType), or n. */
static size_t
gw_store_load_first(struct gw_quota_load **by_type, size_t n, const char *jt)
{
	size_t	 lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(by_type[mid]->q.job_type, jt) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A quota without a project covers every project ('' is none). */
static int
gw_store_load_covers(const struct gw_quota_load *l, const char *proj)
{
	return l->q.project_id == NULL || strcmp(l->q.project_id, proj) == 0;
}

/*
 * Add the job_counts of the active and queued statuses to every quota
 * they fall under: one range of the job_counts primary key (tenant_id,
 * ...), whose rows are one per (project, jobType, source, status) in
 * use, however many jobs there are.  by_type is the quotas sorted by
 * jobType (strcmp), so a row finds its quotas by binary search, whatever
 * the database's collation.
 */
static enum gw_err
gw_store_summary_counts(struct gw_store *s, const char *tenant,
    const char *project, struct gw_quota_load **by_type, size_t n)
{
	struct gw_stmt		*st;
	struct gw_quota_load	*l;
	const char		*jt, *proj, *status;
	enum gw_err		 e;
	size_t			 i;
	int64_t			 cnt;
	int			 row, active;

	if (project != NULL)
		e = gw_db_prepare(s->db, "SELECT job_type, project_id, status, "
		    "n FROM job_counts WHERE tenant_id = ? AND project_id = ? "
		    "AND status IN ('pending', 'scheduled', 'leased', "
		    "'running')", &st);
	else
		e = gw_db_prepare(s->db, "SELECT job_type, project_id, status, "
		    "n FROM job_counts WHERE tenant_id = ? "
		    "AND status IN ('pending', 'scheduled', 'leased', "
		    "'running')", &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	if (project != NULL)
		gw_stmt_bind_text(st, 2, project);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		jt = gw_stmt_text(st, 0);
		proj = gw_stmt_text(st, 1);
		status = gw_stmt_text(st, 2);
		cnt = gw_stmt_int(st, 3);
		if (jt == NULL || proj == NULL || status == NULL)
			continue;
		active = strcmp(status, "leased") == 0 ||
		    strcmp(status, "running") == 0;
		for (i = gw_store_load_first(by_type, n, jt); i < n &&
		    strcmp(by_type[i]->q.job_type, jt) == 0; i++) {
			l = by_type[i];
			if (!gw_store_load_covers(l, proj))
				continue;
			if (active)
				l->active += cnt;
			else
				l->queued += cnt;
		}
	}
	gw_stmt_reset(st);
	return e;
}

/*
 * The jobs started within the last hour (startedAt > now - 3600; a start
 * the Orchestrator stamped slightly ahead of our clock counts too).  Not a
 * maintained count: job_type IN (...) is one range per type of
 * jobs_tenant_type_started (tenant_id, job_type, started_at), or with a
 * project of jobs_tenant_type_project_started, so the cost is the index
 * descents plus the jobs of the last hour, never those before
 * (test_quota_summary_plans_read_indexes_not_jobs).  One statement per
 * GW_STORE_ADMIT_TYPES job types of the quotas of one project (or of no
 * project), rather than one per quota: on PostgreSQL each statement is a
 * round trip.  The list is always that long, the last type repeated, so
 * two statement texts are cached, not one per number of types.
 */
#define GW_STORE_ADMIT_TYPES	16
#define GW_STORE_ADMIT_SQL(project) \
	"SELECT job_type, count(*) FROM jobs WHERE tenant_id = ?" project \
	" AND job_type IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" \
	" AND started_at > ? GROUP BY job_type"

const char *const gw_store_quota_admitted_sql[2] = {
	GW_STORE_ADMIT_SQL(""),
	GW_STORE_ADMIT_SQL(" AND project_id = ?"),
};

/* Whether l's project is proj (NULL: none). */
static int
gw_store_load_in(const struct gw_quota_load *l, const char *proj)
{
	if (l->q.project_id == NULL || proj == NULL)
		return l->q.project_id == proj;
	return strcmp(l->q.project_id, proj) == 0;
}

/* The admitted counts of the quotas of project proj (NULL: of none). */
static enum gw_err
gw_store_summary_admitted(struct gw_store *s, const char *tenant,
    const char *proj, int64_t since, struct gw_quota_load **by_type,
    size_t n)
{
	struct gw_stmt	*st;
	const char	*types[GW_STORE_ADMIT_TYPES], *jt;
	size_t		 i = 0, k, nt;
	int64_t		 cnt;
	int		 b, row;
	enum gw_err	 e = GW_OK;

	while (i < n && e == GW_OK) {
		/* The next distinct job types of proj's quotas. */
		for (nt = 0; i < n && nt < GW_STORE_ADMIT_TYPES; i++)
			if (gw_store_load_in(by_type[i], proj) && (nt == 0 ||
			    strcmp(types[nt - 1], by_type[i]->q.job_type) != 0))
				types[nt++] = by_type[i]->q.job_type;
		if (nt == 0)
			break;
		if ((e = gw_db_prepare(s->db,
		    gw_store_quota_admitted_sql[proj != NULL], &st)) != GW_OK)
			return e;
		b = 1;
		gw_stmt_bind_text(st, b++, tenant);
		if (proj != NULL)
			gw_stmt_bind_text(st, b++, proj);
		for (k = 0; k < GW_STORE_ADMIT_TYPES; k++)
			gw_stmt_bind_text(st, b++, types[k < nt ? k : nt - 1]);
		gw_stmt_bind_int(st, b, since);
		while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
			if ((jt = gw_stmt_text(st, 0)) == NULL)
				continue;
			cnt = gw_stmt_int(st, 1);
			for (k = gw_store_load_first(by_type, n, jt); k < n &&
			    strcmp(by_type[k]->q.job_type, jt) == 0; k++)
				if (gw_store_load_in(by_type[k], proj))
					by_type[k]->admitted_last_hour += cnt;
		}
		gw_stmt_reset(st);
	}
	return e;
}

/* The admitted counts of every quota: those without a project, then
 * those of each project in turn. */
static enum gw_err
gw_store_summary_admitted_all(struct gw_store *s, const char *tenant,
    int64_t since, struct gw_quota_load **by_type, size_t n)
{
	const char	*proj;
	size_t		 i, j;
	enum gw_err	 e;

	if ((e = gw_store_summary_admitted(s, tenant, NULL, since, by_type,
	    n)) != GW_OK)
		return e;
	for (i = 0; i < n; i++) {
		if ((proj = by_type[i]->q.project_id) == NULL)
			continue;
		for (j = 0; j < i && !gw_store_load_in(by_type[j], proj); j++)
			;
		if (j == i && (e = gw_store_summary_admitted(s, tenant, proj,
		    since, by_type, n)) != GW_OK)
			return e;
	}
	return GW_OK;
}

/* SPEC §10, in integers: utilization >= 0.8 is 5 * active >= 4 * max. */
static void
gw_store_summary_pressure(struct gw_quota_load *l)
{
	const struct gw_quota	*q = &l->q;
	int64_t			 room;

	room = q->max_per_hour - l->admitted_last_hour;
	l->tokens_available = room < q->burst ? room : q->burst;
	if (l->tokens_available < 0)
		l->tokens_available = 0;
	if (q->paused)
		l->backpressure = "paused";
	else if (l->active >= q->max_active || l->tokens_available == 0)
		l->backpressure = "saturated";
	else if (5 * l->active >= 4 * q->max_active ||
	    l->queued > q->max_active)
		l->backpressure = "elevated";
	else
		l->backpressure = "normal";
}

enum gw_err
gw_store_quota_summary(struct gw_store *s, struct gw_arena *a,
    const char *tenant, const char *project, int64_t now,
    struct gw_quota_load **rowsp, size_t *nrowsp)
{
	struct gw_quota_load	*rows = NULL, **by_type = NULL;
	struct gw_stmt		*st;
	enum gw_err		 e;
	size_t			 i, n = 0, cap = 0;
	int			 row;

	*rowsp = NULL;
	*nrowsp = 0;
	if (project != NULL)
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_QUOTA_COLS
		    " FROM quotas WHERE tenant_id = ? AND project_id = ?"
		    " ORDER BY job_type, quota_id", &st);
	else
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_QUOTA_COLS
		    " FROM quotas WHERE tenant_id = ?"
		    " ORDER BY job_type, quota_id", &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	if (project != NULL)
		gw_stmt_bind_text(st, 2, project);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		if (n == cap) {
			struct gw_quota_load	*nr;

			cap = cap ? cap * 2 : 64;
			nr = gw_arena_alloc(a, cap * sizeof(*nr));
			if (n > 0)
				memcpy(nr, rows, n * sizeof(*nr));
			rows = nr;
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		gw_store_quota_row(st, a, &rows[n].q);
		n++;
	}
	gw_stmt_reset(st);
	if (e != GW_OK || n == 0)
		return e;

	by_type = gw_arena_alloc(a, n * sizeof(*by_type));
	for (i = 0; i < n; i++)
		by_type[i] = &rows[i];
	qsort(by_type, n, sizeof(*by_type), gw_store_load_cmp);
	if ((e = gw_store_summary_counts(s, tenant, project, by_type,
	    n)) != GW_OK ||
	    (e = gw_store_summary_admitted_all(s, tenant, now - 3600,
	    by_type, n)) != GW_OK)
		return e;
	for (i = 0; i < n; i++)
		gw_store_summary_pressure(&rows[i]);
	*rowsp = rows;
	*nrowsp = n;
	return GW_OK;
}
