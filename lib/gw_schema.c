/*
 * gw_schema.c: versioned migrations.
 *
 * Migration N is applied once, in its own write transaction, and recorded
 * in schema_migrations(version, applied_at).  Migration 1 creates the
 * tables of every resource of SPEC §10-§11, so later work adds handlers,
 * not tables.  docs/storage.md describes the schema and its invariants.
 *
 * The SQL is written for both dialects: TEXT, INTEGER (0/1 booleans, epoch
 * seconds), canonical JSON in TEXT, '' for "no project".  What only SQLite
 * understands (AUTOINCREMENT, the trigger bodies) sits in a separate,
 * marked part of each SQLite migration, mirrored for PostgreSQL in
 * gw_schema_pg[].
 */
#include <ctype.h>
#include <string.h>

#include "extern.h"

/* The advisory lock that serializes migrations on PostgreSQL. */
#define GW_SCHEMA_PG_LOCK	0x6a6f6273	/* "jobs" */

/* Migration 1: the tables, in the shared subset of SQL. */
#define GW_SCHEMA_1_COMMON \
"CREATE TABLE sources (\n" \
"  source_id    TEXT NOT NULL PRIMARY KEY,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  name         TEXT NOT NULL,\n" \
"  source_type  TEXT NOT NULL,\n" \
"  enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),\n" \
"  paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),\n" \
"  pause_reason TEXT,\n" \
"  created_at   INTEGER NOT NULL,\n" \
"  updated_at   INTEGER NOT NULL\n" \
");\n" \
"CREATE INDEX sources_tenant_name\n" \
"  ON sources (tenant_id, name, source_id);\n" \
"CREATE INDEX sources_tenant_project_name\n" \
"  ON sources (tenant_id, project_id, name, source_id);\n" \
"\n" \
"CREATE TABLE quotas (\n" \
"  quota_id     TEXT NOT NULL PRIMARY KEY,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  job_type     TEXT NOT NULL,\n" \
"  max_active   INTEGER NOT NULL CHECK (max_active BETWEEN 1 AND 100000),\n" \
"  max_per_hour INTEGER NOT NULL\n" \
"               CHECK (max_per_hour BETWEEN 1 AND 10000000),\n" \
"  burst        INTEGER NOT NULL CHECK (burst BETWEEN 1 AND max_per_hour),\n" \
"  paused       INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),\n" \
"  pause_reason TEXT,\n" \
"  pause_ticket TEXT,\n" \
"  paused_at    INTEGER,\n" \
"  paused_by    TEXT,\n" \
"  version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),\n" \
"  created_at   INTEGER NOT NULL,\n" \
"  updated_at   INTEGER NOT NULL,\n" \
"  updated_by   TEXT,\n" \
"  UNIQUE (tenant_id, project_id, job_type)\n" \
");\n" \
"CREATE INDEX quotas_tenant_type\n" \
"  ON quotas (tenant_id, job_type, quota_id);\n" \
"CREATE INDEX quotas_tenant_project_type\n" \
"  ON quotas (tenant_id, project_id, job_type, quota_id);\n" \
"\n" \
"CREATE TABLE jobs (\n" \
"  job_id       TEXT NOT NULL PRIMARY KEY,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  job_type     TEXT NOT NULL,\n" \
"  source_id    TEXT,\n" \
"  status       TEXT NOT NULL CHECK (status IN ('pending', 'scheduled',\n" \
"               'leased', 'running', 'succeeded', 'failed', 'canceled',\n" \
"               'timed_out')),\n" \
"  priority     TEXT NOT NULL DEFAULT 'normal'\n" \
"               CHECK (priority IN ('low', 'normal', 'high')),\n" \
"  replay_of    TEXT,\n" \
"  payload      TEXT NOT NULL DEFAULT 'null',\n" \
"  created_at   INTEGER NOT NULL,\n" \
"  started_at   INTEGER,\n" \
"  finished_at  INTEGER\n" \
");\n" \
"CREATE INDEX jobs_tenant_type_started\n" \
"  ON jobs (tenant_id, job_type, started_at);\n" \
"CREATE INDEX jobs_tenant_type_project_started\n" \
"  ON jobs (tenant_id, job_type, project_id, started_at);\n" \
"\n" \
"CREATE TABLE job_counts (\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL,\n" \
"  job_type     TEXT NOT NULL,\n" \
"  source_id    TEXT NOT NULL,\n" \
"  status       TEXT NOT NULL,\n" \
"  n            INTEGER NOT NULL CHECK (n >= 0),\n" \
"  PRIMARY KEY (tenant_id, project_id, job_type, source_id, status)\n" \
");\n" \
"\n" \
"CREATE TABLE deadletter (\n" \
"  entry_id     TEXT NOT NULL PRIMARY KEY,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  job_id       TEXT NOT NULL,\n" \
"  job_type     TEXT NOT NULL,\n" \
"  source_id    TEXT,\n" \
"  category     TEXT NOT NULL,\n" \
"  error_code   TEXT NOT NULL,\n" \
"  message      TEXT NOT NULL,\n" \
"  retryable    INTEGER NOT NULL CHECK (retryable IN (0, 1)),\n" \
"  attempts     INTEGER NOT NULL CHECK (attempts >= 0),\n" \
"  payload      TEXT NOT NULL DEFAULT 'null',\n" \
"  status       TEXT NOT NULL CHECK (status IN ('pending', 'replayed',\n" \
"               'resolved', 'discarded')),\n" \
"  replay_count INTEGER NOT NULL DEFAULT 0 CHECK (replay_count >= 0),\n" \
"  last_replay_job_id TEXT,\n" \
"  failed_at    INTEGER NOT NULL,\n" \
"  replayed_at  INTEGER,\n" \
"  replayed_by  TEXT\n" \
");\n" \
"CREATE INDEX deadletter_tenant_cluster\n" \
"  ON deadletter (tenant_id, category, error_code, status, failed_at,\n" \
"  entry_id, retryable, job_type, source_id, project_id);\n" \
"CREATE INDEX deadletter_tenant_status_failed\n" \
"  ON deadletter (tenant_id, status, failed_at, entry_id);\n" \
"\n" \
"CREATE TABLE pack_runs (\n" \
"  pack_run_id  TEXT NOT NULL PRIMARY KEY,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  pack_id      TEXT NOT NULL,\n" \
"  pack_version TEXT NOT NULL,\n" \
"  status       TEXT NOT NULL CHECK (status IN ('pending', 'scheduled',\n" \
"               'running', 'succeeded', 'failed', 'canceled',\n" \
"               'timed_out')),\n" \
"  attempt      INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),\n" \
"  retry_of     TEXT,\n" \
"  reason       TEXT,\n" \
"  created_at   INTEGER NOT NULL,\n" \
"  started_at   INTEGER,\n" \
"  finished_at  INTEGER,\n" \
"  updated_at   INTEGER NOT NULL,\n" \
"  canceled_by  TEXT\n" \
");\n" \
"CREATE INDEX pack_runs_tenant_created\n" \
"  ON pack_runs (tenant_id, created_at DESC, pack_run_id);\n" \
"CREATE INDEX pack_runs_tenant_project_created\n" \
"  ON pack_runs (tenant_id, project_id, created_at DESC, pack_run_id);\n" \
"CREATE INDEX pack_runs_retry_of ON pack_runs (retry_of);\n" \
"CREATE UNIQUE INDEX pack_runs_live_retry\n" \
"  ON pack_runs (tenant_id, retry_of)\n" \
"  WHERE retry_of IS NOT NULL\n" \
"    AND status IN ('pending', 'scheduled', 'running');\n" \
"\n" \
"CREATE TABLE idempotency (\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  idem_key     TEXT NOT NULL,\n" \
"  method       TEXT NOT NULL,\n" \
"  path         TEXT NOT NULL,\n" \
"  fingerprint  TEXT NOT NULL,\n" \
"  state        TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),\n" \
"  status       INTEGER,\n" \
"  headers      TEXT,\n" \
"  body         TEXT,\n" \
"  created_at   INTEGER NOT NULL,\n" \
"  expires_at   INTEGER NOT NULL,\n" \
"  UNIQUE (tenant_id, idem_key, method, path)\n" \
");\n" \
"CREATE INDEX idempotency_expires ON idempotency (expires_at);\n" \
"\n" \
"CREATE TABLE audit_chain (\n" \
"  tenant_id    TEXT NOT NULL PRIMARY KEY,\n" \
"  seq          INTEGER NOT NULL,\n" \
"  hash         TEXT NOT NULL\n" \
");\n" \
"\n" \
"CREATE TABLE dpop_replay (\n" \
"  jkt          TEXT NOT NULL,\n" \
"  jti          TEXT NOT NULL,\n" \
"  expires_at   INTEGER NOT NULL,\n" \
"  UNIQUE (jkt, jti)\n" \
");\n" \
"CREATE INDEX dpop_replay_expires ON dpop_replay (expires_at);\n"

