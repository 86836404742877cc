/*
 * gw_store_audit.c: the audit table (SPEC §11): the listing of
 * GET /jobengine/audit, and the per-tenant HMAC chain that gw_audit.c
 * appends to and verifies.
 */
#include <string.h>

#include "extern.h"

/* ---------------------------------------------------------------- */
/* The audit listing (GET /jobengine/audit, jobengine-audit). */

#define GW_AUDIT_LIST_COLS \
	"seq, occurred_at, tenant_id, project_id, actor, client_id, scopes, " \
	"action, target_type, target_id, reason, ticket, trace_id, " \
	"idempotency_key, outcome, hash"

/*
 * Newest first: a backwards range scan of the (tenant_id, seq) index,
 * from the last seq returned (SEARCH audit USING INDEX audit_tenant_seq
 * (tenant_id=? AND seq<?)), so page N costs what page 1 costs.  The
 * filters narrow that scan; none of them has an index of its own, which
 * would tempt the planner into a sort.
 */
const char *
gw_store_audit_sql(const struct gw_audit_filter *f, int keyset, char *buf,
    size_t len)
{
	snprintf(buf, len, "SELECT " GW_AUDIT_LIST_COLS " FROM audit "
	    "WHERE tenant_id = ?%s%s%s%s%s%s ORDER BY seq DESC LIMIT ?",
	    f->project != NULL ? " AND project_id = ?" : "",
	    f->action != NULL ? " AND action = ?" : "",
	    f->target_type != NULL ? " AND target_type = ?" : "",
	    f->target_id != NULL ? " AND target_id = ?" : "",
	    f->since > 0 ? " AND occurred_at >= ?" : "",
	    keyset ? " AND seq < ?" : "");
	return buf;
}

static void
gw_store_audit_item(struct gw_stmt *st, struct gw_arena *a,
    struct gw_audit_item *r)
{
	const char	*p;

	r->seq = gw_stmt_int(st, 0);
	r->occurred_at = gw_stmt_int(st, 1);
	r->tenant_id = gw_stmt_dup(st, 2, a);
	p = gw_stmt_text(st, 3);
	r->project_id = p == NULL || *p == '\0' ? NULL : gw_arena_strdup(a, p);
	r->actor = gw_stmt_dup(st, 4, a);
	r->client_id = gw_stmt_dup(st, 5, a);
	r->scopes = gw_stmt_dup(st, 6, a);
	r->action = gw_stmt_dup(st, 7, a);
	r->target_type = gw_stmt_dup(st, 8, a);
	r->target_id = gw_stmt_dup(st, 9, a);
	r->reason = gw_stmt_dup(st, 10, a);
	r->ticket = gw_stmt_dup(st, 11, a);
	r->trace_id = gw_stmt_dup(st, 12, a);
	r->idempotency_key = gw_stmt_dup(st, 13, a);
	r->outcome = gw_stmt_int(st, 14);
	r->hash = gw_stmt_dup(st, 15, a);
}

/* gw_store_audit_item as gw_store_page_rows fills a row. */
static void
audit_fill(struct gw_stmt *st, struct gw_arena *a, void *row)
{
	gw_store_audit_item(st, a, row);
}

enum gw_err
gw_store_audit_list(struct gw_store *s, struct gw_arena *a,
    const struct gw_audit_filter *f, const struct gw_page *page,
    struct gw_audit_item **rowsp, size_t *nrowsp, int *more)
{
	struct gw_stmt		*st;
	void			*rows;
	const char		*errstr;
	char			 sql[640];
	long long		 seq = 0;
	enum gw_err		 e;
	int			 i = 1, keyset = page->nkey >= 1;

