/*
 * gw_db_pg.c: the PostgreSQL driver behind struct gw_db_ops, over libpq.
 *
 * One connection per process, kept across requests.  It is opened lazily:
 * a server that is down when the program starts, or that restarts later,
 * costs the request in flight a GW_ERR_UNAVAILABLE (503 with Retry-After)
 * and the next request connects again, without restarting the process.
 * A connection lost inside a transaction loses the transaction: every
 * later statement of it fails until the caller rolls back, and only then
 * does the driver reconnect, so that no statement of a transaction ever
 * runs, unnoticed, in autocommit on a new connection.
 *
 * Every connection starts with SET search_path (store.pg_schema, default
 * "jobengine") and SET statement_timeout (store.statement_timeout_ms).
 *
 * Statements are written with '?' placeholders (docs/storage.md); they are
 * rewritten to $1..$n outside string literals, quoted identifiers and
 * comments, prepared once per connection under a generated name and
 * cached by their text, like the SQLite driver's.  Parameters go as text
 * and results come back as text; a step executes the statement on its
 * first call and then walks the rows of the whole result.
 *
 * SQLite undoes only the failed statement of a transaction; PostgreSQL
 * aborts the whole transaction.  So that store code may go on after a
 * refused INSERT or UPDATE (a unique key taken) as it does on SQLite,
 * every statement other than a SELECT runs inside a transaction under a
 * savepoint, rolled back to when it fails.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "extern.h"

#define GW_DB_PG_NBUCKET	64
#define GW_DB_PG_TEXTOID	25	/* pg_type.oid of text */

struct gw_stmt {
	struct gw_stmt_head	 head;
	char			*sql;		/* the caller's text: the key */
	char			*pgsql;		/* with $n placeholders */
	uint32_t		 hash;
	char			 name[24];	/* "gw_<n>" on the server */
	uint64_t		 gen;		/* connection prepared on, 0 none */
	int			 nparam;
	unsigned int		*types;		/* 0 (inferred) or text */
	char			**param;	/* owned copies, NULL for NULL */
	PGresult		*res;		/* the whole result, once run */
	int			 run;
	int			 row;		/* current row of res */
	int64_t			 changes;
	struct gw_stmt		*next;
};

struct gw_db_pg {
	struct gw_db		 db;		/* first: a gw_db * is ours */
	PGconn			*conn;
	char			*uri;
	uint64_t		 gen;		/* connections made so far */
	unsigned int		 nname;		/* statement names given */
	int			 broken;	/* reconnect before use */
	int			 txn;		/* inside BEGIN ... COMMIT */
	int			 txn_lost;	/* its connection went away */
	struct gw_stmt		*bucket[GW_DB_PG_NBUCKET];
};

static struct gw_db_pg *
gw_db_pg_of(struct gw_db *db)
{
	return (struct gw_db_pg *)db;
}

static uint32_t
gw_db_pg_hash(const char *s)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The connection is gone (or unusable): the next use makes a new one. */
static void
gw_db_pg_lost(struct gw_db_pg *d)
{
	d->broken = 1;
	if (d->txn)
		d->txn_lost = 1;
}

/*
 * A failed result to our error, by SQLSTATE (PostgreSQL 15, Appendix A).
 * A result without a SQLSTATE is one libpq made itself: the connection
 * failed.
 */
static enum gw_err
gw_db_pg_err(struct gw_db_pg *d, const PGresult *res, const char *what)
{
	const char	*state, *msg;
	enum gw_err	 e;
	int		 level;

	state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res != NULL ? PQresultErrorMessage(res) : "";
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(d->conn);
	if (state == NULL || PQstatus(d->conn) != CONNECTION_OK) {
		gw_db_pg_lost(d);
		e = GW_ERR_UNAVAILABLE;
		level = GW_LOG_WARN;
	} else if (strcmp(state, "23505") == 0 ||	/* unique_violation */
	    strcmp(state, "23514") == 0 ||		/* check_violation */
	    strcmp(state, "23P01") == 0) {		/* exclusion_violation */
		e = GW_ERR_CONFLICT;
		level = GW_LOG_DEBUG;
	} else if (strcmp(state, "40001") == 0 ||	/* serialization */
	    strcmp(state, "40P01") == 0 ||		/* deadlock */
	    strcmp(state, "57014") == 0 ||		/* statement timeout */
	    strcmp(state, "55P03") == 0 ||		/* lock not available */
	    strncmp(state, "08", 2) == 0 ||		/* connection */
	    strncmp(state, "53", 2) == 0 ||		/* resources */
	    strncmp(state, "57P0", 4) == 0) {		/* shutdown */
		if (strncmp(state, "08", 2) == 0 ||
		    strncmp(state, "57P0", 4) == 0)
			gw_db_pg_lost(d);
		e = GW_ERR_UNAVAILABLE;
		level = GW_LOG_WARN;
	} else {
		e = GW_ERR_INTERNAL;
		level = GW_LOG_ERROR;
	}
	gw_log(level, NULL, "postgresql: %s: %s%s%.*s", what,
	    state != NULL ? state : "", state != NULL ? " " : "",
	    (int)strcspn(msg, "\n"), msg);
	return e;
}