/* The job_counts row of NEW gains one; that of OLD loses one and goes
 * when it reaches 0 (docs/storage.md, invariant 1). */
#define GW_SCHEMA_COUNT_UP \
"  INSERT INTO job_counts (tenant_id, project_id, job_type, source_id,\n" \
"      status, n)\n" \
"    VALUES (NEW.tenant_id, NEW.project_id, NEW.job_type,\n" \
"      coalesce(NEW.source_id, ''), NEW.status, 1)\n" \
"    ON CONFLICT (tenant_id, project_id, job_type, source_id, status)\n" \
"    DO UPDATE SET n = n + 1;\n"
#define GW_SCHEMA_COUNT_UP_PG \
"  INSERT INTO job_counts (tenant_id, project_id, job_type, source_id,\n" \
"      status, n)\n" \
"    VALUES (NEW.tenant_id, NEW.project_id, NEW.job_type,\n" \
"      coalesce(NEW.source_id, ''), NEW.status, 1)\n" \
"    ON CONFLICT (tenant_id, project_id, job_type, source_id, status)\n" \
"    DO UPDATE SET n = job_counts.n + 1;\n"
#define GW_SCHEMA_OLD_ROW \
"    WHERE tenant_id = OLD.tenant_id AND project_id = OLD.project_id\n" \
"      AND job_type = OLD.job_type\n" \
"      AND source_id = coalesce(OLD.source_id, '')\n" \
"      AND status = OLD.status"
#define GW_SCHEMA_COUNT_DOWN \
"  UPDATE job_counts SET n = n - 1\n" GW_SCHEMA_OLD_ROW ";\n" \
"  DELETE FROM job_counts\n" GW_SCHEMA_OLD_ROW " AND n = 0;\n"

