/*
 * check_store.c: the store over SQLite: migrations, the sources queries,
 * import, maintained job counts, error mapping (SPEC §9-§11, §13).
 * Every test runs on a fresh database file in its own temporary directory.
 *
 * With GW_TEST_DATABASE=postgresql://... the same tests run on that
 * PostgreSQL database instead, in the schema check_store (dropped before
 * each test), with the driver's own tests (reconnection, timeouts) and
 * without those of SQLite's (query plans, busy, file names).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "check_db.h"

static struct gw_conf	 conf;
static struct gw_arena	*arena;

static int	 pg;	/* the tests run on PostgreSQL */

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.busy_timeout_ms = 2000;
	pg = test_store_begin(&conf, "check_store");
	arena = gw_arena_new();
}

static void
teardown(void)
{
	test_store_end();
	gw_arena_free(arena);
}

static struct gw_db *
open_db(void)
{
	struct gw_db	*db;
	char		 err[256];

	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	return db;
}

static struct gw_store *
open_migrated(void)
{
	struct gw_db	*db = open_db();
	struct gw_store	*s;
	char		 err[256];
	int		 from, to;

	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	gw_db_close(db);
	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)), GW_OK);
	return s;
}

static enum gw_err
import_text(struct gw_store *s, const char *text, long *n, char *err,
    size_t errlen)
{
	FILE		*fp;
	enum gw_err	 e;

	fp = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(fp);
	e = gw_import(s, fp, n, err, errlen);
	fclose(fp);
	return e;
}

/* ---------------------------------------------------------------- */

START_TEST(test_migrate_creates_schema_then_is_a_noop)
{
	struct gw_db	*db = open_db();
	int		 from, to, v;

	ck_assert_int_eq(gw_schema_version(db, &v), GW_OK);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	ck_assert_int_eq(from, 0);
	ck_assert_int_eq(to, gw_schema_latest());
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	ck_assert_int_eq(from, gw_schema_latest());
	ck_assert_int_eq(to, gw_schema_latest());
	ck_assert_int_eq(test_count(db,
	    "SELECT count(*) FROM schema_migrations"),
	    gw_schema_latest());
	ck_assert_int_eq(test_count(db, pg ?
	    "SELECT count(*) FROM pg_tables WHERE "
	    "schemaname = 'check_store' AND tablename IN ('sources', 'quotas', "
	    "'jobs', 'job_counts', 'deadletter', 'pack_runs', 'audit', "
	    "'idempotency', 'dpop_replay')" :
	    "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('sources', 'quotas', 'jobs', "
	    "'job_counts', 'deadletter', 'pack_runs', 'audit', 'idempotency')"),
	    pg ? 9 : 8);
	/* SQLite: the replay records are not in the database at all
	 * (gw_replay.c). */
	if (!pg)
		ck_assert_int_eq(test_count(db, "SELECT count(*) FROM "
		    "sqlite_master WHERE name LIKE 'dpop%'"), 0);
	ck_assert_int_eq(gw_schema_version(db, &v), GW_OK);
	ck_assert_int_eq(v, gw_schema_latest());
	gw_db_close(db);
}
END_TEST

START_TEST(test_store_open_refuses_other_schema_version)
{
	struct gw_db	*db = open_db();
	struct gw_store	*s;
	char		 err[256], want[256];
	int		 from, to;

	/* Empty database: version 0. */
	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)),
	    GW_ERR_UNAVAILABLE);
	ck_assert_ptr_null(s);
	snprintf(want, sizeof(want), "database schema is at version 0, "
	    "expected %d: run jobengine-admin migrate", gw_schema_latest());
	ck_assert_str_eq(err, want);

	/* A newer database than this program. */
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	ck_assert_int_eq(gw_db_exec(db, "INSERT INTO schema_migrations "
	    "VALUES (99, 0)"), GW_OK);
	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)),
	    GW_ERR_UNAVAILABLE);
	snprintf(want, sizeof(want), "database schema is at version 99, "
	    "expected %d: run jobengine-admin migrate", gw_schema_latest());
	ck_assert_str_eq(err, want);
	gw_db_close(db);
}
END_TEST

START_TEST(test_db_open_refuses_malformed_and_unknown_drivers)
{
	static const struct {
		const char	*database;
		const char	*err;
	} t[] = {
		{ "postgresql://gw@db/jobengine?nosuch=1",
		  "database: invalid URI query parameter: \"nosuch\"" },
		{ "postgres://gw@[::1/jobengine",
		  "database: end of string reached when looking for matching "
		  "\"]\" in IPv6 host address in URI: "
		  "\"postgres://gw@[::1/jobengine\"" },
		{ "mysql://x", "database: expected sqlite:PATH or "
		  "postgresql://URI" },
		{ "sqlite:", "database: sqlite: needs a path" },
	};
	struct gw_db	*db;
	char		 err[256];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		conf.database = (char *)t[i].database;
		ck_assert_int_ne(gw_db_open(&conf, &db, err, sizeof(err)),
		    GW_OK);
		ck_assert_ptr_null(db);
		ck_assert_str_eq(err, t[i].err);
	}
	conf.database = test_dbpath;
}
END_TEST

