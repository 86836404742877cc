/*
 * gw_store_packruns.c: pack runs (SPEC §10): the list, one run, cancel
 * and retry.
 *
 * Cancel and retry run inside the write transaction the pipeline opened
 * (they never begin or commit), so the change and its audit record
 * commit together.  Both are safe against a concurrent writer without
 * relying on the transaction's isolation level:
 *
 * - cancel is one conditional UPDATE (... AND status IN the live three);
 *   when it changes nothing, the row read afterwards says why;
 * - "never two live retries of one run" is the partial unique index
 *   pack_runs_live_retry on (tenant_id, retry_of) over the pending,
 *   scheduled and running rows (gw_schema.c).  The INSERT of the new run
 *   is ON CONFLICT DO NOTHING, so a second retry, whether it comes from
 *   the same operator, a client's retry without Idempotency-Key or
 *   another gateway machine at the same instant, inserts nothing and is
 *   answered 409 ERR_PACKRUN_RETRY_IN_PROGRESS.  When the first retry
 *   ends (the Orchestrator writes a terminal status) it leaves the index
 *   and the run may be retried again.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define GW_PACKRUN_COLS \
	"pack_run_id, tenant_id, project_id, pack_id, pack_version, status, " \
	"attempt, retry_of, reason, created_at, started_at, finished_at, " \
	"updated_at, canceled_by"

/* The states cancel leaves and a live retry is in; those retry leaves. */
#define GW_PACKRUN_LIVE	"('pending', 'scheduled', 'running')"

static const char *const gw_packrun_statuses[] = {
	"pending", "scheduled", "running", "succeeded", "failed", "canceled",
	"timed_out",
};

int
gw_packrun_status_valid(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(gw_packrun_statuses) /
	    sizeof(gw_packrun_statuses[0]); i++)
		if (strcmp(s, gw_packrun_statuses[i]) == 0)
			return 1;
	return 0;
}

static int
gw_packrun_retryable(const char *s)
{
	return strcmp(s, "failed") == 0 || strcmp(s, "canceled") == 0 ||
	    strcmp(s, "timed_out") == 0;
}

static void
gw_packrun_row(struct gw_stmt *st, struct gw_arena *a, struct gw_packrun *r)
{
	const char	*p;

	r->pack_run_id = gw_stmt_dup(st, 0, a);
	r->tenant_id = gw_stmt_dup(st, 1, a);
	/* '' is the store's "no project" (docs/storage.md). */
	p = gw_stmt_text(st, 2);
	r->project_id = p == NULL || *p == '\0' ? NULL : gw_arena_strdup(a, p);
	r->pack_id = gw_stmt_dup(st, 3, a);
	r->pack_version = gw_stmt_dup(st, 4, a);
	r->status = gw_stmt_dup(st, 5, a);
	r->attempt = gw_stmt_int(st, 6);
	r->retry_of = gw_stmt_dup(st, 7, a);
	r->reason = gw_stmt_dup(st, 8, a);
	r->created_at = gw_stmt_int(st, 9);
	r->started_at = gw_stmt_int(st, 10);
	r->finished_at = gw_stmt_int(st, 11);
	r->updated_at = gw_stmt_int(st, 12);
	r->canceled_by = gw_stmt_dup(st, 13, a);
}

/*
 * Order (createdAt desc, packRunId asc) cannot be one row value, since
 * the directions differ.  "created_at <= ?" bounds the index range, so
 * a later page starts where the last one ended (SEARCH ... created_at<?),
 * and the OR drops the few rows of that same second already returned:
 * page N costs what page 1 costs.  16 texts in all (project, status,
 * packId, first page or not), so the statement cache stays small.
 */
const char *
gw_store_packruns_sql(const struct gw_packrun_filter *f, int keyset,
    char *buf, size_t len)
{
	snprintf(buf, len, "SELECT " GW_PACKRUN_COLS " FROM pack_runs "
	    "WHERE tenant_id = ?%s%s%s%s "
	    "ORDER BY created_at DESC, pack_run_id LIMIT ?",
	    f->project != NULL ? " AND project_id = ?" : "",
	    f->status != NULL ? " AND status = ?" : "",
	    f->pack_id != NULL ? " AND pack_id = ?" : "",
	    keyset ? " AND created_at <= ? AND (created_at < ? OR "
	    "pack_run_id > ?)" : "");
	return buf;
}

/* gw_packrun_row as gw_store_page_rows fills a row. */
static void
packrun_fill(struct gw_stmt *st, struct gw_arena *a, void *row)
{
	gw_packrun_row(st, a, row);
}

enum gw_err
gw_store_packruns_list(struct gw_store *s, struct gw_arena *a,
    const struct gw_packrun_filter *f, const struct gw_page *page,
    struct gw_packrun **rowsp, size_t *nrowsp, int *more)
{
	struct gw_stmt		*st;
	void			*rows;
	const char		*errstr;
	char			 sql[640];
	long long		 created = 0;
	enum gw_err		 e;
	int			 i = 1, keyset = page->nkey >= 2;