/*
 * Migration 1, SQLite only: the audit sequence and the triggers that keep
 * job_counts exact under every writer (the Orchestrator's workers, the
 * importer, replay).  PostgreSQL: seq BIGINT GENERATED ALWAYS AS IDENTITY
 * and one plpgsql trigger function.
 */
#define GW_SCHEMA_1_SQLITE \
"CREATE TABLE audit (\n" \
"  seq          INTEGER PRIMARY KEY AUTOINCREMENT,\n" \
"  occurred_at  INTEGER NOT NULL,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  actor        TEXT NOT NULL,\n" \
"  client_id    TEXT,\n" \
"  scopes       TEXT NOT NULL,\n" \
"  action       TEXT NOT NULL,\n" \
"  target_type  TEXT NOT NULL,\n" \
"  target_id    TEXT,\n" \
"  reason       TEXT NOT NULL,\n" \
"  ticket       TEXT,\n" \
"  trace_id     TEXT NOT NULL,\n" \
"  idempotency_key TEXT,\n" \
"  outcome      INTEGER NOT NULL,\n" \
"  prev_hash    TEXT,\n" \
"  hash         TEXT NOT NULL\n" \
");\n" \
"CREATE INDEX audit_tenant_seq ON audit (tenant_id, seq);\n" \
"\n" \
"CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN\n" \
GW_SCHEMA_COUNT_UP \
"END;\n" \
"CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs BEGIN\n" \
GW_SCHEMA_COUNT_DOWN \
"END;\n" \
"CREATE TRIGGER jobs_count_update AFTER UPDATE OF tenant_id, project_id,\n" \
"    job_type, source_id, status ON jobs\n" \
"  WHEN OLD.tenant_id IS NOT NEW.tenant_id\n" \
"    OR OLD.project_id IS NOT NEW.project_id\n" \
"    OR OLD.job_type IS NOT NEW.job_type\n" \
"    OR OLD.source_id IS NOT NEW.source_id\n" \
"    OR OLD.status IS NOT NEW.status\n" \
"BEGIN\n" \
GW_SCHEMA_COUNT_DOWN \
GW_SCHEMA_COUNT_UP \
"END;\n"

