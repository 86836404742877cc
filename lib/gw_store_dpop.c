/*
 * gw_store_dpop.c: the DPoP replay record (RFC 9449 §11.1, SPEC §3).
 *
 * A SQLite store keeps the records in its replay table (gw_replay.c), a
 * hash table that every FastCGI process of the machine maps.  PostgreSQL
 * keeps one row per (jkt, jti) in dpop_replay, whose UNIQUE (jkt, jti)
 * makes the database the arbiter between gateway machines.  Either way,
 * two processes that receive the same proof at once both try to write its
 * record and exactly one of them does; a per-process cache would let a
 * replay through by reaching another process.
 *
 * The record is written on its own (PostgreSQL: autocommit), during
 * authentication, before a handler's transaction begins, so every other
 * process sees it before the request does anything.  PostgreSQL keeps its
 * synchronous commit; concurrent commits share one flush there.
 */
#include <stdlib.h>
#include <string.h>

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
	struct gw_replay	*r;
	struct gw_stmt		*st;
	enum gw_err		 e;
	int			 row;

	if (gw_db_replay(s->db, &r))
		return GW_OK;
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
	struct gw_replay	*r;
	struct gw_stmt		*st;
	enum gw_err		 e;
	int64_t			 n = 0;
	int			 row;

	if (gw_db_replay(s->db, &r))
		return r != NULL ? gw_replay_record(r, jkt, jti, expires, now) :
		    GW_ERR_UNAVAILABLE;
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

int64_t
gw_store_dpop_since(struct gw_store *s)
{
	struct gw_replay	*r;

	return gw_db_replay(s->db, &r) && r != NULL ? gw_replay_since(r) : 0;
}

/* One number from a statement with text and integer parameters. */
static int64_t
gw_store_dpop_number(struct gw_store *s, const char *sql, const char *jkt,
    const char *jti, int64_t now)
{
	struct gw_stmt	*st;
	int64_t		 n = -1;
	int		 row, i = 1;

	if (gw_db_prepare(s->db, sql, &st) != GW_OK)
		return -1;
	if (jkt != NULL) {
		gw_stmt_bind_text(st, i++, jkt);
		gw_stmt_bind_text(st, i++, jti);
	}
	gw_stmt_bind_int(st, i, now);
	if (gw_stmt_step(st, &row) == GW_OK)
		n = row ? gw_stmt_int(st, 0) : 0;
	gw_stmt_reset(st);
	return n;
}

int64_t
gw_store_dpop_expires(struct gw_store *s, const char *jkt, const char *jti,
    int64_t now)
{
	struct gw_replay	*r;

	if (gw_db_replay(s->db, &r))
		return r != NULL ? gw_replay_expires(r, jkt, jti, now) : -1;
	return gw_store_dpop_number(s, "SELECT expires_at FROM dpop_replay "
	    "WHERE jkt = ? AND jti = ? AND expires_at >= ?", jkt, jti, now);
}

int
gw_store_dpop_info(struct gw_store *s, int64_t now,
    struct gw_replay_info *info)
{
	struct gw_replay	*r;
	int64_t			 n;

	if (gw_db_replay(s->db, &r))
		return r != NULL && gw_replay_info(r, now, info) ? 1 : -1;
	memset(info, 0, sizeof(*info));
	if ((n = gw_store_dpop_number(s, "SELECT count(*) FROM dpop_replay "
	    "WHERE expires_at >= ?", NULL, NULL, now)) < 0)
		return -1;
	info->live = (uint32_t)n;
	return 0;
}
