/*
 * gw_db_sqlite.c: the SQLite driver behind struct gw_db_ops.
 *
 * One connection per process.  The database runs in WAL mode so that
 * readers (every GET of every FastCGI process) never wait for the one
 * writer, with synchronous=FULL so that a write the gateway acknowledged
 * survives a power loss (in WAL mode NORMAL may lose the last commits).
 * Writers take the write lock up front (BEGIN IMMEDIATE): a deferred
 * transaction that reads first and writes later can fail with SQLITE_BUSY
 * half way, without the busy handler being called, and would have to be
 * replayed; IMMEDIATE waits up to busy_timeout_ms before doing anything.
 *
 * Statements are prepared once per process and cached by their SQL text:
 * the text is compared, never only its address, because callers build
 * some statements (the list filters) in a reused buffer.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "extern.h"

#define GW_DB_SQLITE_NBUCKET	64

struct gw_stmt {
	struct gw_stmt_head	 head;
	sqlite3_stmt		*st;
	char			*sql;		/* our copy of the text */
	uint32_t		 hash;
	struct gw_stmt		*next;
};

struct gw_db_sqlite {
	struct gw_db		 db;		/* first: a gw_db * is ours */
	sqlite3			*h;
	struct gw_stmt		*bucket[GW_DB_SQLITE_NBUCKET];
	int64_t			 busy_limit_us;	/* store.busy_timeout_ms */
	int64_t			 busy_since_us;
	unsigned		 ckpt;		/* commits over the limit */
	struct gw_replay	*replay;	/* DPoP replay records */
	char			*replay_path;	/* NULL: in memory */
	int64_t			 replay_tried;	/* last failed open, s */
};

static struct gw_db_sqlite *
gw_db_sqlite_of(struct gw_db *db)
{
	return (struct gw_db_sqlite *)db;
}

static int64_t
gw_db_sqlite_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Waiting for the write lock.  A write transaction here holds the lock for
 * tens of microseconds, but SQLite's own busy handler sleeps 1, 2, 5, 10
 * ms ... between tries, so under a steady stream of writes from several
 * FastCGI processes most of the wait is spent asleep after the lock was
 * free (bench/dpop.sh measured DPoP requests, one replay record each, at a
 * third of Bearer ones).  Short sleeps with jitter, so that waiting
 * processes do not retry in step, until store.busy_timeout_ms has passed.
 */
static int
gw_db_sqlite_busy(void *arg, int count)
{
	struct gw_db_sqlite	*d = arg;
	struct timespec		 ts;
	int64_t			 now = gw_db_sqlite_usec();

	if (count == 0)
		d->busy_since_us = now;
	if (now - d->busy_since_us >= d->busy_limit_us)
		return 0;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(50 + (random() % 200) + (count < 20 ? count * 10 :
	    200)) * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

/*
 * Checkpoints.  SQLite's own hook tries one after every commit that leaves
 * the WAL at 1000 frames or more.  While other processes are reading, a
 * checkpoint cannot start the WAL over, so under a steady stream of
 * writes from several processes every commit tried again, each try
 * syncing the WAL (strace of bench/dpop.sh: an fdatasync every five DPoP
 * requests).  Here a process tries once every GW_DB_SQLITE_CKPT_EVERY of
 * its commits that find the WAL over the limit.  A passive checkpoint
 * never waits: what readers still need is copied by a later one.
 */
#define GW_DB_SQLITE_CKPT_FRAMES	1000
#define GW_DB_SQLITE_CKPT_EVERY		64

static int
gw_db_sqlite_wal_hook(void *arg, sqlite3 *h, const char *name, int nframe)
{
	struct gw_db_sqlite	*d = arg;

	if (nframe < GW_DB_SQLITE_CKPT_FRAMES ||
	    d->ckpt++ % GW_DB_SQLITE_CKPT_EVERY != 0)
		return SQLITE_OK;
	(void)sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	return SQLITE_OK;
}

/*
 * SQLite result code to our error.  Extended codes are on, so compare the
 * primary code in the low byte (SQLITE_CONSTRAINT_UNIQUE & 0xff is
 * SQLITE_CONSTRAINT).
 */
static enum gw_err
gw_db_sqlite_err(sqlite3 *h, int rc, const char *what)
{
	enum gw_err	 e;
	int		 level;

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		e = GW_ERR_CONFLICT;
		level = GW_LOG_DEBUG;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
		e = GW_ERR_UNAVAILABLE;
		level = GW_LOG_WARN;
		break;
	default:
		e = GW_ERR_INTERNAL;
		level = GW_LOG_ERROR;
		break;
	}
	gw_log(level, NULL, "sqlite: %s: %s (%d)", what,
	    h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc), rc);
	return e;
}