/*
 * Migration 2, SQLite only: the DPoP replay records leave the database
 * (they are a table in shared memory now, gw_replay.c), so the table
 * migration 1 made goes.
 */
#define GW_SCHEMA_2_SQLITE \
"DROP TABLE IF EXISTS main.dpop_replay;\n"

static const char *const gw_schema_sqlite[] = {
	GW_SCHEMA_1_COMMON GW_SCHEMA_1_SQLITE,
	GW_SCHEMA_2_SQLITE,
	NULL,		/* 3: SQLite keeps its row-level count triggers */
};

/*
 * Migration 1, PostgreSQL only: the same audit table with an identity
 * column, and the job_counts triggers as one plpgsql function with the
 * same statements in the same order (down for OLD, then up for NEW).
 * The UPDATE trigger fires under the same condition as SQLite's (IS
 * DISTINCT FROM is SQLite's IS NOT).
 */
#define GW_SCHEMA_1_PG \
"CREATE TABLE audit (\n" \
"  seq          INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n" \
"  occurred_at  INTEGER NOT NULL,\n" \
"  tenant_id    TEXT NOT NULL,\n" \
"  project_id   TEXT NOT NULL DEFAULT '',\n" \
"  actor        TEXT NOT NULL,\n" \
"  client_id    TEXT,\n" \
"  scopes       TEXT NOT NULL,\n" \
"  action       TEXT NOT NULL,\n" \
"  target_type  TEXT NOT NULL,\n" \
"  target_id    TEXT,\n" \
"  reason       TEXT NOT NULL,\n" \
"  ticket       TEXT,\n" \
"  trace_id     TEXT NOT NULL,\n" \
"  idempotency_key TEXT,\n" \
"  outcome      INTEGER NOT NULL,\n" \
"  prev_hash    TEXT,\n" \
"  hash         TEXT NOT NULL\n" \
");\n" \
"CREATE INDEX audit_tenant_seq ON audit (tenant_id, seq);\n" \
"\n" \
"CREATE FUNCTION jobs_count() RETURNS trigger LANGUAGE plpgsql AS $$\n" \
"BEGIN\n" \
"IF TG_OP <> 'INSERT' THEN\n" \
GW_SCHEMA_COUNT_DOWN \
"END IF;\n" \
"IF TG_OP <> 'DELETE' THEN\n" \
GW_SCHEMA_COUNT_UP_PG \
"END IF;\n" \
"RETURN NULL;\n" \
"END\n" \
"$$;\n" \
"CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs\n" \
"  FOR EACH ROW EXECUTE FUNCTION jobs_count();\n" \
"CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs\n" \
"  FOR EACH ROW EXECUTE FUNCTION jobs_count();\n" \
"CREATE TRIGGER jobs_count_update AFTER UPDATE OF tenant_id, project_id,\n" \
"    job_type, source_id, status ON jobs\n" \
"  FOR EACH ROW\n" \
"  WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id\n" \
"    OR OLD.project_id IS DISTINCT FROM NEW.project_id\n" \
"    OR OLD.job_type IS DISTINCT FROM NEW.job_type\n" \
"    OR OLD.source_id IS DISTINCT FROM NEW.source_id\n" \
"    OR OLD.status IS DISTINCT FROM NEW.status)\n" \
"  EXECUTE FUNCTION jobs_count();\n"

/*
 * Migration 3, PostgreSQL only: job_counts maintained once per statement.
 * The row-level triggers of migration 1 update one job_counts row once per
 * job; inside one transaction every update of a row leaves a row version
 * the next one must walk past, so a statement writing N jobs of one group
 * cost O(N^2) (990 000 jobs in one INSERT did not finish in minutes).  Each
 * statement now sums its transition tables by group and writes each
 * group's row once, for the net change (an UPDATE that moves no job between
 * groups nets to nothing and writes nothing).
 *
 * Transition tables are refused on a trigger with a column list (UPDATE
 * OF ...) or a WHEN, so the UPDATE trigger fires on every UPDATE of jobs
 * and costs a grouping of its rows even when no group column changed.
 *
 * The groups are written in key order (bytes: COLLATE "C"), whatever the
 * order of the rows, so two statements touching the same groups wait for
 * each other's row locks in the same order and never deadlock over them.
 * A positive change is an upsert, which under READ COMMITTED either
 * inserts or adds to the committed row once its lock is free (and inserts
 * afresh if that row was deleted meanwhile), so concurrent writers lose no
 * count.  A negative change holds the row's lock from its UPDATE to the
 * end of the transaction, so the row it leaves at 0 is deleted before
 * anyone else adds to it (docs/storage.md, invariant 1).
 */