/* Run a statement without parameters or rows (SET, BEGIN, SAVEPOINT). */
static enum gw_err
gw_db_pg_command(struct gw_db_pg *d, const char *sql)
{
	PGresult	*res;
	enum gw_err	 e = GW_OK;

	res = PQexec(d->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		e = gw_db_pg_err(d, res, sql);
	PQclear(res);
	return e;
}

/* Server notices ("schema already exists, skipping") are debug lines. */
static void
gw_db_pg_notice(void *arg, const char *msg)
{
	(void)arg;
	gw_log(GW_LOG_DEBUG, NULL, "postgresql: %.*s",
	    (int)strcspn(msg, "\n"), msg);
}

/*
 * The connection to use, made anew when there is none or it broke.
 * Inside a transaction whose connection went away there is none: the
 * caller must roll back first.
 */
static enum gw_err
gw_db_pg_conn(struct gw_db_pg *d)
{
	const struct gw_conf	*conf = d->db.conf;
	const char		*schema;
	char			*q = NULL, *sql = NULL;
	size_t			 len;
	enum gw_err		 e;

	if (d->txn_lost)
		return GW_ERR_UNAVAILABLE;
	if (d->conn != NULL && !d->broken &&
	    PQstatus(d->conn) == CONNECTION_OK)
		return GW_OK;
	if (d->conn != NULL) {
		PQfinish(d->conn);
		d->conn = NULL;
	}
	d->broken = 0;
	d->conn = PQconnectdb(d->uri);
	if (PQstatus(d->conn) != CONNECTION_OK) {
		gw_log(GW_LOG_WARN, NULL, "postgresql: connect: %.*s",
		    (int)strcspn(PQerrorMessage(d->conn), "\n"),
		    PQerrorMessage(d->conn));
		PQfinish(d->conn);
		d->conn = NULL;
		return GW_ERR_UNAVAILABLE;
	}
	d->gen++;
	PQsetNoticeProcessor(d->conn, gw_db_pg_notice, NULL);

	schema = conf->pg_schema != NULL && *conf->pg_schema != '\0' ?
	    conf->pg_schema : "jobengine";
	e = GW_ERR_INTERNAL;
	if ((q = PQescapeIdentifier(d->conn, schema, strlen(schema))) == NULL)
		goto fail;
	len = strlen(q) + 64;
	if ((sql = malloc(len)) == NULL)
		goto fail;
	snprintf(sql, len, "SET search_path TO %s", q);
	if ((e = gw_db_pg_command(d, sql)) != GW_OK)
		goto fail;
	snprintf(sql, len, "SET statement_timeout = %d",
	    conf->statement_timeout_ms > 0 ? conf->statement_timeout_ms : 0);
	if ((e = gw_db_pg_command(d, sql)) != GW_OK)
		goto fail;
	PQfreemem(q);
	free(sql);
	return GW_OK;
fail:
	if (q != NULL)
		PQfreemem(q);
	free(sql);
	PQfinish(d->conn);
	d->conn = NULL;
	return e == GW_ERR_INTERNAL ? e : GW_ERR_UNAVAILABLE;
}

/*
 * '?' to $1..$n outside '...' literals, "..." identifiers and -- and
 * C-style comments.  Doubled quotes inside a literal toggle twice and so
 * need no case of their own.
 */
static char *
gw_db_pg_rewrite(const char *sql, int *nparam)
{
	const char	*p;
	char		*out, *o;
	size_t		 n = 0;
	char		 quote = 0;

	for (p = sql; *p != '\0'; p++)
		if (*p == '?')
			n++;
	if ((out = malloc(strlen(sql) + n * 6 + 1)) == NULL)
		return NULL;
	n = 0;
	for (p = sql, o = out; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
		} else if (p[0] == '-' && p[1] == '-') {
			while (p[1] != '\0' && p[1] != '\n')
				*o++ = *p++;
		} else if (p[0] == '/' && p[1] == '*') {
			while (p[1] != '\0' && !(p[0] == '*' && p[1] == '/'))
				*o++ = *p++;
		} else if (*p == '?') {
			o += sprintf(o, "$%zu", ++n);
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	*nparam = (int)n;
	return out;
}

/*
 * Prepare st on the current connection.  Parameter types are left to the
 * server, which infers each from its use; one it cannot infer ("? IS
 * NULL") is declared text and the statement prepared again.
 */
static enum gw_err
gw_db_pg_prepare_conn(struct gw_db_pg *d, struct gw_stmt *st)
{
	PGresult	*res;
	const char	*state, *msg, *dollar;
	enum gw_err	 e;
	long		 k;

	snprintf(st->name, sizeof(st->name), "gw_%u", ++d->nname);
	for (;;) {
		res = PQprepare(d->conn, st->name, st->pgsql, st->nparam,
		    st->types);
		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			st->gen = d->gen;
			return GW_OK;
		}
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		/* 42P18 indeterminate_datatype: "... of parameter $3" */
		if (state == NULL || strcmp(state, "42P18") != 0 ||
		    msg == NULL || (dollar = strrchr(msg, '$')) == NULL ||
		    (k = strtol(dollar + 1, NULL, 10)) < 1 ||
		    k > st->nparam || st->types[k - 1] != 0)
			break;
		st->types[k - 1] = GW_DB_PG_TEXTOID;
		PQclear(res);
	}
	e = gw_db_pg_err(d, res, "prepare");
	gw_log(GW_LOG_DEBUG, NULL, "postgresql: in: %s", st->sql);
	PQclear(res);
	return e;
}

static void
gw_db_pg_clear(struct gw_stmt *st)
{
	int	 i;

	for (i = 0; i < st->nparam; i++) {
		free(st->param[i]);
		st->param[i] = NULL;
	}
}

static void
gw_db_pg_reset(struct gw_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->run = 0;
	st->row = 0;
	st->changes = 0;
}

static void
gw_db_pg_free_stmt(struct gw_stmt *st)
{
	gw_db_pg_reset(st);
	gw_db_pg_clear(st);
	free(st->param);
	free(st->types);
	free(st->pgsql);
	free(st->sql);
	free(st);
}

static void
gw_db_pg_close(struct gw_db *db)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);
	struct gw_stmt	*st, *next;
	size_t		 i;

	for (i = 0; i < GW_DB_PG_NBUCKET; i++) {
		for (st = d->bucket[i]; st != NULL; st = next) {
			next = st->next;
			gw_db_pg_free_stmt(st);
		}
	}
	if (d->conn != NULL)
		PQfinish(d->conn);
	free(d->uri);
	free(d);
}