START_TEST(test_store_ping_answers)
{
	struct gw_store	*s = open_migrated();

	ck_assert_int_eq(gw_store_ping(s), GW_OK);
	gw_store_close(s);
}
END_TEST

START_TEST(test_statement_cache_keys_on_text_and_clears_bindings)
{
	struct gw_db	*db = open_db();
	struct gw_stmt	*a, *b;
	char		 sql[32];
	int		 row;

	ck_assert_int_eq(gw_db_prepare(db, "SELECT ?", &a), GW_OK);
	gw_stmt_bind_text(a, 1, "x");
	ck_assert_int_eq(gw_stmt_step(a, &row), GW_OK);
	ck_assert_str_eq(gw_stmt_text(a, 0), "x");
	/* Same text from another buffer: the same statement, reset. */
	strcpy(sql, "SELECT ?");
	ck_assert_int_eq(gw_db_prepare(db, sql, &b), GW_OK);
	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(gw_stmt_step(b, &row), GW_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_ptr_null(gw_stmt_text(b, 0));
	gw_stmt_reset(b);
	/* The same buffer with other text: another statement. */
	strcpy(sql, "SELECT 2");
	ck_assert_int_eq(gw_db_prepare(db, sql, &b), GW_OK);
	ck_assert_ptr_ne(a, b);
	ck_assert_int_eq(gw_stmt_step(b, &row), GW_OK);
	ck_assert_int_eq(gw_stmt_int(b, 0), 2);
	gw_stmt_reset(b);
	gw_db_close(db);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Sources. */

#define SRC(id, tenant, project, name, type, enabled) \
	"{\"kind\":\"source\",\"sourceId\":\"" id "\",\"tenantId\":\"" \
	tenant "\",\"projectId\":" project ",\"name\":\"" name "\"," \
	"\"sourceType\":\"" type "\",\"enabled\":" enabled "," \
	"\"createdAt\":\"2026-11-27T09:58:45Z\"}\n"

/* Names tie ("alpha", "gamma") so sourceId breaks the tie. */
static const char source_fixture[] =
	SRC("s3", "acme", "\"p1\"", "alpha", "git", "true")
	SRC("s1", "acme", "null", "alpha", "oci", "true")
	SRC("s2", "acme", "\"p2\"", "beta", "git", "false")
	SRC("s5", "acme", "\"p1\"", "gamma", "git", "true")
	SRC("s4", "acme", "null", "gamma", "git", "false")
	SRC("o1", "other", "null", "alpha", "git", "true")
	SRC("o0", "other", "\"p1\"", "aaa", "git", "true");

static struct gw_store *
open_sources(void)
{
	struct gw_store	*s = open_migrated();
	char		 err[256];
	long		 n;

	ck_assert_int_eq(import_text(s, source_fixture, &n, err,
	    sizeof(err)), GW_OK);
	ck_assert_int_eq(n, 7);
	return s;
}

/* Every page of a full scan, ids joined by ' ', pages by '|'. */
static void
scan(struct gw_store *s, const struct gw_source_filter *f, int limit,
    char *out, size_t outlen)
{
	struct gw_page		 page;
	struct gw_source	*rows;
	size_t			 n, i;
	int			 more, pages = 0;

	memset(&page, 0, sizeof(page));
	page.limit = limit;
	*out = '\0';
	do {
		ck_assert_int_eq(gw_store_sources_list(s, arena, f, &page,
		    &rows, &n, &more), GW_OK);
		ck_assert_uint_le(n, (size_t)limit);
		if (pages++ > 0)
			strncat(out, "|", outlen - strlen(out) - 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				strncat(out, " ", outlen - strlen(out) - 1);
			strncat(out, rows[i].source_id,
			    outlen - strlen(out) - 1);
		}
		if (more) {
			ck_assert_uint_eq(n, (size_t)limit);
			page.nkey = 2;
			page.key[0] = rows[n - 1].name;
			page.key[1] = rows[n - 1].source_id;
		}
	} while (more);
}

START_TEST(test_sources_list_orders_by_name_then_id_with_keyset_pages)
{
	static const struct {
		const char	*project, *type;
		int		 enabled, limit;
		const char	*want;
	} t[] = {
		{ NULL, NULL, -1, 50, "s1 s3 s2 s4 s5" },
		{ NULL, NULL, -1, 2, "s1 s3|s2 s4|s5" },
		{ NULL, NULL, -1, 1, "s1|s3|s2|s4|s5" },
		{ NULL, NULL, -1, 5, "s1 s3 s2 s4 s5" },
		{ "p1", NULL, -1, 50, "s3 s5" },
		{ "p1", NULL, -1, 1, "s3|s5" },
		{ "p9", NULL, -1, 50, "" },
		{ NULL, "git", -1, 2, "s3 s2|s4 s5" },
		{ NULL, "oci", -1, 50, "s1" },
		{ NULL, NULL, 1, 2, "s1 s3|s5" },
		{ NULL, NULL, 0, 50, "s2 s4" },
		{ NULL, "git", 1, 50, "s3 s5" },
		{ "p1", "git", 1, 1, "s3|s5" },
		{ "p2", "git", 0, 50, "s2" },
	};
	struct gw_store		*s = open_sources();
	struct gw_source_filter	 f;
	char			 got[256];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f.tenant = "acme";
		f.project = t[i].project;
		f.source_type = t[i].type;
		f.enabled = t[i].enabled;
		scan(s, &f, t[i].limit, got, sizeof(got));
		ck_assert_msg(strcmp(got, t[i].want) == 0,
		    "case %zu: got \"%s\", want \"%s\"", i, got, t[i].want);
	}
	gw_store_close(s);
}
END_TEST

START_TEST(test_sources_list_is_tenant_isolated)
{
	struct gw_store		*s = open_sources();
	struct gw_source_filter	 f = { "other", NULL, NULL, -1 };
	char			 got[256];

	scan(s, &f, 50, got, sizeof(got));
	ck_assert_str_eq(got, "o0 o1");
	f.tenant = "nobody";
	scan(s, &f, 50, got, sizeof(got));
	ck_assert_str_eq(got, "");
	gw_store_close(s);
}
END_TEST

START_TEST(test_sources_rows_map_empty_project_to_null)
{
	struct gw_store		*s = open_sources();
	struct gw_source_filter	 f = { "acme", NULL, NULL, -1 };
	struct gw_page		 page = { 2, 0, { NULL } };
	struct gw_source	*rows;
	size_t			 n;
	int			 more;

	ck_assert_int_eq(gw_store_sources_list(s, arena, &f, &page, &rows,
	    &n, &more), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_str_eq(rows[0].source_id, "s1");
	ck_assert_str_eq(rows[0].tenant_id, "acme");
	ck_assert_ptr_null(rows[0].project_id);
	ck_assert_str_eq(rows[0].name, "alpha");
	ck_assert_str_eq(rows[0].source_type, "oci");
	ck_assert_int_eq(rows[0].enabled, 1);
	ck_assert_int_eq(rows[0].paused, 0);
	ck_assert_ptr_null(rows[0].pause_reason);
	ck_assert_int_eq(rows[0].created_at, 1795773525);
	ck_assert_int_eq(rows[0].updated_at, 1795773525);
	ck_assert_str_eq(rows[1].project_id, "p1");
	gw_store_close(s);
}
END_TEST

START_TEST(test_source_get_hides_other_tenants_and_projects)
{
	struct gw_store		*s = open_sources();
	struct gw_source	 r;

	ck_assert_int_eq(gw_store_source_get(s, arena, "acme", NULL, "s3",
	    &r), GW_OK);
	ck_assert_str_eq(r.source_id, "s3");
	ck_assert_str_eq(r.project_id, "p1");
	ck_assert_int_eq(gw_store_source_get(s, arena, "acme", "p1", "s3",
	    &r), GW_OK);
	ck_assert_int_eq(gw_store_source_get(s, arena, "acme", "p2", "s3",
	    &r), GW_ERR_SOURCE_NOT_FOUND);
	ck_assert_int_eq(gw_store_source_get(s, arena, "other", NULL, "s3",
	    &r), GW_ERR_SOURCE_NOT_FOUND);
	ck_assert_int_eq(gw_store_source_get(s, arena, "acme", NULL, "o1",
	    &r), GW_ERR_SOURCE_NOT_FOUND);
	ck_assert_int_eq(gw_store_source_get(s, arena, "acme", NULL, "zz",
	    &r), GW_ERR_SOURCE_NOT_FOUND);
	gw_store_close(s);
}
END_TEST

/*
 * SPEC §9: page N costs what page 1 costs.  Every variant of the list
 * query must be an index range scan in (name, source_id) order: no
 * "USE TEMP B-TREE FOR ORDER BY", no full scan.  GW_SHOW_PLAN=1 prints
 * the plans.
 */
START_TEST(test_sources_list_plan_uses_index_without_sort)
{
	struct gw_store		*s = open_sources();
	struct gw_source_filter	 f;
	struct gw_stmt		*st;
	char			 sql[512], eqp[600], plan[512];
	int			 v, row;

	for (v = 0; v < 16; v++) {
		f.tenant = "acme";
		f.project = v & 1 ? "p1" : NULL;
		f.source_type = v & 2 ? "git" : NULL;
		f.enabled = v & 4 ? 1 : -1;
		gw_store_sources_sql(&f, v & 8, sql, sizeof(sql));
		snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
		ck_assert_int_eq(gw_db_prepare(s->db, eqp, &st), GW_OK);
		plan[0] = '\0';
		while (gw_stmt_step(st, &row) == GW_OK && row) {
			strncat(plan, gw_stmt_text(st, 3),
			    sizeof(plan) - strlen(plan) - 2);
			strcat(plan, "\n");
		}
		gw_stmt_reset(st);
		if (getenv("GW_SHOW_PLAN") != NULL)
			printf("%s\n%s\n", sql, plan);
		ck_assert_msg(strstr(plan, f.project != NULL ?
		    "USING INDEX sources_tenant_project_name (" :
		    "USING INDEX sources_tenant_name (") != NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strncmp(plan, "SEARCH ", 7) == 0,
		    "variant %d: %s", v, plan);
	}
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Import. */

static const char good_file[] =
	"{\"kind\":\"source\",\"sourceId\":\"src-1\",\"tenantId\":\"acme\","
	"\"name\":\"ci\",\"sourceType\":\"git\","
	"\"createdAt\":\"2026-11-27T09:58:45Z\"}\n"
	"\n"
	"{\"kind\":\"quota\",\"quotaId\":\"q-1\",\"tenantId\":\"acme\","
	"\"jobType\":\"scan.image\",\"maxActive\":20,\"maxPerHour\":10,"
	"\"createdAt\":\"2026-11-27T09:58:45Z\"}\n"
	"{\"kind\":\"job\",\"jobId\":\"j-1\",\"tenantId\":\"acme\","
	"\"projectId\":\"p1\",\"jobType\":\"scan.image\",\"sourceId\":"
	"\"src-1\",\"status\":\"running\",\"payload\":{\"b\":[1,2],"
	"\"a\":null},\"createdAt\":\"2026-11-27T09:00:00Z\","
	"\"startedAt\":\"2026-11-27T09:01:00Z\"}\n"
	"   \r\n"
	"{\"kind\":\"deadletter\",\"entryId\":\"d-1\",\"tenantId\":\"acme\","
	"\"jobId\":\"j-0\",\"jobType\":\"scan.image\",\"category\":"
	"\"network\",\"errorCode\":\"ETIMEDOUT\",\"message\":\"timed out\","
	"\"retryable\":true,\"failedAt\":\"2026-11-27T08:00:00Z\"}\r\n"
	"{\"kind\":\"packRun\",\"packRunId\":\"pr-1\",\"tenantId\":\"acme\","
	"\"packId\":\"pack.a\",\"packVersion\":\"1.2.0\",\"status\":"
	"\"failed\",\"createdAt\":\"2026-11-27T07:00:00Z\"}";

START_TEST(test_import_applies_every_kind_with_defaults)
{
	struct gw_store	*s = open_migrated();
	struct gw_db	*db = s->db;
	char		 err[256] = "";
	long		 n;

	ck_assert_int_eq(import_text(s, good_file, &n, err, sizeof(err)),
	    GW_OK);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(n, 5);
	/* Defaults of docs/storage.md. */
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM sources WHERE "
	    "project_id = '' AND enabled = 1 AND paused = 0 AND "
	    "pause_reason IS NULL AND updated_at = created_at"), 1);
	ck_assert_int_eq(test_count(db, "SELECT burst FROM quotas"), 10);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM quotas WHERE "
	    "version = 1 AND paused = 0 AND updated_by IS NULL"), 1);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM jobs WHERE "
	    "priority = 'normal' AND project_id = 'p1' AND replay_of IS NULL "
	    "AND payload = '{\"b\":[1,2],\"a\":null}' "
	    "AND started_at = created_at + 60 AND finished_at IS NULL"), 1);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM deadletter WHERE "
	    "status = 'pending' AND replay_count = 0 AND attempts = 1 AND "
	    "payload = 'null' AND retryable = 1"), 1);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM pack_runs WHERE "
	    "attempt = 1 AND retry_of IS NULL AND updated_at = created_at"),
	    1);
	/* Upsert by id: the same file again changes nothing but is fine. */
	ck_assert_int_eq(import_text(s, good_file, &n, err, sizeof(err)),
	    GW_OK);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM jobs"), 1);
	ck_assert_int_eq(test_count(db, "SELECT sum(n) FROM job_counts"), 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_import_bad_line_names_it_and_applies_nothing)
{
	/* Six good lines, one blank among them, and a bad line 7. */
	static const char file[] =
		SRC("a1", "acme", "null", "a", "git", "true")
		SRC("a2", "acme", "null", "b", "git", "true")
		"\n"
		SRC("a3", "acme", "null", "c", "git", "true")
		SRC("a4", "acme", "null", "d", "git", "true")
		SRC("a5", "acme", "null", "e", "git", "true")
		"{\"kind\":\"quota\",\"quotaId\":\"q-1\",\"tenantId\":\"acme\","
		"\"jobType\":\"scan\",\"maxActive\":\"5\",\"maxPerHour\":10,"
		"\"createdAt\":\"2026-11-27T09:58:45Z\"}\n"
		SRC("a6", "acme", "null", "f", "git", "true");
	struct gw_store	*s = open_migrated();
	char		 err[256];
	long		 n = -1;

	ck_assert_int_eq(import_text(s, file, &n, err, sizeof(err)),
	    GW_ERR_INVALID_BODY);
	ck_assert_str_eq(err, "line 7: maxActive: must be an integer");
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM sources"), 0);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas"), 0);
	gw_store_close(s);
}
END_TEST