static uint32_t
gw_db_sqlite_hash(const char *s)
{
	uint32_t	 h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
gw_db_sqlite_close(struct gw_db *db)
{
	struct gw_db_sqlite	*d = gw_db_sqlite_of(db);
	struct gw_stmt		*st, *next;
	size_t			 i;
	int			 rc;

	for (i = 0; i < GW_DB_SQLITE_NBUCKET; i++) {
		for (st = d->bucket[i]; st != NULL; st = next) {
			next = st->next;
			sqlite3_finalize(st->st);
			free(st->sql);
			free(st);
		}
	}
	if ((rc = sqlite3_close(d->h)) != SQLITE_OK)
		gw_log(GW_LOG_ERROR, NULL, "sqlite: close: %s",
		    sqlite3_errstr(rc));
	gw_replay_close(d->replay);
	free(d->replay_path);
	free(d);
}

static enum gw_err
gw_db_sqlite_exec(struct gw_db *db, const char *sql)
{
	struct gw_db_sqlite	*d = gw_db_sqlite_of(db);
	int			 rc;

	if ((rc = sqlite3_exec(d->h, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return gw_db_sqlite_err(d->h, rc, "exec");
	return GW_OK;
}

static enum gw_err
gw_db_sqlite_begin(struct gw_db *db, int write)
{
	return gw_db_sqlite_exec(db, write ? "BEGIN IMMEDIATE" :
	    "BEGIN DEFERRED");
}

static enum gw_err
gw_db_sqlite_commit(struct gw_db *db)
{
	return gw_db_sqlite_exec(db, "COMMIT");
}

static void
gw_db_sqlite_rollback(struct gw_db *db)
{
	struct gw_db_sqlite	*d = gw_db_sqlite_of(db);

	/* SQLite may already have rolled back on BUSY, FULL or IOERR. */
	if (!sqlite3_get_autocommit(d->h))
		(void)sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
}

static enum gw_err
gw_db_sqlite_prepare(struct gw_db *db, const char *sql,
    struct gw_stmt **stp)
{
	struct gw_db_sqlite	*d = gw_db_sqlite_of(db);
	struct gw_stmt		*st;
	uint32_t		 h;
	int			 rc;

	*stp = NULL;
	h = gw_db_sqlite_hash(sql);
	for (st = d->bucket[h % GW_DB_SQLITE_NBUCKET]; st != NULL;
	    st = st->next) {
		if (st->hash == h && strcmp(st->sql, sql) == 0) {
			sqlite3_reset(st->st);
			sqlite3_clear_bindings(st->st);
			*stp = st;
			return GW_OK;
		}
	}

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->sql = strdup(sql)) == NULL) {
		free(st);
		gw_log(GW_LOG_ERROR, NULL, "sqlite: out of memory");
		return GW_ERR_INTERNAL;
	}
	rc = sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st->st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st->st);
		free(st->sql);
		free(st);
		return gw_db_sqlite_err(d->h, rc, "prepare");
	}
	st->head.db = db;
	st->hash = h;
	st->next = d->bucket[h % GW_DB_SQLITE_NBUCKET];
	d->bucket[h % GW_DB_SQLITE_NBUCKET] = st;
	*stp = st;
	return GW_OK;
}

static void
gw_db_sqlite_bind_text(struct gw_stmt *st, int i, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st->st, i);
	else
		sqlite3_bind_text(st->st, i, s, -1, SQLITE_TRANSIENT);
}