static enum gw_err
gw_db_pg_exec(struct gw_db *db, const char *sql)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);
	PGresult	*res;
	enum gw_err	 e;

	if ((e = gw_db_pg_conn(d)) != GW_OK)
		return e;
	if (d->txn && (e = gw_db_pg_command(d, "SAVEPOINT gw_stmt")) != GW_OK)
		return e;
	/* PQexec runs every statement of sql (a migration) in order. */
	res = PQexec(d->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		e = gw_db_pg_err(d, res, "exec");
	PQclear(res);
	if (d->txn && !d->broken)
		(void)gw_db_pg_command(d, e == GW_OK ?
		    "RELEASE SAVEPOINT gw_stmt" :
		    "ROLLBACK TO SAVEPOINT gw_stmt; RELEASE SAVEPOINT gw_stmt");
	return e;
}

/*
 * Writers: READ COMMITTED, which with conditional UPDATEs and unique keys
 * is what the store needs; where it reads before it writes, it locks the
 * row first (docs/storage.md).  Readers: one snapshot for the whole
 * transaction, as SQLite gives a deferred transaction.
 */
static enum gw_err
gw_db_pg_begin(struct gw_db *db, int write)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);
	enum gw_err	 e;

	if (d->txn) {
		gw_log(GW_LOG_ERROR, NULL, "postgresql: nested BEGIN");
		return GW_ERR_INTERNAL;
	}
	if ((e = gw_db_pg_conn(d)) != GW_OK)
		return e;
	e = gw_db_pg_command(d, write ? "BEGIN ISOLATION LEVEL READ COMMITTED" :
	    "BEGIN ISOLATION LEVEL REPEATABLE READ");
	if (e == GW_OK) {
		d->txn = 1;
		d->txn_lost = 0;
	}
	return e;
}