/* A valid source, or a valid quota, with members of the case added. */
#define SRCX(extra) \
	"{\"kind\":\"source\",\"sourceId\":\"x\",\"tenantId\":\"t\"," \
	"\"name\":\"n\",\"sourceType\":\"git\"," \
	"\"createdAt\":\"2026-11-27T09:58:45Z\"" extra "}"
#define QUOTA(limits) \
	"{\"kind\":\"quota\",\"quotaId\":\"q\",\"tenantId\":\"t\"," \
	"\"jobType\":\"scan\",\"createdAt\":\"2026-11-27T09:58:45Z\"," \
	limits "}"

START_TEST(test_import_refuses_each_malformed_record)
{
	static const struct {
		const char	*line;
		const char	*err;
	} t[] = {
		{ "{\"kind\":\"widget\"}",
		  "line 2: kind: must be one of source, quota, job, "
		  "deadletter, packRun" },
		{ "{\"sourceId\":\"x\"}", "line 2: kind: must be a string" },
		{ "[1]", NULL },
		{ "{\"kind\":\"source\"", NULL },
		{ "{\"kind\":\"source\",\"kind\":\"source\"}", NULL },
		{ SRCX(",\"color\":\"red\""),
		  "line 2: unknown member \"color\" for kind source" },
		{ "{\"kind\":\"source\",\"sourceId\":\"x\",\"tenantId\":\"t\","
		  "\"sourceType\":\"git\",\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: name: required" },
		{ SRCX(",\"enabled\":1"),
		  "line 2: enabled: must be true or false" },
		{ SRCX(",\"enabled\":null"), "line 2: enabled: must not be null" },
		{ SRCX(",\"updatedAt\":\"2026-11-27 09:58:45\""),
		  "line 2: updatedAt: must be an RFC 3339 UTC time like "
		  "2026-11-27T09:58:45Z" },
		{ SRCX(",\"projectId\":\"p/1\""),
		  "line 2: projectId: must be 1-64 characters of "
		  "[A-Za-z0-9._-]" },
		{ SRCX(",\"pauseReason\":\"a\\nb\""),
		  "line 2: pauseReason: must be UTF-8 without control "
		  "characters" },
		{ "{\"kind\":\"source\",\"sourceId\":\"x y\",\"tenantId\":\"t\","
		  "\"name\":\"n\",\"sourceType\":\"git\","
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: sourceId: must be 1-128 characters of "
		  "[A-Za-z0-9._:-]" },
		{ "{\"kind\":\"source\",\"sourceId\":\"x\",\"tenantId\":\"t:1\","
		  "\"name\":\"n\",\"sourceType\":\"git\","
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: tenantId: must be 1-64 characters of "
		  "[A-Za-z0-9._-]" },
		{ QUOTA("\"maxActive\":5,\"maxPerHour\":10,\"burst\":11"),
		  "line 2: burst: must not exceed maxPerHour" },
		{ QUOTA("\"maxActive\":0,\"maxPerHour\":10"),
		  "line 2: maxActive: must be 1 to 100000" },
		{ QUOTA("\"maxActive\":5.0,\"maxPerHour\":10"),
		  "line 2: maxActive: must be an integer" },
		{ QUOTA("\"maxActive\":5,\"maxPerHour\":10,"
		  "\"pauseReason\":\"r\""),
		  "line 2: pauseReason: must be null when paused is false" },
		{ "{\"kind\":\"quota\",\"quotaId\":\"q\",\"tenantId\":\"t\","
		  "\"jobType\":\"Scan\",\"maxActive\":5,\"maxPerHour\":10,"
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: jobType: must match [a-z0-9][a-z0-9._-]{0,63}" },
		{ "{\"kind\":\"job\",\"jobId\":\"j\",\"tenantId\":\"t\","
		  "\"jobType\":\"scan\",\"status\":\"done\","
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: status: must be one of pending, scheduled, leased, "
		  "running, succeeded, failed, canceled, timed_out" },
		/* Same quota jobType as line 1's: a unique constraint. */
		{ "{\"kind\":\"quota\",\"quotaId\":\"q-2\",\"tenantId\":\"acme\","
		  "\"jobType\":\"scan\",\"maxActive\":5,\"maxPerHour\":10,"
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: conflicts with an existing row (a unique "
		  "constraint)" },
		/* Line 1's id under another tenant. */
		{ "{\"kind\":\"quota\",\"quotaId\":\"q-1\",\"tenantId\":\"evil\","
		  "\"jobType\":\"scan\",\"maxActive\":5,\"maxPerHour\":10,"
		  "\"createdAt\":\"2026-11-27T09:58:45Z\"}",
		  "line 2: the id belongs to a row of another tenant" },
	};
	static const char first[] =
		"{\"kind\":\"quota\",\"quotaId\":\"q-1\",\"tenantId\":\"acme\","
		"\"jobType\":\"scan\",\"maxActive\":5,\"maxPerHour\":10,"
		"\"createdAt\":\"2026-11-27T09:58:45Z\"}\n";
	struct gw_store	*s = open_migrated();
	char		 file[1024], err[256];
	long		 n;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(file, sizeof(file), "%s%s\n", first, t[i].line);
		err[0] = '\0';
		ck_assert_msg(import_text(s, file, &n, err, sizeof(err)) !=
		    GW_OK, "case %zu accepted", i);
		if (t[i].err != NULL)
			ck_assert_msg(strcmp(err, t[i].err) == 0,
			    "case %zu: got \"%s\"", i, err);
		else
			ck_assert_msg(strncmp(err, "line 2: ", 8) == 0,
			    "case %zu: got \"%s\"", i, err);
		ck_assert_int_eq(test_count(s->db,
		    "SELECT count(*) FROM quotas"),
		    0);
	}
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Maintained job counts (SPEC §10: the summary must not grow with jobs). */

START_TEST(test_job_counts_follow_every_job_change)
{
	static const char *const ops[] = {
		"WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k "
		"WHERE i < 300) INSERT INTO jobs (job_id, tenant_id, project_id, "
		"job_type, source_id, status, created_at) SELECT 'j' || i, "
		"CASE i % 3 WHEN 0 THEN 'acme' ELSE 'other' END, "
		"CASE i % 4 WHEN 0 THEN '' ELSE 'p' || (i % 2) END, "
		"'type' || (i % 5), CASE i % 7 WHEN 0 THEN NULL ELSE 's' || "
		"(i % 3) END, CASE i % 8 WHEN 0 THEN 'pending' WHEN 1 THEN "
		"'scheduled' WHEN 2 THEN 'leased' WHEN 3 THEN 'running' "
		"WHEN 4 THEN 'succeeded' WHEN 5 THEN 'failed' WHEN 6 THEN "
		"'canceled' ELSE 'timed_out' END, 1000 + i FROM k",
		"UPDATE jobs SET status = 'running' WHERE status = 'pending'",
		"UPDATE jobs SET status = 'succeeded', started_at = 5 "
		"WHERE job_id LIKE 'j1%'",
		"UPDATE jobs SET started_at = 7 WHERE job_id LIKE 'j2%'",
		"UPDATE jobs SET source_id = NULL WHERE job_id LIKE 'j3%'",
		"UPDATE jobs SET project_id = 'moved', job_type = 'x' "
		"WHERE job_id LIKE '%7'",
		"DELETE FROM jobs WHERE job_id LIKE '%5'",
		"DELETE FROM jobs WHERE status = 'failed'",
	};
	struct gw_store	*s = open_migrated();
	char		 err[256];
	long		 n;
	size_t		 i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		ck_assert_int_eq(gw_db_exec(s->db, ops[i]), GW_OK);
		test_assert_counts_exact(s->db);
	}
	ck_assert_int_eq(test_count(s->db, "SELECT sum(n) FROM job_counts"),
	    test_count(s->db, "SELECT count(*) FROM jobs"));
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM job_counts "
	    "WHERE n <= 0"), 0);
	/* An import upsert that changes a job's status moves its count. */
	ck_assert_int_eq(import_text(s,
	    "{\"kind\":\"job\",\"jobId\":\"j1\",\"tenantId\":\"other\","
	    "\"jobType\":\"type1\",\"status\":\"canceled\","
	    "\"createdAt\":\"2026-11-27T09:58:45Z\"}", &n, err, sizeof(err)),
	    GW_OK);
	test_assert_counts_exact(s->db);
	ck_assert_int_eq(gw_db_exec(s->db, "DELETE FROM jobs"), GW_OK);
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM job_counts"), 0);
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Error mapping. */