	*rowsp = NULL;
	*nrowsp = 0;
	*more = 0;
	if (keyset) {
		/* Signed by us (gw_page), so a bad number is our bug. */
		created = gw_strtonum(page->key[0], 0, INT64_MAX, &errstr);
		if (errstr != NULL)
			return GW_ERR_INVALID_CONTINUATION_TOKEN;
	}
	gw_store_packruns_sql(f, keyset, sql, sizeof(sql));
	if ((e = gw_db_prepare(s->db, sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->status != NULL)
		gw_stmt_bind_text(st, i++, f->status);
	if (f->pack_id != NULL)
		gw_stmt_bind_text(st, i++, f->pack_id);
	if (keyset) {
		gw_stmt_bind_int(st, i++, created);
		gw_stmt_bind_int(st, i++, created);
		gw_stmt_bind_text(st, i++, page->key[1]);
	}
	/* One row more than asked tells whether a next page exists. */
	gw_stmt_bind_int(st, i++, page->limit + 1);

	if ((e = gw_store_page_rows(st, a, page->limit, sizeof(**rowsp),
	    packrun_fill, &rows, nrowsp, more)) == GW_OK)
		*rowsp = rows;
	return e;
}

enum gw_err
gw_store_packrun_get(struct gw_store *s, struct gw_arena *a,
    const char *tenant, const char *project, const char *id,
    struct gw_packrun *r)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if (project != NULL)
		e = gw_db_prepare(s->db, "SELECT " GW_PACKRUN_COLS
		    " FROM pack_runs WHERE pack_run_id = ? AND tenant_id = ?"
		    " AND project_id = ?", &st);
	else
		e = gw_db_prepare(s->db, "SELECT " GW_PACKRUN_COLS
		    " FROM pack_runs WHERE pack_run_id = ? AND tenant_id = ?",
		    &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, id);
	gw_stmt_bind_text(st, 2, tenant);
	if (project != NULL)
		gw_stmt_bind_text(st, 3, project);
	if ((e = gw_stmt_step(st, &row)) == GW_OK) {
		if (row)
			gw_packrun_row(st, a, r);
		else
			e = GW_ERR_PACKRUN_NOT_FOUND;
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_packrun_cancel(struct gw_store *s, struct gw_arena *a,
    const char *tenant, const char *project, const char *id,
    const char *actor, int64_t now, struct gw_packrun *r, int *changed)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	*changed = 0;
	if (project != NULL)
		e = gw_db_prepare(s->db, "UPDATE pack_runs SET status = "
		    "'canceled', reason = 'user_cancelled', finished_at = ?, "
		    "updated_at = ?, canceled_by = ? WHERE pack_run_id = ? "
		    "AND tenant_id = ? AND project_id = ? AND status IN "
		    GW_PACKRUN_LIVE, &st);
	else
		e = gw_db_prepare(s->db, "UPDATE pack_runs SET status = "
		    "'canceled', reason = 'user_cancelled', finished_at = ?, "
		    "updated_at = ?, canceled_by = ? WHERE pack_run_id = ? "
		    "AND tenant_id = ? AND status IN " GW_PACKRUN_LIVE, &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_int(st, 1, now);
	gw_stmt_bind_int(st, 2, now);
	gw_stmt_bind_text(st, 3, actor);
	gw_stmt_bind_text(st, 4, id);
	gw_stmt_bind_text(st, 5, tenant);
	if (project != NULL)
		gw_stmt_bind_text(st, 6, project);
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		*changed = gw_stmt_changes(st) > 0;
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	if ((e = gw_store_packrun_get(s, a, tenant, project, id, r)) != GW_OK)
		return e;
	/* SPEC §10: canceling a canceled run is a no-op 200. */
	if (!*changed && strcmp(r->status, "canceled") != 0)
		return GW_ERR_PACKRUN_TERMINAL;
	return GW_OK;
}

enum gw_err
gw_store_packrun_retry(struct gw_store *s, struct gw_arena *a,
    const char *tenant, const char *project, const char *id, int64_t now,
    struct gw_packrun *r)
{
	struct gw_packrun	 orig;
	struct gw_stmt		*st;
	char			 newid[37];
	enum gw_err		 e;
	int			 row;

	if ((e = gw_store_packrun_get(s, a, tenant, project, id, &orig)) !=
	    GW_OK)
		return e;
	if (!gw_packrun_retryable(orig.status))
		return GW_ERR_PACKRUN_NOT_RETRYABLE;
	gw_uuidv7(newid);
	memset(r, 0, sizeof(*r));
	r->pack_run_id = gw_arena_strdup(a, newid);
	r->tenant_id = orig.tenant_id;
	r->project_id = orig.project_id;
	r->pack_id = orig.pack_id;
	r->pack_version = orig.pack_version;
	r->status = "pending";
	r->attempt = orig.attempt + 1;
	r->retry_of = orig.pack_run_id;
	r->created_at = r->updated_at = now;

	if ((e = gw_db_prepare(s->db, "INSERT INTO pack_runs (pack_run_id, "
	    "tenant_id, project_id, pack_id, pack_version, status, attempt, "
	    "retry_of, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
	    "'pending', ?, ?, ?, ?) ON CONFLICT DO NOTHING", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, r->pack_run_id);
	gw_stmt_bind_text(st, 2, r->tenant_id);
	gw_stmt_bind_text(st, 3, r->project_id != NULL ? r->project_id : "");
	gw_stmt_bind_text(st, 4, r->pack_id);
	gw_stmt_bind_text(st, 5, r->pack_version);
	gw_stmt_bind_int(st, 6, r->attempt);
	gw_stmt_bind_text(st, 7, r->retry_of);
	gw_stmt_bind_int(st, 8, now);
	gw_stmt_bind_int(st, 9, now);
	if ((e = gw_stmt_step(st, &row)) == GW_OK &&
	    gw_stmt_changes(st) == 0)
		e = GW_ERR_PACKRUN_RETRY_IN_PROGRESS;
	gw_stmt_reset(st);
	return e;
}