static enum gw_err
gw_db_pg_commit(struct gw_db *db)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);
	PGresult	*res;
	enum gw_err	 e = GW_OK;

	if (!d->txn)
		return GW_OK;
	if (d->txn_lost) {
		d->txn = d->txn_lost = 0;
		return GW_ERR_UNAVAILABLE;
	}
	res = PQexec(d->conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		e = gw_db_pg_err(d, res, "commit");
	else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
		/* COMMIT of an aborted transaction answers ROLLBACK. */
		gw_log(GW_LOG_ERROR, NULL, "postgresql: commit: the "
		    "transaction had failed and was rolled back");
		e = GW_ERR_INTERNAL;
	}
	PQclear(res);
	d->txn = d->txn_lost = 0;
	return e;
}

static void
gw_db_pg_rollback(struct gw_db *db)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);

	if (d->txn && !d->txn_lost && d->conn != NULL && !d->broken)
		(void)gw_db_pg_command(d, "ROLLBACK");
	d->txn = d->txn_lost = 0;
}

static enum gw_err
gw_db_pg_prepare(struct gw_db *db, const char *sql, struct gw_stmt **stp)
{
	struct gw_db_pg	*d = gw_db_pg_of(db);
	struct gw_stmt	*st;
	uint32_t	 h;
	enum gw_err	 e;

	*stp = NULL;
	h = gw_db_pg_hash(sql);
	for (st = d->bucket[h % GW_DB_PG_NBUCKET]; st != NULL;
	    st = st->next) {
		if (st->hash == h && strcmp(st->sql, sql) == 0)
			break;
	}
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL ||
		    (st->sql = strdup(sql)) == NULL ||
		    (st->pgsql = gw_db_pg_rewrite(sql, &st->nparam)) == NULL ||
		    (st->types = calloc(st->nparam + 1,
		    sizeof(*st->types))) == NULL ||
		    (st->param = calloc(st->nparam + 1,
		    sizeof(*st->param))) == NULL) {
			if (st != NULL) {
				free(st->types);
				free(st->pgsql);
				free(st->sql);
				free(st);
			}
			gw_log(GW_LOG_ERROR, NULL, "postgresql: out of memory");
			return GW_ERR_INTERNAL;
		}
		st->head.db = db;
		st->hash = h;
		st->next = d->bucket[h % GW_DB_PG_NBUCKET];
		d->bucket[h % GW_DB_PG_NBUCKET] = st;
	}
	gw_db_pg_reset(st);
	gw_db_pg_clear(st);
	/* Prepare now, so that an error shows where SQLite shows it. */
	if ((e = gw_db_pg_conn(d)) != GW_OK)
		return e;
	if (st->gen != d->gen && (e = gw_db_pg_prepare_conn(d, st)) != GW_OK)
		return e;
	*stp = st;
	return GW_OK;
}

static void
gw_db_pg_bind_text(struct gw_stmt *st, int i, const char *s)
{
	if (i < 1 || i > st->nparam)
		return;
	free(st->param[i - 1]);
	st->param[i - 1] = s != NULL ? strdup(s) : NULL;
}

static void
gw_db_pg_bind_int(struct gw_stmt *st, int i, int64_t v)
{
	char	 buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	gw_db_pg_bind_text(st, i, buf);
}

/* Does sql only read?  Its first word tells. */
static int
gw_db_pg_is_select(const char *sql)
{
	while (isspace((unsigned char)*sql) || *sql == '(')
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0 ||
	    strncasecmp(sql, "WITH", 4) == 0 ||
	    strncasecmp(sql, "EXPLAIN", 7) == 0 ||
	    strncasecmp(sql, "SHOW", 4) == 0;
}