#define GW_SCHEMA_COUNT_GROUP_PG(rows, one) \
"      SELECT tenant_id, project_id, job_type,\n" \
"          coalesce(source_id, '') AS source_id, status, " one " AS n\n" \
"        FROM " rows "\n"
#define GW_SCHEMA_COUNT_KEY_PG \
"          WHERE c.tenant_id = g.tenant_id AND c.project_id = g.project_id\n" \
"            AND c.job_type = g.job_type AND c.source_id = g.source_id\n" \
"            AND c.status = g.status"
#define GW_SCHEMA_3_PG \
"DROP TRIGGER jobs_count_insert ON jobs;\n" \
"DROP TRIGGER jobs_count_delete ON jobs;\n" \
"DROP TRIGGER jobs_count_update ON jobs;\n" \
"CREATE OR REPLACE FUNCTION jobs_count() RETURNS trigger\n" \
"LANGUAGE plpgsql AS $$\n" \
"DECLARE\n" \
"  d refcursor;\n" \
"  g record;\n" \
"  left_n bigint;\n" \
"BEGIN\n" \
"  IF TG_OP = 'INSERT' THEN\n" \
"    OPEN d FOR SELECT tenant_id, project_id, job_type, source_id, status,\n" \
"        sum(n) AS n FROM (\n" \
GW_SCHEMA_COUNT_GROUP_PG("new_jobs", "1") \
"      ) AS r GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;\n" \
"  ELSIF TG_OP = 'DELETE' THEN\n" \
"    OPEN d FOR SELECT tenant_id, project_id, job_type, source_id, status,\n" \
"        sum(n) AS n FROM (\n" \
GW_SCHEMA_COUNT_GROUP_PG("old_jobs", "-1") \
"      ) AS r GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;\n" \
"  ELSE\n" \
"    OPEN d FOR SELECT tenant_id, project_id, job_type, source_id, status,\n" \
"        sum(n) AS n FROM (\n" \
GW_SCHEMA_COUNT_GROUP_PG("new_jobs", "1") \
"      UNION ALL\n" \
GW_SCHEMA_COUNT_GROUP_PG("old_jobs", "-1") \
"      ) AS r GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0\n" \
"      ORDER BY 1, 2, 3, 4, 5;\n" \
"  END IF;\n" \
"  LOOP\n" \
"    FETCH d INTO g;\n" \
"    EXIT WHEN NOT FOUND;\n" \
"    IF g.n > 0 THEN\n" \
"      INSERT INTO job_counts AS c (tenant_id, project_id, job_type,\n" \
"          source_id, status, n)\n" \
"        VALUES (g.tenant_id, g.project_id, g.job_type, g.source_id,\n" \
"          g.status, g.n)\n" \
"        ON CONFLICT (tenant_id, project_id, job_type, source_id, status)\n" \
"        DO UPDATE SET n = c.n + excluded.n;\n" \
"    ELSE\n" \
"      left_n := NULL;\n" \
"      UPDATE job_counts AS c SET n = c.n + g.n\n" \
GW_SCHEMA_COUNT_KEY_PG "\n" \
"        RETURNING c.n INTO left_n;\n" \
"      IF left_n = 0 THEN\n" \
"        DELETE FROM job_counts AS c\n" \
GW_SCHEMA_COUNT_KEY_PG ";\n" \
"      END IF;\n" \
"    END IF;\n" \
"  END LOOP;\n" \
"  CLOSE d;\n" \
"  RETURN NULL;\n" \
"END\n" \
"$$;\n" \
"CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs\n" \
"  REFERENCING NEW TABLE AS new_jobs\n" \
"  FOR EACH STATEMENT EXECUTE FUNCTION jobs_count();\n" \
"CREATE TRIGGER jobs_count_delete AFTER DELETE ON jobs\n" \
"  REFERENCING OLD TABLE AS old_jobs\n" \
"  FOR EACH STATEMENT EXECUTE FUNCTION jobs_count();\n" \
"CREATE TRIGGER jobs_count_update AFTER UPDATE ON jobs\n" \
"  REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs\n" \
"  FOR EACH STATEMENT EXECUTE FUNCTION jobs_count();\n"

