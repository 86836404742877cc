/*
 * gw_store.c: the store handle and the queries behind the handlers.
 *
 * Every query carries the tenant of the validated request (SPEC §4): a row
 * of another tenant, or of another project when X-Stella-Project is set,
 * is not found.  A missing projectId is stored as '' so that it takes part
 * in unique constraints and keyset order like any other value; '' becomes
 * NULL again here, at the boundary, and nowhere else.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define GW_STORE_SOURCE_COLS \
	"source_id, tenant_id, project_id, name, source_type, enabled, " \
	"paused, pause_reason, created_at, updated_at"

/*
 * The schema must be at the version this build expects.  A store that
 * answers with another version is a deployment mistake (migrate first):
 * the program refuses to start.  A store that cannot be reached at start
 * (a PostgreSQL server restarting) is an outage, not a mistake: the program
 * starts, and the first request that finds the store reachable makes the
 * check (gw_store_check); until then requests get 503.
 *
 * Returns 0 when the version is right, -1 when the store did not answer,
 * -2 when it answered with another version.
 */
static int
gw_store_version(struct gw_store *s, char *err, size_t errlen)
{
	int	 v;

	if (s->checked)
		return 0;
	if (gw_schema_version(s->db, &v) != GW_OK) {
		snprintf(err, errlen, "database: cannot read the schema "
		    "version");
		return -1;
	}
	if (v != gw_schema_latest()) {
		snprintf(err, errlen, "database schema is at version %d, "
		    "expected %d: run jobengine-admin migrate", v,
		    gw_schema_latest());
		return -2;
	}
	s->checked = 1;
	return 0;
}

enum gw_err
gw_store_check(struct gw_store *s, char *err, size_t errlen)
{
	return gw_store_version(s, err, errlen) == 0 ? GW_OK :
	    GW_ERR_UNAVAILABLE;
}

enum gw_err
gw_store_open(const struct gw_conf *conf, struct gw_store **sp, char *err,
    size_t errlen)
{
	struct gw_store	*s;
	struct gw_db	*db;
	enum gw_err	 e;

	*sp = NULL;
	if ((e = gw_db_open(conf, &db, err, errlen)) != GW_OK)
		return e;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		gw_db_close(db);
		return GW_ERR_INTERNAL;
	}
	s->db = db;
	s->conf = conf;
	switch (gw_store_version(s, err, errlen)) {
	case -1:
		gw_log(GW_LOG_WARN, NULL, "%s; will check again", err);
		break;
	case -2:
		gw_store_close(s);
		return GW_ERR_UNAVAILABLE;
	}
	*sp = s;
	return GW_OK;
}

void
gw_store_close(struct gw_store *s)
{
	if (s == NULL)
		return;
	gw_db_close(s->db);
	free(s);
}

enum gw_err
gw_store_ping(struct gw_store *s)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if (gw_db_prepare(s->db, "SELECT 1", &st) != GW_OK)
		return GW_ERR_UNAVAILABLE;
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e == GW_OK && row ? GW_OK : GW_ERR_UNAVAILABLE;
}

/* '' is how the store spells "no project" (see above). */
static const char *
gw_store_project_out(struct gw_stmt *st, int col, struct gw_arena *a)
{
	const char	*s = gw_stmt_text(st, col);

	return s == NULL || *s == '\0' ? NULL : gw_arena_strdup(a, s);
}

static void
gw_store_source_row(struct gw_stmt *st, struct gw_arena *a,
    struct gw_source *r)
{
	r->source_id = gw_stmt_dup(st, 0, a);
	r->tenant_id = gw_stmt_dup(st, 1, a);
	r->project_id = gw_store_project_out(st, 2, a);
	r->name = gw_stmt_dup(st, 3, a);
	r->source_type = gw_stmt_dup(st, 4, a);
	r->enabled = gw_stmt_int(st, 5) != 0;
	r->paused = gw_stmt_int(st, 6) != 0;
	r->pause_reason = gw_stmt_dup(st, 7, a);
	r->created_at = gw_stmt_int(st, 8);
	r->updated_at = gw_stmt_int(st, 9);
}