START_TEST(test_busy_past_timeout_is_unavailable_and_writes_nothing)
{
	struct gw_store	*s;
	struct gw_db	*other;
	struct gw_stmt	*st;
	int		 row;

	conf.busy_timeout_ms = 50;
	s = open_migrated();
	other = open_db();
	ck_assert_int_eq(gw_db_begin(other, 1), GW_OK);
	ck_assert_int_eq(gw_db_exec(other, "INSERT INTO audit_chain VALUES "
	    "('held', 9, 'h')"), GW_OK);

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO audit_chain "
	    "VALUES (?, ?, ?)", &st), GW_OK);
	gw_stmt_bind_text(st, 1, "mine");
	gw_stmt_bind_int(st, 2, 9);
	gw_stmt_bind_text(st, 3, "h");
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_ERR_UNAVAILABLE);
	gw_stmt_reset(st);
	/* A reader is not blocked by the writer (WAL). */
	ck_assert_int_eq(gw_store_ping(s), GW_OK);

	gw_db_rollback(other);
	gw_db_close(other);
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM audit_chain"), 0);
	gw_store_close(s);
}
END_TEST

START_TEST(test_unique_constraint_is_conflict_null_project_included)
{
	static const char ins[] = "INSERT INTO quotas (quota_id, tenant_id, "
	    "project_id, job_type, max_active, max_per_hour, burst, created_at,"
	    " updated_at) VALUES (?, 'acme', '', 'scan', 1, 1, 1, 0, 0)";
	struct gw_store	*s = open_migrated();
	struct gw_stmt	*st;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(s->db, ins, &st), GW_OK);
	gw_stmt_bind_text(st, 1, "q-1");
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	/* Same (tenant, no project, jobType) under a new id. */
	ck_assert_int_eq(gw_db_prepare(s->db, ins, &st), GW_OK);
	gw_stmt_bind_text(st, 1, "q-2");
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_ERR_CONFLICT);
	gw_stmt_reset(st);
	/* A primary key taken twice. */
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO audit_chain VALUES "
	    "('t', 1, 'h')"), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO audit_chain VALUES "
	    "('t', 2, 'h')"), GW_ERR_CONFLICT);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas"), 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_sqlite_file_name_is_never_a_uri)
{
	struct gw_db	*db;
	char		 err[256], path[160], uri[200];

	/* With SQLITE_USE_URI this would open an in-memory database. */
	if (chdir(test_dir) == -1)
		ck_abort_msg("chdir");
	snprintf(uri, sizeof(uri), "sqlite:file:mem?mode=memory");
	conf.database = uri;
	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_db_exec(db, "CREATE TABLE t (x)"), GW_OK);
	gw_db_close(db);
	snprintf(path, sizeof(path), "%s/file:mem?mode=memory", test_dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file:mem?mode=memory-wal", test_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file:mem?mode=memory-shm", test_dir);
	unlink(path);
	conf.database = test_dbpath;
}
END_TEST