/*
 * One entry per entry of gw_schema_sqlite[], the same tables.  The shared
 * text is widened when it is applied (gw_schema_pg_text): every TEXT
 * column compares bytes (COLLATE "C"), as SQLite's BINARY does, whatever
 * the database's locale, so that keyset order is the same on both; every
 * INTEGER is a BIGINT, as SQLite's INTEGER is 64 bits.
 */
static const char *const gw_schema_pg[] = {
	GW_SCHEMA_1_COMMON GW_SCHEMA_1_PG,
	NULL,		/* 2: the replay records stay in the schema */
	GW_SCHEMA_3_PG,
};

#define GW_SCHEMA_NMIGRATION \
	(int)(sizeof(gw_schema_sqlite) / sizeof(gw_schema_sqlite[0]))

/* A migration added for one dialect only does not compile. */
_Static_assert(sizeof(gw_schema_pg) / sizeof(gw_schema_pg[0]) ==
    sizeof(gw_schema_sqlite) / sizeof(gw_schema_sqlite[0]),
    "gw_schema_pg[] must mirror gw_schema_sqlite[]");

/*
 * A PostgreSQL migration as applied: outside string literals and the
 * $$-quoted function bodies, the word TEXT becomes TEXT COLLATE "C" and
 * INTEGER becomes BIGINT (see gw_schema_pg[]).
 */
static void
gw_schema_pg_text(const char *sql, struct gw_buf *out)
{
	const char	*p = sql;
	size_t		 n;
	int		 quote = 0, dollar = 0;

	while (*p != '\0') {
		if (!quote && p[0] == '$' && p[1] == '$') {
			dollar = !dollar;
			gw_buf_add(out, p, 2);
			p += 2;
			continue;
		}
		if (!dollar && *p == '\'')
			quote = !quote;
		if (quote || dollar || !(isalpha((unsigned char)*p) ||
		    *p == '_')) {
			gw_buf_putc(out, *p++);
			continue;
		}
		for (n = 0; isalnum((unsigned char)p[n]) || p[n] == '_'; n++)
			;
		if (n == 4 && strncmp(p, "TEXT", 4) == 0)
			gw_buf_puts(out, "TEXT COLLATE \"C\"");
		else if (n == 7 && strncmp(p, "INTEGER", 7) == 0)
			gw_buf_puts(out, "BIGINT");
		else
			gw_buf_add(out, p, n);
		p += n;
	}
}

int
gw_schema_latest(void)
{
	return GW_SCHEMA_NMIGRATION;
}

static enum gw_err
gw_schema_table_exists(struct gw_db *db, int *exists)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	*exists = 0;
	switch (gw_db_dialect(db)) {
	case GW_DIALECT_SQLITE:
		e = gw_db_prepare(db, "SELECT 1 FROM sqlite_master "
		    "WHERE type = 'table' AND name = 'schema_migrations'", &st);
		break;
	case GW_DIALECT_PG:
		/* current_schema() is NULL until the schema exists. */
		e = gw_db_prepare(db, "SELECT 1 FROM pg_catalog.pg_tables "
		    "WHERE schemaname = current_schema() "
		    "AND tablename = 'schema_migrations'", &st);
		break;
	default:
		return GW_ERR_INTERNAL;
	}
	if (e != GW_OK)
		return e;
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		*exists = row;
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_schema_version(struct gw_db *db, int *version)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 exists, row;

	*version = 0;
	if ((e = gw_schema_table_exists(db, &exists)) != GW_OK || !exists)
		return e;
	if ((e = gw_db_prepare(db, "SELECT coalesce(max(version), 0) "
	    "FROM schema_migrations", &st)) != GW_OK)
		return e;
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row)
		*version = (int)gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	return e;
}