/*
 * One of 16 fixed texts (each optional filter, first page or not), so the
 * statement cache holds at most 16 sources-list statements.  The row
 * value comparison and ORDER BY follow the (tenant_id[, project_id], name,
 * source_id) index, which makes every page an index range scan with no
 * sort: page N costs what page 1 costs (SPEC §9).
 */
const char *
gw_store_sources_sql(const struct gw_source_filter *f, int keyset,
    char *buf, size_t len)
{
	snprintf(buf, len, "SELECT " GW_STORE_SOURCE_COLS " FROM sources "
	    "WHERE tenant_id = ?%s%s%s%s ORDER BY name, source_id LIMIT ?",
	    f->project != NULL ? " AND project_id = ?" : "",
	    f->source_type != NULL ? " AND source_type = ?" : "",
	    f->enabled >= 0 ? " AND enabled = ?" : "",
	    keyset ? " AND (name, source_id) > (?, ?)" : "");
	return buf;
}

/* gw_store_source_row as gw_store_page_rows fills a row. */
static void
source_fill(struct gw_stmt *st, struct gw_arena *a, void *row)
{
	gw_store_source_row(st, a, row);
}

/*
 * The rows of one page.  st's last binding is limit + 1: one row more than
 * asked tells whether a next page exists (*more).  Each row is filled
 * into an arena array of limit elements of size bytes; st is reset.
 */
enum gw_err
gw_store_page_rows(struct gw_stmt *st, struct gw_arena *a, int limit,
    size_t size, gw_store_fill_fn fill, void **rowsp, size_t *nrowsp,
    int *more)
{
	char		*rows;
	size_t		 n = 0;
	enum gw_err	 e;
	int		 row;

	rows = gw_arena_alloc(a, size * (size_t)(limit + 1));
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		if (n == (size_t)limit) {
			*more = 1;
			break;
		}
		fill(st, a, rows + size * n++);
	}
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	*rowsp = rows;
	*nrowsp = n;
	return GW_OK;
}

enum gw_err
gw_store_sources_list(struct gw_store *s, struct gw_arena *a,
    const struct gw_source_filter *f, const struct gw_page *page,
    struct gw_source **rowsp, size_t *nrowsp, int *more)
{
	struct gw_stmt		*st;
	void			*rows;
	char			 sql[512];
	enum gw_err		 e;
	int			 i = 1, keyset = page->nkey >= 2;

	*rowsp = NULL;
	*nrowsp = 0;
	*more = 0;
	gw_store_sources_sql(f, keyset, sql, sizeof(sql));
	if ((e = gw_db_prepare(s->db, sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->source_type != NULL)
		gw_stmt_bind_text(st, i++, f->source_type);
	if (f->enabled >= 0)
		gw_stmt_bind_int(st, i++, f->enabled != 0);
	if (keyset) {
		gw_stmt_bind_text(st, i++, page->key[0]);
		gw_stmt_bind_text(st, i++, page->key[1]);
	}
	/* One row more than asked tells whether a next page exists. */
	gw_stmt_bind_int(st, i++, page->limit + 1);

	if ((e = gw_store_page_rows(st, a, page->limit, sizeof(**rowsp),
	    source_fill, &rows, nrowsp, more)) == GW_OK)
		*rowsp = rows;
	return e;
}

enum gw_err
gw_store_source_get(struct gw_store *s, struct gw_arena *a,
    const char *tenant, const char *project, const char *id,
    struct gw_source *r)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if (project != NULL)
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_SOURCE_COLS
		    " FROM sources WHERE source_id = ? AND tenant_id = ?"
		    " AND project_id = ?", &st);
	else
		e = gw_db_prepare(s->db, "SELECT " GW_STORE_SOURCE_COLS
		    " FROM sources WHERE source_id = ? AND tenant_id = ?", &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, id);
	gw_stmt_bind_text(st, 2, tenant);
	if (project != NULL)
		gw_stmt_bind_text(st, 3, project);
	if ((e = gw_stmt_step(st, &row)) == GW_OK) {
		if (row)
			gw_store_source_row(st, a, r);
		else
			e = GW_ERR_SOURCE_NOT_FOUND;
	}
	gw_stmt_reset(st);
	return e;
}