/* ---------------------------------------------------------------- */
/* The PostgreSQL driver. */

/* Terminate db's server process from another connection, and wait. */
static void
pg_kill_backend(struct gw_db *db)
{
	struct gw_db	*other = open_db();
	struct gw_stmt	*st;
	int64_t		 pid;
	int		 row, i;

	pid = test_count(db, "SELECT pg_backend_pid()");
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(gw_db_prepare(other, "SELECT pg_terminate_backend(?)",
	    &st), GW_OK);
	gw_stmt_bind_int(st, 1, pid);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	ck_assert_int_eq(gw_stmt_int(st, 0), 1);
	gw_stmt_reset(st);
	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(gw_db_prepare(other, "SELECT count(*) FROM "
		    "pg_stat_activity WHERE pid = ?", &st), GW_OK);
		gw_stmt_bind_int(st, 1, pid);
		ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
		row = (int)gw_stmt_int(st, 0);
		gw_stmt_reset(st);
		if (row == 0)
			break;
		usleep(10000);
	}
	gw_db_close(other);
}

START_TEST(test_pg_lost_connection_is_unavailable_then_reconnects)
{
	struct gw_store	*s = open_migrated();

	ck_assert_int_eq(gw_store_ping(s), GW_OK);
	pg_kill_backend(s->db);
	/* The request in flight fails; the next one connects again. */
	ck_assert_int_eq(gw_store_ping(s), GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_store_ping(s), GW_OK);
	/* Statements prepared on the old connection are prepared again. */
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM sources"), 0);
	pg_kill_backend(s->db);
	ck_assert_int_eq(gw_store_ping(s), GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM sources"), 0);
	gw_store_close(s);
}
END_TEST

START_TEST(test_pg_connection_lost_in_transaction_aborts_it)
{
	struct gw_store	*s = open_migrated();
	struct gw_stmt	*st;
	int		 row;

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO dpop_replay VALUES "
	    "('k', 'lost', 9)"), GW_OK);
	pg_kill_backend(s->db);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO dpop_replay VALUES "
	    "('k', 'after', 9)"), GW_ERR_UNAVAILABLE);
	/* Never on a new connection, outside the transaction. */
	ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO dpop_replay "
	    "VALUES (?, ?, ?)", &st), GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_db_commit(s->db), GW_ERR_UNAVAILABLE);
	/* The next transaction runs on a new connection. */
	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO dpop_replay "
	    "VALUES (?, ?, ?)", &st), GW_OK);
	gw_stmt_bind_text(st, 1, "k");
	gw_stmt_bind_text(st, 2, "next");
	gw_stmt_bind_int(st, 3, 9);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	ck_assert_int_eq(gw_stmt_changes(st), 1);
	gw_stmt_reset(st);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM dpop_replay"), 1);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM dpop_replay "
	    "WHERE jti = 'next'"), 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_pg_server_down_is_unavailable_not_fatal)
{
	struct gw_db	*db;
	struct gw_stmt	*st;
	char		 err[256];

	/* Port 1 on loopback: nothing listens. */
	conf.database = "postgresql://gw@127.0.0.1:1/gw?connect_timeout=2";
	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_db_prepare(db, "SELECT 1", &st),
	    GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_db_begin(db, 1), GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_db_exec(db, "SELECT 1"), GW_ERR_UNAVAILABLE);
	gw_db_close(db);
}
END_TEST

