/*
 * check_db.h: the database of the unit tests, shared by the tests/check_*
 * programs that use a store.
 *
 * With GW_TEST_DATABASE=postgresql://... the tests run on that PostgreSQL
 * database instead of a fresh SQLite file: every test program uses its own
 * schema, named after it, dropped before each test so that each test
 * starts empty and programs may run in parallel.
 */
#ifndef CHECK_DB_H
#define CHECK_DB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Returns 1 when the tests run on PostgreSQL (GW_TEST_DATABASE is set). */
static int
test_on_pg(void)
{
	const char	*uri;

	return (uri = getenv("GW_TEST_DATABASE")) != NULL && *uri != '\0';
}

/*
 * Point c at the database of the tests: GW_TEST_DATABASE when set (in the
 * schema named schema, dropped here), else sqlite_default.  Returns 1 on
 * PostgreSQL.
 */
static int
test_database(struct gw_conf *c, char *sqlite_default, char *schema)
{
	struct gw_db	*db;
	char		 err[256], sql[128];

	if (!test_on_pg()) {
		c->database = sqlite_default;
		return 0;
	}
	c->database = getenv("GW_TEST_DATABASE");
	c->pg_schema = schema;
	c->statement_timeout_ms = 10000;
	ck_assert_int_eq(gw_db_open(c, &db, err, sizeof(err)), GW_OK);
	snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
	ck_assert_int_eq(gw_db_exec(db, sql), GW_OK);
	gw_db_close(db);
	return 1;
}

/* The store of the current test: a folder and the SQLite file in it. */
static char	 test_dir[64];
static char	 test_dbpath[128];

/*
 * A fixture's setup: a new temporary folder named after the test program,
 * and c pointed at a new SQLite file in it, or at the emptied schema name
 * on PostgreSQL.  Returns 1 on PostgreSQL.
 */
static int
test_store_begin(struct gw_conf *c, const char *name)
{
	snprintf(test_dir, sizeof(test_dir), "/tmp/%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(test_dir));
	snprintf(test_dbpath, sizeof(test_dbpath), "sqlite:%s/gw.db",
	    test_dir);
	return test_database(c, test_dbpath, (char *)name);
}

/*
 * A fixture's teardown: the SQLite file, its companions, its DPoP replay
 * table (in /dev/shm, named after the file's real path), the folder.
 */
static void
test_store_end(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	 fn[4096];
	size_t	 i;

	if (gw_replay_default_path(test_dbpath + 7, fn, sizeof(fn)))
		unlink(fn);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(fn, sizeof(fn), "%s/gw.db%s", test_dir, sfx[i]);
		unlink(fn);
	}
	rmdir(test_dir);
}

/* The first column of a query's first row; -1 when it gives no row. */
static inline int64_t
test_count(struct gw_db *d, const char *sql)
{
	struct gw_stmt	*st;
	int64_t		 n = -1;
	int		 row;

	ck_assert_msg(gw_db_prepare(d, sql, &st) == GW_OK, "%s", sql);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	if (row)
		n = gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	return n;
}

static inline void
test_exec(struct gw_db *d, const char *sql)
{
	ck_assert_msg(gw_db_exec(d, sql) == GW_OK, "%s", sql);
}

/*
 * job_counts against a fresh GROUP BY of jobs (docs/storage.md, invariant
 * 1): no row differs either way, none is at 0 or below, and together they
 * count every job.  (PostgreSQL 15 wants a name for a subquery in FROM.)
 */
static inline void
test_assert_counts_exact(struct gw_db *d)
{
	ck_assert_int_eq(test_count(d, "SELECT count(*) FROM ("
	    "SELECT tenant_id, project_id, job_type, coalesce(source_id, '') "
	    "AS source_id, status, count(*) AS n FROM jobs GROUP BY 1, 2, 3, "
	    "4, 5 EXCEPT SELECT tenant_id, project_id, job_type, source_id, "
	    "status, n FROM job_counts) AS d"), 0);
	ck_assert_int_eq(test_count(d, "SELECT count(*) FROM ("
	    "SELECT tenant_id, project_id, job_type, source_id, status, n "
	    "FROM job_counts EXCEPT SELECT tenant_id, project_id, job_type, "
	    "coalesce(source_id, ''), status, count(*) FROM jobs "
	    "GROUP BY 1, 2, 3, 4, 5) AS d"), 0);
	ck_assert_int_eq(test_count(d, "SELECT count(*) FROM job_counts "
	    "WHERE n <= 0"), 0);
	ck_assert_int_eq(test_count(d, "SELECT coalesce(sum(n), 0) FROM "
	    "job_counts"), test_count(d, "SELECT count(*) FROM jobs"));
}

#endif
