/*
 * gw_store_idem.c: the idempotency records of SPEC §10 (docs/idempotency.md).
 *
 * One row per (tenant, key, method, path), whose UNIQUE constraint makes
 * the database the arbiter between FastCGI processes and between gateway
 * machines.  A row is "in_flight" while its first request runs (expires_at
 * is then the end of its lease) and "done" once the response is stored
 * (expires_at is then the end of the 24 hours it is kept).  Every call
 * runs inside the caller's transaction.
 */
#include "extern.h"

#define GW_STORE_IDEM_WHERE \
	" WHERE tenant_id = ? AND idem_key = ? AND method = ? AND path = ?"

static void
gw_store_idem_bind_key(struct gw_stmt *st, const struct gw_idem_key *k)
{
	gw_stmt_bind_text(st, 1, k->tenant);
	gw_stmt_bind_text(st, 2, k->key);
	gw_stmt_bind_text(st, 3, k->method);
	gw_stmt_bind_text(st, 4, k->path);
}

enum gw_err
gw_store_idem_get(struct gw_store *s, struct gw_arena *a,
    const struct gw_idem_key *k, struct gw_idem_rec *r, int *found)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	*found = 0;
	if ((e = gw_db_prepare(s->db, "SELECT fingerprint, state, status, "
	    "headers, body, expires_at FROM idempotency" GW_STORE_IDEM_WHERE,
	    &st)) != GW_OK)
		return e;
	gw_store_idem_bind_key(st, k);
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		*found = 1;
		r->fingerprint = gw_stmt_dup(st, 0, a);
		r->done = gw_stmt_text(st, 1) != NULL &&
		    gw_stmt_text(st, 1)[0] == 'd';
		r->status = (int)gw_stmt_int(st, 2);
		r->headers = gw_stmt_dup(st, 3, a);
		r->body = gw_stmt_dup(st, 4, a);
		r->expires_at = gw_stmt_int(st, 5);
	}
	gw_stmt_reset(st);
	return e;
}

/*
 * Start the in-flight record: insert it, or take over a row whose time is
 * up (a stored response past its 24 hours, or the lease of a worker that
 * died).  *taken is 0 when an unexpired row holds the key: another request
 * got there between the caller's read and this write (possible on
 * PostgreSQL, where the read takes no lock), and the caller reads again.
 */
enum gw_err
gw_store_idem_start(struct gw_store *s, const struct gw_idem_key *k,
    const char *fingerprint, int64_t now, int64_t lease_end, int *taken)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	*taken = 0;
	if ((e = gw_db_prepare(s->db, "INSERT INTO idempotency (tenant_id, "
	    "idem_key, method, path, fingerprint, state, status, headers, "
	    "body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, "
	    "'in_flight', NULL, NULL, NULL, ?, ?) ON CONFLICT (tenant_id, "
	    "idem_key, method, path) DO UPDATE SET fingerprint = "
	    "excluded.fingerprint, state = 'in_flight', status = NULL, "
	    "headers = NULL, body = NULL, created_at = excluded.created_at, "
	    "expires_at = excluded.expires_at "
	    "WHERE idempotency.expires_at <= ?", &st)) != GW_OK)
		return e;
	gw_store_idem_bind_key(st, k);
	gw_stmt_bind_text(st, 5, fingerprint);
	gw_stmt_bind_int(st, 6, now);
	gw_stmt_bind_int(st, 7, lease_end);
	gw_stmt_bind_int(st, 8, now);
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		*taken = gw_stmt_changes(st) == 1;
	gw_stmt_reset(st);
	return e;
}

/*
 * Store the response.  An upsert rather than an update of the in-flight
 * row: should a handler outlive its lease and the row have been purged
 * or taken over, the response that committed with the change still wins.
 */
enum gw_err
gw_store_idem_finish(struct gw_store *s, const struct gw_idem_key *k,
    const char *fingerprint, int status, const char *headers,
    const char *body, int64_t now, int64_t expires_at)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "INSERT INTO idempotency (tenant_id, "
	    "idem_key, method, path, fingerprint, state, status, headers, "
	    "body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'done', "
	    "?, ?, ?, ?, ?) ON CONFLICT (tenant_id, idem_key, method, path) "
	    "DO UPDATE SET fingerprint = excluded.fingerprint, "
	    "state = 'done', status = excluded.status, "
	    "headers = excluded.headers, body = excluded.body, "
	    "expires_at = excluded.expires_at", &st)) != GW_OK)
		return e;
	gw_store_idem_bind_key(st, k);
	gw_stmt_bind_text(st, 5, fingerprint);
	gw_stmt_bind_int(st, 6, status);
	gw_stmt_bind_text(st, 7, headers);
	gw_stmt_bind_text(st, 8, body);
	gw_stmt_bind_int(st, 9, now);
	gw_stmt_bind_int(st, 10, expires_at);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}

/* Drop our in-flight row (only that: never a stored response). */
enum gw_err
gw_store_idem_drop(struct gw_store *s, const struct gw_idem_key *k,
    const char *fingerprint)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "DELETE FROM idempotency"
	    GW_STORE_IDEM_WHERE " AND state = 'in_flight' AND fingerprint = ?",
	    &st)) != GW_OK)
		return e;
	gw_store_idem_bind_key(st, k);
	gw_stmt_bind_text(st, 5, fingerprint);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}

/* A range of the idempotency_expires index: the cost is the number of
 * rows that expired, never the size of the table. */
const char gw_store_idem_purge_sql[] =
	"DELETE FROM idempotency WHERE expires_at < ?";

enum gw_err
gw_store_idem_purge(struct gw_store *s, int64_t now)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, gw_store_idem_purge_sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_int(st, 1, now);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}