START_TEST(test_pg_statement_timeout_is_unavailable)
{
	struct gw_store	*s;

	conf.statement_timeout_ms = 200;
	s = open_migrated();
	ck_assert_int_eq(gw_db_exec(s->db, "SELECT pg_sleep(3)"),
	    GW_ERR_UNAVAILABLE);
	/* The connection stays and serves the next request. */
	ck_assert_int_eq(gw_store_ping(s), GW_OK);
	gw_store_close(s);
}
END_TEST

START_TEST(test_pg_lock_wait_past_timeout_is_unavailable_and_writes_nothing)
{
	struct gw_store	*s;
	struct gw_db	*other;
	struct gw_stmt	*st;
	int		 row;

	conf.statement_timeout_ms = 200;
	s = open_migrated();
	other = open_db();
	ck_assert_int_eq(gw_db_begin(other, 1), GW_OK);
	ck_assert_int_eq(gw_db_exec(other, "INSERT INTO dpop_replay VALUES "
	    "('k', 'held', 9)"), GW_OK);

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO dpop_replay "
	    "VALUES (?, ?, ?)", &st), GW_OK);
	gw_stmt_bind_text(st, 1, "k");
	gw_stmt_bind_text(st, 2, "held");
	gw_stmt_bind_int(st, 3, 9);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_ERR_UNAVAILABLE);
	gw_stmt_reset(st);
	gw_db_rollback(s->db);
	/* A reader is not blocked by the writer. */
	ck_assert_int_eq(gw_store_ping(s), GW_OK);

	gw_db_rollback(other);
	gw_db_close(other);
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM dpop_replay"), 0);
	gw_store_close(s);
}
END_TEST

