/*
 * gw_db.c: the one place that knows which database driver is in use.
 *
 * Everything above this file (schema, store, import) writes SQL once, with
 * '?' placeholders, INTEGER 0/1 booleans and INTEGER epoch seconds, and
 * calls these functions; each forwards to the driver's struct gw_db_ops.
 * A statement finds its driver through struct gw_stmt_head, which every
 * driver's struct gw_stmt begins with.
 */
#include <string.h>

#include "extern.h"

#define GW_DB_OPS(st)	(((struct gw_stmt_head *)(st))->db->ops)

enum gw_err
gw_db_open(const struct gw_conf *conf, struct gw_db **dbp, char *err,
    size_t errlen)
{
	const char	*d = conf->database;

	*dbp = NULL;
	if (d == NULL || *d == '\0') {
		snprintf(err, errlen, "database: not configured");
		return GW_ERR_INTERNAL;
	}
	if (strncmp(d, "sqlite:", 7) == 0) {
		if (d[7] == '\0') {
			snprintf(err, errlen, "database: sqlite: needs a path");
			return GW_ERR_INTERNAL;
		}
		return gw_db_sqlite_open(conf, d + 7, dbp, err, errlen);
	}
	if (strncmp(d, "postgresql://", 13) == 0 ||
	    strncmp(d, "postgres://", 11) == 0) {
		return gw_db_pg_open(conf, d, dbp, err, errlen);
	}
	snprintf(err, errlen, "database: expected sqlite:PATH or "
	    "postgresql://URI");
	return GW_ERR_INTERNAL;
}

void
gw_db_close(struct gw_db *db)
{
	if (db != NULL)
		db->ops->close(db);
}

enum gw_dialect
gw_db_dialect(const struct gw_db *db)
{
	return db->ops->dialect;
}

int
gw_db_replay(struct gw_db *db, struct gw_replay **r)
{
	if (db->ops->replay == NULL)
		return 0;
	*r = db->ops->replay(db);
	return 1;
}

enum gw_err
gw_db_exec(struct gw_db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

enum gw_err
gw_db_begin(struct gw_db *db, int write)
{
	enum gw_err	 e;

	if ((e = db->ops->begin(db, write)) == GW_OK)
		db->in_txn = 1;
	return e;
}

enum gw_err
gw_db_commit(struct gw_db *db)
{
	enum gw_err	 e;

	e = db->ops->commit(db);
	if (e != GW_OK)
		db->ops->rollback(db);
	db->in_txn = 0;
	return e;
}

void
gw_db_rollback(struct gw_db *db)
{
	if (db->in_txn)
		db->ops->rollback(db);
	db->in_txn = 0;
}

enum gw_err
gw_db_prepare(struct gw_db *db, const char *sql, struct gw_stmt **st)
{
	return db->ops->prepare(db, sql, st);
}

void
gw_stmt_bind_text(struct gw_stmt *st, int i, const char *s)
{
	GW_DB_OPS(st)->bind_text(st, i, s);
}

void
gw_stmt_bind_int(struct gw_stmt *st, int i, int64_t v)
{
	GW_DB_OPS(st)->bind_int(st, i, v);
}

enum gw_err
gw_stmt_step(struct gw_stmt *st, int *row)
{
	return GW_DB_OPS(st)->step(st, row);
}

const char *
gw_stmt_text(struct gw_stmt *st, int i)
{
	return GW_DB_OPS(st)->col_text(st, i);
}

char *
gw_stmt_dup(struct gw_stmt *st, int i, struct gw_arena *a)
{
	const char	*s;

	if ((s = GW_DB_OPS(st)->col_text(st, i)) == NULL)
		return NULL;
	return gw_arena_strdup(a, s);
}

int64_t
gw_stmt_int(struct gw_stmt *st, int i)
{
	return GW_DB_OPS(st)->col_int(st, i);
}

int64_t
gw_stmt_changes(struct gw_stmt *st)
{
	return GW_DB_OPS(st)->changes(st);
}

void
gw_stmt_reset(struct gw_stmt *st)
{
	GW_DB_OPS(st)->reset(st);
}