static void
gw_db_sqlite_bind_int(struct gw_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st->st, i, v);
}

static enum gw_err
gw_db_sqlite_step(struct gw_stmt *st, int *row)
{
	int	 rc;

	*row = 0;
	switch ((rc = sqlite3_step(st->st))) {
	case SQLITE_ROW:
		*row = 1;
		return GW_OK;
	case SQLITE_DONE:
		return GW_OK;
	default:
		return gw_db_sqlite_err(sqlite3_db_handle(st->st), rc, "step");
	}
}

static const char *
gw_db_sqlite_col_text(struct gw_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st->st, i);
}

static int64_t
gw_db_sqlite_col_int(struct gw_stmt *st, int i)
{
	return sqlite3_column_int64(st->st, i);
}

static int64_t
gw_db_sqlite_changes(struct gw_stmt *st)
{
	return sqlite3_changes64(sqlite3_db_handle(st->st));
}

static void
gw_db_sqlite_reset(struct gw_stmt *st)
{
	/* Ends the statement's implicit read transaction in autocommit. */
	sqlite3_reset(st->st);
}

static struct gw_replay *gw_db_sqlite_replay(struct gw_db *);

const struct gw_db_ops gw_db_sqlite_ops = {
	.dialect = GW_DIALECT_SQLITE,
	.close = gw_db_sqlite_close,
	.exec = gw_db_sqlite_exec,
	.begin = gw_db_sqlite_begin,
	.commit = gw_db_sqlite_commit,
	.rollback = gw_db_sqlite_rollback,
	.prepare = gw_db_sqlite_prepare,
	.bind_text = gw_db_sqlite_bind_text,
	.bind_int = gw_db_sqlite_bind_int,
	.step = gw_db_sqlite_step,
	.col_text = gw_db_sqlite_col_text,
	.col_int = gw_db_sqlite_col_int,
	.changes = gw_db_sqlite_changes,
	.reset = gw_db_sqlite_reset,
	.replay = gw_db_sqlite_replay,
};