static enum gw_err
gw_db_pg_run(struct gw_db_pg *d, struct gw_stmt *st)
{
	enum gw_err	 e;
	int		 sp;

	if ((e = gw_db_pg_conn(d)) != GW_OK)
		return e;
	if (st->gen != d->gen && (e = gw_db_pg_prepare_conn(d, st)) != GW_OK)
		return e;
	sp = d->txn && !gw_db_pg_is_select(st->sql);
	if (sp && (e = gw_db_pg_command(d, "SAVEPOINT gw_stmt")) != GW_OK)
		return e;
	st->res = PQexecPrepared(d->conn, st->name, st->nparam,
	    (const char *const *)st->param, NULL, NULL, 0);
	switch (PQresultStatus(st->res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		st->changes = strtoll(PQcmdTuples(st->res), NULL, 10);
		st->run = 1;
		st->row = -1;
		if (sp)
			return gw_db_pg_command(d, "RELEASE SAVEPOINT gw_stmt");
		return GW_OK;
	default:
		e = gw_db_pg_err(d, st->res, "step");
		gw_log(GW_LOG_DEBUG, NULL, "postgresql: in: %s", st->sql);
		PQclear(st->res);
		st->res = NULL;
		if (sp && !d->broken)
			(void)gw_db_pg_command(d, "ROLLBACK TO SAVEPOINT "
			    "gw_stmt; RELEASE SAVEPOINT gw_stmt");
		return e;
	}
}

static enum gw_err
gw_db_pg_step(struct gw_stmt *st, int *row)
{
	struct gw_db_pg	*d = gw_db_pg_of(st->head.db);
	enum gw_err	 e;

	*row = 0;
	if (!st->run && (e = gw_db_pg_run(d, st)) != GW_OK)
		return e;
	if (st->row < PQntuples(st->res))
		st->row++;
	*row = st->row < PQntuples(st->res);
	return GW_OK;
}

static const char *
gw_db_pg_col_text(struct gw_stmt *st, int i)
{
	if (st->res == NULL || st->row < 0 || st->row >= PQntuples(st->res) ||
	    i < 0 || i >= PQnfields(st->res) ||
	    PQgetisnull(st->res, st->row, i))
		return NULL;
	return PQgetvalue(st->res, st->row, i);
}

static int64_t
gw_db_pg_col_int(struct gw_stmt *st, int i)
{
	const char	*s;

	if ((s = gw_db_pg_col_text(st, i)) == NULL)
		return 0;
	/* A boolean expression (a = b, EXISTS) reads as 1 or 0, as on SQLite. */
	if (strcmp(s, "t") == 0)
		return 1;
	return strtoll(s, NULL, 10);
}

static int64_t
gw_db_pg_changes(struct gw_stmt *st)
{
	return st->changes;
}

const struct gw_db_ops gw_db_pg_ops = {
	.dialect = GW_DIALECT_PG,
	.close = gw_db_pg_close,
	.exec = gw_db_pg_exec,
	.begin = gw_db_pg_begin,
	.commit = gw_db_pg_commit,
	.rollback = gw_db_pg_rollback,
	.prepare = gw_db_pg_prepare,
	.bind_text = gw_db_pg_bind_text,
	.bind_int = gw_db_pg_bind_int,
	.step = gw_db_pg_step,
	.col_text = gw_db_pg_col_text,
	.col_int = gw_db_pg_col_int,
	.changes = gw_db_pg_changes,
	.reset = gw_db_pg_reset,
};

/*
 * Nothing is connected here: a server that is down at start-up must not
 * keep the program from starting (the first request gets 503, a later one
 * connects).  The URI is checked, so that a malformed one is refused now.
 */
enum gw_err
gw_db_pg_open(const struct gw_conf *conf, const char *uri,
    struct gw_db **dbp, char *err, size_t errlen)
{
	struct gw_db_pg		*d;
	PQconninfoOption	*opt;
	char			*perr = NULL;

	*dbp = NULL;
	if ((opt = PQconninfoParse(uri, &perr)) == NULL) {
		snprintf(err, errlen, "database: %.*s",
		    perr != NULL ? (int)strcspn(perr, "\n") : 11,
		    perr != NULL ? perr : "bad libpq URI");
		PQfreemem(perr);
		return GW_ERR_INTERNAL;
	}
	PQconninfoFree(opt);
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->uri = strdup(uri)) == NULL) {
		free(d);
		snprintf(err, errlen, "database: out of memory");
		return GW_ERR_INTERNAL;
	}
	d->db.ops = &gw_db_pg_ops;
	d->db.conf = conf;
	*dbp = &d->db;
	return GW_OK;
}