/* As on SQLite, a refused statement does not undo the transaction. */
START_TEST(test_pg_conflict_in_transaction_undoes_only_the_statement)
{
	struct gw_store	*s = open_migrated();

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO dpop_replay VALUES "
	    "('k', 'a', 9)"), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO dpop_replay VALUES "
	    "('k', 'a', 9)"), GW_ERR_CONFLICT);
	ck_assert_int_eq(gw_db_exec(s->db, "INSERT INTO dpop_replay VALUES "
	    "('k', 'b', 9)"), GW_OK);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM dpop_replay"), 2);
	gw_store_close(s);
}
END_TEST

/* TEXT compares bytes (COLLATE "C"), as SQLite's BINARY, and '?' inside
 * a literal is no placeholder. */
START_TEST(test_pg_text_orders_bytes_and_literals_keep_question_marks)
{
	static const char *const jti[] = { "b", "a?", "B", "_", "\xc3\xa9",
	    "a" };
	struct gw_store	*s = open_migrated();
	struct gw_stmt	*st;
	char		 got[64] = "";
	size_t		 i;
	int		 row;

	for (i = 0; i < sizeof(jti) / sizeof(jti[0]); i++) {
		ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO dpop_replay "
		    "VALUES ('?', ?, ?)", &st), GW_OK);
		gw_stmt_bind_text(st, 1, jti[i]);
		gw_stmt_bind_int(st, 2, 4102444800LL);
		ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
		gw_stmt_reset(st);
	}
	ck_assert_int_eq(gw_db_prepare(s->db, "SELECT jti, expires_at, "
	    "jkt = '?' FROM dpop_replay WHERE jkt = ? ORDER BY jti", &st),
	    GW_OK);
	gw_stmt_bind_text(st, 1, "?");
	while (gw_stmt_step(st, &row) == GW_OK && row) {
		ck_assert_int_eq(gw_stmt_int(st, 1), 4102444800LL);
		ck_assert_int_eq(gw_stmt_int(st, 2), 1);
		strcat(got, gw_stmt_text(st, 0));
		strcat(got, " ");
	}
	gw_stmt_reset(st);
	ck_assert_str_eq(got, "B _ a a? b \xc3\xa9 ");
	gw_store_close(s);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_migrate_creates_schema_then_is_a_noop);
	tcase_add_test(tc, test_store_open_refuses_other_schema_version);
	tcase_add_test(tc, test_db_open_refuses_malformed_and_unknown_drivers);
	tcase_add_test(tc, test_store_ping_answers);
	tcase_add_test(tc,
	    test_statement_cache_keys_on_text_and_clears_bindings);
	tcase_add_test(tc,
	    test_sources_list_orders_by_name_then_id_with_keyset_pages);
	tcase_add_test(tc, test_sources_list_is_tenant_isolated);
	tcase_add_test(tc, test_sources_rows_map_empty_project_to_null);
	tcase_add_test(tc, test_source_get_hides_other_tenants_and_projects);
	tcase_add_test(tc, test_import_applies_every_kind_with_defaults);
	tcase_add_test(tc, test_import_bad_line_names_it_and_applies_nothing);
	tcase_add_test(tc, test_import_refuses_each_malformed_record);
	tcase_add_test(tc, test_job_counts_follow_every_job_change);
	tcase_add_test(tc,
	    test_unique_constraint_is_conflict_null_project_included);
	suite_add_tcase(s, tc);

	if (!test_on_pg()) {
		tc = tcase_create("sqlite");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc,
		    test_sources_list_plan_uses_index_without_sort);
		tcase_add_test(tc,
		    test_busy_past_timeout_is_unavailable_and_writes_nothing);
		tcase_add_test(tc, test_sqlite_file_name_is_never_a_uri);
		suite_add_tcase(s, tc);
	} else {
		tc = tcase_create("postgresql");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc,
		    test_pg_lost_connection_is_unavailable_then_reconnects);
		tcase_add_test(tc,
		    test_pg_connection_lost_in_transaction_aborts_it);
		tcase_add_test(tc, test_pg_server_down_is_unavailable_not_fatal);
		tcase_add_test(tc, test_pg_statement_timeout_is_unavailable);
		tcase_add_test(tc,
		    test_pg_lock_wait_past_timeout_is_unavailable_and_writes_nothing);
		tcase_add_test(tc,
		    test_pg_conflict_in_transaction_undoes_only_the_statement);
		tcase_add_test(tc,
		    test_pg_text_orders_bytes_and_literals_keep_question_marks);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	gw_log_init("check_store", GW_LOG_ERROR - 1);
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