	*rowsp = NULL;
	*nrowsp = 0;
	*more = 0;
	if (keyset) {
		seq = gw_strtonum(page->key[0], 1, INT64_MAX, &errstr);
		if (errstr != NULL)
			return GW_ERR_INVALID_CONTINUATION_TOKEN;
	}
	gw_store_audit_sql(f, keyset, sql, sizeof(sql));
	if ((e = gw_db_prepare(s->db, sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->action != NULL)
		gw_stmt_bind_text(st, i++, f->action);
	if (f->target_type != NULL)
		gw_stmt_bind_text(st, i++, f->target_type);
	if (f->target_id != NULL)
		gw_stmt_bind_text(st, i++, f->target_id);
	if (f->since > 0)
		gw_stmt_bind_int(st, i++, f->since);
	if (keyset)
		gw_stmt_bind_int(st, i++, seq);
	gw_stmt_bind_int(st, i++, page->limit + 1);

	if ((e = gw_store_page_rows(st, a, page->limit, sizeof(**rowsp),
	    audit_fill, &rows, nrowsp, more)) == GW_OK)
		*rowsp = rows;
	return e;
}

/* ---------------------------------------------------------------- */
/* The chain (gw_audit.c): append and verify (SPEC §11, docs/audit.md).
 *
 * audit_chain holds each tenant's chain head, the seq and hash of its last
 * record, and is updated in the transaction that appends, so that writers
 * on several processes or machines queue on one row: the upsert below
 * takes the row's lock on PostgreSQL, and SQLite's BEGIN IMMEDIATE has
 * already serialised every writer.  A record deleted from the end of a
 * chain shows as a head that names a record no longer there. */

enum gw_err
gw_store_audit_head(struct gw_store *s, const char *tenant, int64_t *seq,
    char hash[65], int *found)
{
	struct gw_stmt	*st;
	const char	*h;
	enum gw_err	 e;
	int		 row;

	*seq = 0;
	hash[0] = '\0';
	*found = 0;
	if ((e = gw_db_prepare(s->db, "SELECT seq, hash FROM audit_chain "
	    "WHERE tenant_id = ?", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		*found = 1;
		*seq = gw_stmt_int(st, 0);
		if ((h = gw_stmt_text(st, 1)) != NULL && strlen(h) < 65)
			strcpy(hash, h);
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_audit_lock_head(struct gw_store *s, const char *tenant,
    int64_t *seq, char hash[65])
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row, found;

	if ((e = gw_db_prepare(s->db, "INSERT INTO audit_chain (tenant_id, "
	    "seq, hash) VALUES (?, 0, '') ON CONFLICT (tenant_id) DO UPDATE "
	    "SET seq = audit_chain.seq", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	return gw_store_audit_head(s, tenant, seq, hash, &found);
}

enum gw_err
gw_store_audit_set_head(struct gw_store *s, const char *tenant, int64_t seq,
    const char *hash)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "UPDATE audit_chain SET seq = ?, "
	    "hash = ? WHERE tenant_id = ?", &st)) != GW_OK)
		return e;
	gw_stmt_bind_int(st, 1, seq);
	gw_stmt_bind_text(st, 2, hash);
	gw_stmt_bind_text(st, 3, tenant);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}

/* The seq is the store's (AUTOINCREMENT, an identity column), and the
 * hash covers it, so the record is written first and hashed second. */
enum gw_err
gw_store_audit_insert(struct gw_store *s, const struct gw_audit_item *r,
    const char *prev_hash, int64_t *seq)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	*seq = 0;
	if ((e = gw_db_prepare(s->db, "INSERT INTO audit (occurred_at, "
	    "tenant_id, project_id, actor, client_id, scopes, action, "
	    "target_type, target_id, reason, ticket, trace_id, "
	    "idempotency_key, outcome, prev_hash, hash) VALUES (?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '') RETURNING seq",
	    &st)) != GW_OK)
		return e;
	gw_stmt_bind_int(st, 1, r->occurred_at);
	gw_stmt_bind_text(st, 2, r->tenant_id);
	gw_stmt_bind_text(st, 3, r->project_id != NULL ? r->project_id : "");
	gw_stmt_bind_text(st, 4, r->actor);
	gw_stmt_bind_text(st, 5, r->client_id);
	gw_stmt_bind_text(st, 6, r->scopes);
	gw_stmt_bind_text(st, 7, r->action);
	gw_stmt_bind_text(st, 8, r->target_type);
	gw_stmt_bind_text(st, 9, r->target_id);
	gw_stmt_bind_text(st, 10, r->reason);
	gw_stmt_bind_text(st, 11, r->ticket);
	gw_stmt_bind_text(st, 12, r->trace_id);
	gw_stmt_bind_text(st, 13, r->idempotency_key);
	gw_stmt_bind_int(st, 14, r->outcome);
	gw_stmt_bind_text(st, 15, *prev_hash != '\0' ? prev_hash : NULL);
	if ((e = gw_stmt_step(st, &row)) == GW_OK) {
		if (row)
			*seq = gw_stmt_int(st, 0);
		else
			e = GW_ERR_INTERNAL;
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_audit_set_hash(struct gw_store *s, int64_t seq, const char *hash)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "UPDATE audit SET hash = ? "
	    "WHERE seq = ?", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, hash);
	gw_stmt_bind_int(st, 2, seq);
	if ((e = gw_stmt_step(st, &row)) == GW_OK &&
	    gw_stmt_changes(st) != 1)
		e = GW_ERR_INTERNAL;
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_audit_tenants(struct gw_store *s, struct gw_arena *a,
    const char ***tenantsp, size_t *np)
{
	struct gw_stmt	*st;
	const char	**t = NULL, **nt;
	size_t		 n = 0, cap = 0;
	enum gw_err	 e;
	int		 row;

	*tenantsp = NULL;
	*np = 0;
	if ((e = gw_db_prepare(s->db, "SELECT tenant_id FROM audit_chain "
	    "UNION SELECT DISTINCT tenant_id FROM audit ORDER BY 1",
	    &st)) != GW_OK)
		return e;
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nt = gw_arena_alloc(a, cap * sizeof(*t));
			if (n > 0)
				memcpy(nt, t, n * sizeof(*t));
			t = nt;
		}
		t[n++] = gw_stmt_dup(st, 0, a);
	}
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	*tenantsp = t;
	*np = n;
	return GW_OK;
}

/* A range of the (tenant_id, seq) index, one record at a time in a
 * scratch arena, so that a chain of any length costs constant memory. */
enum gw_err
gw_store_audit_walk(struct gw_store *s, const char *tenant,
    gw_audit_walk_fn fn, void *arg)
{
	struct gw_stmt		*st;
	struct gw_arena		*a;
	struct gw_audit_item	 r;
	enum gw_err		 e;
	int			 row;

	if ((e = gw_db_prepare(s->db, "SELECT " GW_AUDIT_LIST_COLS
	    ", prev_hash FROM audit WHERE tenant_id = ? ORDER BY seq",
	    &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	a = gw_arena_new();
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		gw_store_audit_item(st, a, &r);
		if (fn(arg, &r, gw_stmt_text(st, 16)) != 0)
			break;
		gw_arena_reset(a);
	}
	gw_stmt_reset(st);
	gw_arena_free(a);
	return e;
}