/* Migration n (1-based) in db's dialect, into out (empty: none). */
static int
gw_schema_migration(struct gw_db *db, int n, struct gw_buf *out)
{
	gw_buf_reset(out);
	switch (gw_db_dialect(db)) {
	case GW_DIALECT_SQLITE:
		if (gw_schema_sqlite[n - 1] != NULL)
			gw_buf_puts(out, gw_schema_sqlite[n - 1]);
		return 0;
	case GW_DIALECT_PG:
		if (gw_schema_pg[n - 1] != NULL)
			gw_schema_pg_text(gw_schema_pg[n - 1], out);
		return 0;
	default:
		return -1;
	}
}

/*
 * PostgreSQL: create the configured schema (store.pg_schema, the
 * connection's search_path) and schema_migrations, under a lock held to
 * the end of the transaction, since two concurrent CREATE ... IF NOT
 * EXISTS may both find nothing and then collide.
 */
static enum gw_err
gw_schema_pg_prepare(struct gw_db *db)
{
	const char	*schema = db->conf->pg_schema;
	struct gw_buf	 sql;
	enum gw_err	 e;

	if (schema == NULL || *schema == '\0')
		schema = "jobengine";
	gw_buf_init(&sql);
	/* store.pg_schema is checked by gw_conf.c: [a-z_][a-z0-9_]*. */
	gw_buf_printf(&sql, "BEGIN; "
	    "SELECT pg_advisory_xact_lock(%d); "
	    "CREATE SCHEMA IF NOT EXISTS \"%s\"; "
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version BIGINT NOT NULL PRIMARY KEY, "
	    "applied_at BIGINT NOT NULL); "
	    "COMMIT", GW_SCHEMA_PG_LOCK, schema);
	e = gw_db_exec(db, sql.data);
	if (e != GW_OK)
		(void)gw_db_exec(db, "ROLLBACK");
	gw_buf_free(&sql);
	return e;
}

enum gw_err
gw_schema_migrate(struct gw_db *db, int *from, int *to)
{
	struct gw_stmt	*st;
	struct gw_buf	 sql;
	enum gw_err	 e;
	int		 v, row;

	*from = *to = 0;
	if (gw_db_dialect(db) == GW_DIALECT_PG)
		e = gw_schema_pg_prepare(db);
	else
		e = gw_db_exec(db, "CREATE TABLE IF NOT EXISTS "
		    "schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
		    "applied_at INTEGER NOT NULL)");
	if (e != GW_OK)
		return e;
	if ((e = gw_schema_version(db, from)) != GW_OK)
		return e;
	*to = *from;
	gw_buf_init(&sql);
	for (;;) {
		/* Re-read under the write lock: another migrate may have won. */
		if ((e = gw_db_begin(db, 1)) != GW_OK)
			goto out;
		/* PostgreSQL's BEGIN takes no lock: take the migration's. */
		if (gw_db_dialect(db) == GW_DIALECT_PG) {
			gw_buf_reset(&sql);
			gw_buf_printf(&sql, "SELECT pg_advisory_xact_lock(%d)",
			    GW_SCHEMA_PG_LOCK);
			if ((e = gw_db_exec(db, sql.data)) != GW_OK)
				goto fail;
		}
		if ((e = gw_schema_version(db, &v)) != GW_OK)
			goto fail;
		if (v >= gw_schema_latest())
			break;
		if (gw_schema_migration(db, v + 1, &sql) == -1) {
			e = GW_ERR_INTERNAL;
			goto fail;
		}
		/* A migration may be empty in one dialect: only recorded. */
		if (sql.len > 0 && (e = gw_db_exec(db, sql.data)) != GW_OK)
			goto fail;
		if ((e = gw_db_prepare(db, "INSERT INTO schema_migrations "
		    "(version, applied_at) VALUES (?, ?)", &st)) != GW_OK)
			goto fail;
		gw_stmt_bind_int(st, 1, v + 1);
		gw_stmt_bind_int(st, 2, gw_now());
		e = gw_stmt_step(st, &row);
		gw_stmt_reset(st);
		if (e != GW_OK)
			goto fail;
		if ((e = gw_db_commit(db)) != GW_OK)
			goto out;
		*to = v + 1;
	}
	/* Nothing left to do: end the empty transaction. */
	e = gw_db_commit(db);
	goto out;
fail:
	gw_db_rollback(db);
out:
	gw_buf_free(&sql);
	return e;
}