/* One PRAGMA that answers with a row: check that the answer is want. */
static int
gw_db_sqlite_pragma(sqlite3 *h, const char *sql, const char *want,
    char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	const char	*got;
	int		 rc, ok = 0;

	if ((rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		snprintf(err, errlen, "database: %s: %s", sql,
		    sqlite3_errmsg(h));
		goto out;
	}
	got = (const char *)sqlite3_column_text(st, 0);
	if (got == NULL || strcmp(got, want) != 0) {
		snprintf(err, errlen, "database: %s: got %s", sql,
		    got != NULL ? got : "null");
		goto out;
	}
	ok = 1;
out:
	sqlite3_finalize(st);
	return ok;
}

/*
 * The DPoP replay records live in a table that every process of the
 * machine maps (gw_replay.c, docs/dpop.md), not in the database: a SQLite
 * write per DPoP request, from every process at once, cost more than the
 * request.  The table is opened by the first DPoP request, so that the
 * serving processes make it as their own user: jobengine-admin migrate,
 * run as root before the database is given to the web server's user,
 * never does.  When it cannot be opened (a full tmpfs, a file of another
 * user), DPoP requests are refused with 503 while every other request is
 * served, and the first DPoP request a second later tries again.
 */
static uint32_t
gw_db_sqlite_replay_slots(const struct gw_conf *conf)
{
	uint32_t	 n = 4096;

	while (conf->dpop_replay_slots > 0 &&
	    n < (uint32_t)conf->dpop_replay_slots)
		n <<= 1;
	return conf->dpop_replay_slots > 0 ? n : 1u << 20;
}

/* store.dpop_replay_file, or the default for the database's file. */
static int
gw_db_sqlite_replay_path(struct gw_db_sqlite *d, const char *path,
    char *err, size_t errlen)
{
	const char	*f = d->db.conf->dpop_replay_file;
	char		 def[PATH_MAX];

	if (f == NULL || *f == '\0') {
		if (!gw_replay_default_path(path, def, sizeof(def))) {
			snprintf(err, errlen, "database: %s: no real path for "
			    "its DPoP replay file", path);
			return 0;
		}
		f = def;
	}
	if ((d->replay_path = strdup(f)) == NULL) {
		snprintf(err, errlen, "database: out of memory");
		return 0;
	}
	return 1;
}

static struct gw_replay *
gw_db_sqlite_replay(struct gw_db *db)
{
	struct gw_db_sqlite	*d = gw_db_sqlite_of(db);
	const char		*path;
	struct stat		 sb;
	char			 err[512];
	int64_t			 now = gw_now();

	if (d->replay != NULL || now == d->replay_tried)
		return d->replay;
	path = sqlite3_db_filename(d->h, "main");
	if (gw_replay_open(d->replay_path, d->replay_path != NULL &&
	    path != NULL && stat(path, &sb) == 0 ? &sb : NULL,
	    gw_db_sqlite_replay_slots(db->conf), db->conf->leeway, now,
	    &d->replay, err, sizeof(err)) != GW_OK) {
		d->replay_tried = now;
		gw_log(GW_LOG_WARN, NULL, "DPoP replay records: %s", err);
	}
	return d->replay;
}

enum gw_err
gw_db_sqlite_open(const struct gw_conf *conf, const char *path,
    struct gw_db **dbp, char *err, size_t errlen)
{
	struct gw_db_sqlite	*d;
	char			*fn = NULL;
	int			 rc;

	*dbp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "database: out of memory");
		return GW_ERR_INTERNAL;
	}
	d->db.ops = &gw_db_sqlite_ops;
	d->db.conf = conf;

	/*
	 * Debian builds SQLite with SQLITE_USE_URI, which would read
	 * "sqlite:file:x?mode=ro" as a URI with options.  A configured path
	 * is a file name only: "./file:x" names the same file, literally.
	 */
	if (strncmp(path, "file:", 5) == 0) {
		if ((fn = malloc(strlen(path) + 3)) == NULL) {
			free(d);
			snprintf(err, errlen, "database: out of memory");
			return GW_ERR_INTERNAL;
		}
		strcpy(fn, "./");
		strcat(fn, path);
		path = fn;
	}
	rc = sqlite3_open_v2(path, &d->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "database: %s: %s", conf->database,
		    d->h != NULL ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(d->h, 1);
	d->busy_limit_us = (int64_t)(conf->busy_timeout_ms > 0 ?
	    conf->busy_timeout_ms : 0) * 1000;
	sqlite3_busy_handler(d->h, gw_db_sqlite_busy, d);
	sqlite3_wal_hook(d->h, gw_db_sqlite_wal_hook, d);

	if (!gw_db_sqlite_pragma(d->h, "PRAGMA journal_mode=WAL", "wal",
	    err, errlen))
		goto fail;
	/*
	 * Pages are read through a shared mapping rather than pread(2): a list
	 * page reads a few dozen pages, each a system call and a copy
	 * otherwise (bench/list.sh: page 1 from 0.57 to 0.63-0.66 of the
	 * floor).  Writes still go through the WAL file.  The price: a disk
	 * error under a mapped page ends the process (SIGBUS) instead of
	 * failing one query, and the FastCGI manager starts another.  The
	 * mapped pages are the kernel's page cache, shared, not the
	 * process's own memory, though they count in its RSS.
	 */
	rc = sqlite3_exec(d->h, "PRAGMA synchronous=FULL; "
	    "PRAGMA foreign_keys=ON; PRAGMA mmap_size=268435456", NULL, NULL,
	    NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "database: %s", sqlite3_errmsg(d->h));
		goto fail;
	}
	/* An in-memory or temporary database gets an in-memory table. */
	if (strcmp(path, ":memory:") != 0 && *path != '\0' &&
	    !gw_db_sqlite_replay_path(d, path, err, errlen))
		goto fail;
	free(fn);
	*dbp = &d->db;
	return GW_OK;
fail:
	free(fn);
	sqlite3_close(d->h);
	free(d->replay_path);
	free(d);
	return GW_ERR_UNAVAILABLE;
}
