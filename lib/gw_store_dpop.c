/*
 * gw_store_dpop.c: the DPoP replay record (RFC 9449 §11.1, SPEC §3).
 *
 * One row per (jkt, jti) in dpop_replay, whose UNIQUE (jkt, jti) makes the
 * database the arbiter: two FastCGI processes, or two gateway machines on
 * one PostgreSQL, that receive the same proof at once both try the insert
 * and exactly one of them gets a row.  A per-process cache would let a
 * replay through by reaching another process.
 *
 * The statement runs on its own (autocommit): the pipeline calls it during
 * authentication, before a handler's transaction begins, so the record is
 * committed, and seen by every other process, before the request does
 * anything.
 *
 * With SQLite the table lives in a file of its own, synced at checkpoints
 * only (gw_db_sqlite.c: every DPoP GET writes a record, and a write to the
 * data's file would reset every other process's page cache).  PostgreSQL
 * keeps its synchronous commit; concurrent commits share one flush there.
 */
#include <stdlib.h>

#include "extern.h"

/*
 * A row whose expiry has passed belongs to a proof no check accepts any
 * more (its iat is out of the window), so it may be taken over in place:
 * a client that reuses a jti after its window is not refused just because
 * the purge has not run yet.  Zero rows changed means an unexpired row
 * holds the pair: a replay.
 */
#define GW_STORE_DPOP_INSERT \
	"INSERT INTO dpop_replay (jkt, jti, expires_at) VALUES (?, ?, ?) " \
	"ON CONFLICT (jkt, jti) DO UPDATE SET expires_at = " \
	"excluded.expires_at WHERE dpop_replay.expires_at < ?"

/* A range of the dpop_replay_expires index. */
const char gw_store_dpop_purge_sql[] =
	"DELETE FROM dpop_replay WHERE expires_at < ?";

static unsigned long gw_store_dpop_nrecords;

enum gw_err
gw_store_dpop_purge(struct gw_store *s, int64_t now)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, gw_store_dpop_purge_sql, &st)) != GW_OK)
		return e;
	gw_stmt_bind_int(st, 1, now);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}

/* A prepared (cached) statement: no parse per request. */
enum gw_err
gw_store_dpop_record(struct gw_store *s, const char *jkt, const char *jti,
    int64_t expires, int64_t now)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int64_t		 n = 0;
	int		 row;

	if ((e = gw_db_prepare(s->db, GW_STORE_DPOP_INSERT, &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, jkt);
	gw_stmt_bind_text(st, 2, jti);
	gw_stmt_bind_int(st, 3, expires);
	gw_stmt_bind_int(st, 4, now);
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		n = gw_stmt_changes(st);
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	if (n == 0)
		return GW_ERR_CONFLICT;
	/* Amortised: the purge deletes what expired since the last one,
	 * and a failed purge only leaves rows for the next. */
	if (++gw_store_dpop_nrecords % GW_DPOP_PURGE_EVERY == 0)
		(void)gw_store_dpop_purge(s, now);
	return GW_OK;
}
