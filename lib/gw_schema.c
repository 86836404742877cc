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
 * marked part of each SQLite migration; the PostgreSQL driver will bring
 * its own array beside gw_schema_sqlite[].
 */
#include "extern.h"

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
"CREATE INDEX deadletter_tenant_group\n" \
"  ON deadletter (tenant_id, category, error_code, entry_id);\n" \
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

static const char *const gw_schema_sqlite[] = {
	GW_SCHEMA_1_COMMON GW_SCHEMA_1_SQLITE,
};

/*
 * TODO(PostgreSQL driver): gw_schema_pg[], one entry per entry of
 * gw_schema_sqlite[]: GW_SCHEMA_1_COMMON followed by the audit table with
 * an identity column and the job_counts trigger as a plpgsql function.
 */

#define GW_SCHEMA_NMIGRATION \
	(int)(sizeof(gw_schema_sqlite) / sizeof(gw_schema_sqlite[0]))

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

static const char *
gw_schema_migration(struct gw_db *db, int n)
{
	switch (gw_db_dialect(db)) {
	case GW_DIALECT_SQLITE:
		return gw_schema_sqlite[n - 1];
	default:
		return NULL;
	}
}

enum gw_err
gw_schema_migrate(struct gw_db *db, int *from, int *to)
{
	struct gw_stmt	*st;
	const char	*sql;
	enum gw_err	 e;
	int		 v, row;

	*from = *to = 0;
	if ((e = gw_db_exec(db, "CREATE TABLE IF NOT EXISTS "
	    "schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
	    "applied_at INTEGER NOT NULL)")) != GW_OK)
		return e;
	if ((e = gw_schema_version(db, from)) != GW_OK)
		return e;
	*to = *from;
	for (;;) {
		/* Re-read under the write lock: another migrate may have won. */
		if ((e = gw_db_begin(db, 1)) != GW_OK)
			return e;
		if ((e = gw_schema_version(db, &v)) != GW_OK)
			goto fail;
		if (v >= gw_schema_latest())
			break;
		if ((sql = gw_schema_migration(db, v + 1)) == NULL) {
			e = GW_ERR_INTERNAL;
			goto fail;
		}
		if ((e = gw_db_exec(db, sql)) != GW_OK)
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
			return e;
		*to = v + 1;
	}
	/* Nothing left to do: end the empty transaction. */
	return gw_db_commit(db);
fail:
	gw_db_rollback(db);
	return e;
}
