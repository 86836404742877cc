/*
 * check_counts.c: job_counts stays exact (docs/storage.md, invariant 1)
 * under bulk statements, mixed single-row statements in one transaction,
 * and two concurrent writers.  After every step job_counts is compared
 * with a fresh GROUP BY over jobs, both ways, and no row is at 0.
 *
 * On PostgreSQL (GW_TEST_DATABASE) the counts are kept by statement-level
 * triggers (migration 3); the 20 000-row insert is timed and printed, never
 * asserted.  The concurrent tests use two connections, the second in a
 * thread, since on both engines it waits for the first one's commit.
 *
 * The bulk data set: job i (1..20000) is tenant acme (i even) or beta,
 * project p1 (i % 4 == 0) or none, jobType scan.image, sbom.generate or
 * vex.ingest (i % 3), source none (i % 5 == 0) or src-0/src-1 (i % 2),
 * status pending (i % 7 < 4) or running.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "check_db.h"

#define NBULK	20000

static struct gw_conf	 conf;
static int		 pg;	/* the tests run on PostgreSQL */
static struct gw_db	*db;

static struct gw_db *
open_db(void)
{
	struct gw_db	*d;
	char		 err[256];

	ck_assert_int_eq(gw_db_open(&conf, &d, err, sizeof(err)), GW_OK);
	return d;
}

static void
setup(void)
{
	int	 from, to;

	memset(&conf, 0, sizeof(conf));
	conf.busy_timeout_ms = 10000;
	pg = test_store_begin(&conf, "check_counts");
	db = open_db();
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	ck_assert_int_eq(to, gw_schema_latest());
}

static void
teardown(void)
{
	gw_db_close(db);
	test_store_end();
}

/* The n of one group, 0 when it has no row. */
static int64_t
group_n(const char *tenant, const char *project, const char *type,
    const char *source, const char *status)
{
	struct gw_stmt	*st;
	int64_t		 n = 0;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(db, "SELECT n FROM job_counts "
	    "WHERE tenant_id = ? AND project_id = ? AND job_type = ? "
	    "AND source_id = ? AND status = ?", &st), GW_OK);
	gw_stmt_bind_text(st, 1, tenant);
	gw_stmt_bind_text(st, 2, project);
	gw_stmt_bind_text(st, 3, type);
	gw_stmt_bind_text(st, 4, source);
	gw_stmt_bind_text(st, 5, status);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	if (row)
		n = gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	return n;
}

/* job_counts equal, row for row, to the copy counts_before. */
static void
assert_counts_unchanged(void)
{
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM (SELECT * FROM "
	    "job_counts EXCEPT SELECT * FROM counts_before) AS d"), 0);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM (SELECT * FROM "
	    "counts_before EXCEPT SELECT * FROM job_counts) AS d"), 0);
}

static double
seconds(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bulk data set (file header), in one INSERT ... SELECT: the
 * recursive CTE reads the same on both engines. */
static void
bulk_insert(void)
{
	char	 sql[1024];
	double	 t;

	snprintf(sql, sizeof(sql),
	    "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
	    "WHERE i < %d) "
	    "INSERT INTO jobs (job_id, tenant_id, project_id, job_type, "
	    "source_id, status, created_at) "
	    "SELECT 'j' || i, "
	    "CASE WHEN i %% 2 = 0 THEN 'acme' ELSE 'beta' END, "
	    "CASE WHEN i %% 4 = 0 THEN 'p1' ELSE '' END, "
	    "CASE i %% 3 WHEN 0 THEN 'scan.image' WHEN 1 THEN 'sbom.generate' "
	    "ELSE 'vex.ingest' END, "
	    "CASE WHEN i %% 5 = 0 THEN NULL ELSE 'src-' || (i %% 2) END, "
	    "CASE WHEN i %% 7 < 4 THEN 'pending' ELSE 'running' END, "
	    "1700000000 + i FROM s", NBULK);
	t = seconds();
	test_exec(db, sql);
	t = seconds() - t;
	printf("check_counts: %d-row INSERT ... SELECT on %s: %.3f s\n",
	    NBULK, pg ? "PostgreSQL" : "SQLite", t);
	fflush(stdout);
}

/* The number of jobs of the bulk set for which want(i) holds. */
static int64_t
bulk_n(int (*want)(int))
{
	int64_t	 n = 0;
	int	 i;

	for (i = 1; i <= NBULK; i++)
		n += want(i);
	return n;
}

/* acme, no project, scan.image, src-0, pending. */
static int
acme_scan_src0_pending(int i)
{
	return i % 2 == 0 && i % 4 != 0 && i % 3 == 0 && i % 5 != 0 &&
	    i % 7 < 4;
}

/* The same group for beta (i odd): no job has source src-0. */
static int
beta_scan_src1_running(int i)
{
	return i % 2 == 1 && i % 3 == 0 && i % 5 != 0 && i % 7 >= 4;
}

/* acme, p1, vex.ingest, no source, pending. */
static int
acme_p1_vex_none_pending(int i)
{
	return i % 4 == 0 && i % 3 == 2 && i % 5 == 0 && i % 7 < 4;
}

/* 2 tenants x 2 projects (acme) or 1 (beta) x 3 types x 2 sources (one
 * per parity) + none x 2 statuses. */
#define NBULK_GROUPS	((2 + 1) * 3 * 2 * 2)

START_TEST(test_bulk_insert_counts_exact)
{
	bulk_insert();
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts"),
	    NBULK_GROUPS);
	ck_assert_int_eq(test_count(db,
	    "SELECT sum(n) FROM job_counts"), NBULK);
	ck_assert_int_eq(group_n("acme", "", "scan.image", "src-0",
	    "pending"), bulk_n(acme_scan_src0_pending));
	ck_assert_int_eq(group_n("beta", "", "scan.image", "src-1",
	    "running"), bulk_n(beta_scan_src1_running));
	ck_assert_int_eq(group_n("acme", "p1", "vex.ingest", "",
	    "pending"), bulk_n(acme_p1_vex_none_pending));
}
END_TEST

static int
even_pending(int i)
{
	return i % 2 == 0 && i % 7 < 4;
}

START_TEST(test_bulk_update_moves_counts_exact)
{
	bulk_insert();
	/* Half the jobs (the even ones: acme) move to succeeded, under a
	 * new source. */
	test_exec(db,
	    "UPDATE jobs SET status = 'succeeded', source_id = 'moved' "
	    "WHERE created_at % 2 = 0 AND status = 'pending'");
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT sum(n) FROM job_counts "
	    "WHERE status = 'succeeded'"), bulk_n(even_pending));
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts "
	    "WHERE tenant_id = 'acme' AND status = 'pending'"), 0);
	ck_assert_int_eq(group_n("acme", "", "scan.image", "src-0",
	    "pending"), 0);
	/* Every job of the other half moves to another tenant and type. */
	test_exec(db, "UPDATE jobs SET tenant_id = 'gamma', job_type = 'x' "
	    "WHERE tenant_id = 'beta'");
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts "
	    "WHERE tenant_id = 'beta'"), 0);
	ck_assert_int_eq(test_count(db, "SELECT sum(n) FROM job_counts "
	    "WHERE tenant_id = 'gamma'"), NBULK / 2);
	/* Two groups swap their jobs in one statement: each nets to 0. */
	test_exec(db, "CREATE TABLE counts_before AS SELECT * FROM job_counts");
	test_exec(db,
	    "UPDATE jobs SET status = CASE status WHEN 'running' THEN "
	    "'pending' ELSE 'running' END WHERE tenant_id = 'gamma' AND "
	    "status IN ('pending', 'running') AND source_id IS NULL AND "
	    "(job_id IN (SELECT job_id FROM jobs WHERE tenant_id = 'gamma' "
	    "AND source_id IS NULL AND status = 'pending' ORDER BY job_id "
	    "LIMIT 100) OR job_id IN (SELECT job_id FROM jobs WHERE "
	    "tenant_id = 'gamma' AND source_id IS NULL AND status = "
	    "'running' ORDER BY job_id LIMIT 100))");
	test_assert_counts_exact(db);
	assert_counts_unchanged();
}
END_TEST

START_TEST(test_update_of_other_columns_keeps_counts)
{
	bulk_insert();
	test_exec(db, "CREATE TABLE counts_before AS SELECT * FROM job_counts");
	test_exec(db, "UPDATE jobs SET started_at = created_at + 1, "
	    "payload = '{\"a\":1}', priority = 'high'");
	assert_counts_unchanged();
	/* Group columns set to the values they hold. */
	test_exec(db, "UPDATE jobs SET status = status, tenant_id = tenant_id, "
	    "source_id = source_id WHERE created_at % 3 = 0");
	assert_counts_unchanged();
	test_exec(db, "UPDATE jobs SET finished_at = 1 WHERE job_id = 'j7'");
	assert_counts_unchanged();
	test_assert_counts_exact(db);
}
END_TEST

START_TEST(test_bulk_delete_removes_groups_at_zero)
{
	bulk_insert();
	test_exec(db, "DELETE FROM jobs WHERE created_at % 2 = 1");
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts "
	    "WHERE tenant_id = 'beta'"), 0);
	ck_assert_int_eq(test_count(db, "SELECT sum(n) FROM job_counts"),
	    NBULK / 2);
	ck_assert_int_eq(group_n("acme", "", "scan.image", "src-0",
	    "pending"), bulk_n(acme_scan_src0_pending));
	/* One whole group, then a part of another. */
	test_exec(db, "DELETE FROM jobs WHERE tenant_id = 'acme' AND "
	    "project_id = '' AND job_type = 'scan.image' AND "
	    "source_id = 'src-0' AND status = 'pending'");
	test_assert_counts_exact(db);
	ck_assert_int_eq(group_n("acme", "", "scan.image", "src-0",
	    "pending"), 0);
	test_exec(db, "DELETE FROM jobs WHERE job_type = 'vex.ingest' AND "
	    "created_at % 4 = 0");
	test_assert_counts_exact(db);
	test_exec(db, "DELETE FROM jobs");
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts"), 0);
}
END_TEST

START_TEST(test_single_row_statements_in_one_transaction)
{
	static const char *const step[] = {
		"INSERT INTO jobs (job_id, tenant_id, job_type, source_id, "
		    "status, created_at) VALUES ('a', 't', 'scan', 's', "
		    "'pending', 1)",
		"INSERT INTO jobs (job_id, tenant_id, job_type, status, "
		    "created_at) VALUES ('b', 't', 'scan', 'pending', 1)",
		"INSERT INTO jobs (job_id, tenant_id, job_type, source_id, "
		    "status, created_at) VALUES ('c', 't', 'scan', 's', "
		    "'pending', 1)",
		"UPDATE jobs SET status = 'running' WHERE job_id = 'a'",
		"UPDATE jobs SET started_at = 5 WHERE job_id = 'c'",
		"UPDATE jobs SET project_id = 'p' WHERE job_id = 'b'",
		"DELETE FROM jobs WHERE job_id = 'c'",
		"UPDATE jobs SET status = 'succeeded' WHERE job_id = 'a'",
		"UPDATE jobs SET status = 'pending', source_id = NULL "
		    "WHERE job_id = 'a'",
		/* The importer's upsert: an UPDATE inside an INSERT. */
		"INSERT INTO jobs (job_id, tenant_id, job_type, status, "
		    "created_at) VALUES ('b', 't', 'scan', 'failed', 1) "
		    "ON CONFLICT (job_id) DO UPDATE SET status = "
		    "excluded.status, project_id = excluded.project_id",
		"INSERT INTO jobs (job_id, tenant_id, job_type, status, "
		    "created_at) VALUES ('d', 't', 'scan', 'failed', 1) "
		    "ON CONFLICT (job_id) DO UPDATE SET status = "
		    "excluded.status",
	};
	size_t	 i;

	ck_assert_int_eq(gw_db_begin(db, 1), GW_OK);
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		test_exec(db, step[i]);
		test_assert_counts_exact(db);
	}
	ck_assert_int_eq(gw_db_commit(db), GW_OK);
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts"), 2);
	ck_assert_int_eq(group_n("t", "", "scan", "", "pending"), 1);
	ck_assert_int_eq(group_n("t", "", "scan", "", "failed"), 2);
	ck_assert_int_eq(group_n("t", "", "scan", "s", "pending"), 0);
	ck_assert_int_eq(group_n("t", "p", "scan", "", "pending"), 0);

	/* A transaction rolled back leaves no count behind. */
	ck_assert_int_eq(gw_db_begin(db, 1), GW_OK);
	test_exec(db, "INSERT INTO jobs (job_id, tenant_id, job_type, status, "
	    "created_at) VALUES ('e', 't', 'other', 'pending', 1)");
	test_exec(db, "DELETE FROM jobs WHERE job_id = 'a'");
	gw_db_rollback(db);
	test_assert_counts_exact(db);
	ck_assert_int_eq(test_count(db, "SELECT count(*) FROM job_counts"), 2);
	ck_assert_int_eq(group_n("t", "", "scan", "", "pending"), 1);
}
END_TEST

/*
 * The second writer: its own connection, one transaction running the
 * statements of sql[], then commit.  Each result is kept for the main
 * thread to assert (Check's assertions belong to the main thread).
 */
struct writer {
	struct gw_db	*db;
	const char	*const *sql;
	enum gw_err	 e[4];		/* begin, each statement, commit */
	pthread_t	 t;
};

static void *
writer_run(void *arg)
{
	struct writer	*w = arg;
	size_t		 i;

	w->e[0] = gw_db_begin(w->db, 1);
	for (i = 0; w->sql[i] != NULL; i++)
		w->e[i + 1] = gw_db_exec(w->db, w->sql[i]);
	w->e[i + 1] = gw_db_commit(w->db);
	if (w->e[i + 1] != GW_OK)
		gw_db_rollback(w->db);
	return NULL;
}

/*
 * Start w and return once it waits for a lock held by db's transaction:
 * on PostgreSQL, once its backend has a lock not granted; on SQLite its
 * BEGIN IMMEDIATE waits for the write lock, so a pause is enough.
 */
static void
writer_start_blocked(struct writer *w)
{
	struct gw_stmt	*st;
	int64_t		 pid = 0;
	int		 i, row, waiting = 0;

	if (pg)
		pid = test_count(w->db, "SELECT pg_backend_pid()");
	ck_assert_int_eq(pthread_create(&w->t, NULL, writer_run, w), 0);
	if (!pg) {
		usleep(300 * 1000);
		return;
	}
	for (i = 0; i < 500 && !waiting; i++) {
		usleep(10 * 1000);
		ck_assert_int_eq(gw_db_prepare(db, "SELECT count(*) FROM "
		    "pg_locks WHERE pid = ? AND NOT granted", &st), GW_OK);
		gw_stmt_bind_int(st, 1, pid);
		ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
		waiting = row && gw_stmt_int(st, 0) > 0;
		gw_stmt_reset(st);
	}
	ck_assert_msg(waiting, "the second writer never waited for a lock");
}

static void
writer_end(struct writer *w, int nsql)
{
	int	 i;

	ck_assert_int_eq(pthread_join(w->t, NULL), 0);
	for (i = 0; i < nsql + 2; i++)
		ck_assert_msg(w->e[i] == GW_OK, "writer step %d: error %d", i,
		    (int)w->e[i]);
}

#define JOB(id, type)	"INSERT INTO jobs (job_id, tenant_id, job_type, " \
	"status, created_at) VALUES ('" id "', 't', '" type "', 'pending', 1)"

START_TEST(test_concurrent_writers_lose_no_count)
{
	static const char *const second[] = {
		JOB("b1", "old"),
		JOB("b2", "new"),
		NULL
	};
	struct writer	 w;

	/* "old" has a row already; "new" is created by both at once. */
	test_exec(db, JOB("o1", "old"));
	memset(&w, 0, sizeof(w));
	w.db = open_db();
	w.sql = second;
	ck_assert_int_eq(gw_db_begin(db, 1), GW_OK);
	test_exec(db, JOB("a1", "old"));
	test_exec(db, JOB("a2", "new"));
	writer_start_blocked(&w);
	ck_assert_int_eq(gw_db_commit(db), GW_OK);
	writer_end(&w, 2);
	gw_db_close(w.db);
	test_assert_counts_exact(db);
	ck_assert_int_eq(group_n("t", "", "old", "", "pending"), 3);
	ck_assert_int_eq(group_n("t", "", "new", "", "pending"), 2);
}
END_TEST

/*
 * The second writer's one statement adds to "b" then "a"; the first holds
 * "a" and then adds to "b".  Written in row order the second would hold
 * "b" while waiting for "a", and the first's "b" would deadlock; in key
 * order it waits for "a" holding nothing, and both commit.
 */
START_TEST(test_concurrent_writers_do_not_deadlock)
{
	static const char *const second[] = {
		"INSERT INTO jobs (job_id, tenant_id, job_type, status, "
		    "created_at) VALUES ('w1', 't', 'b', 'pending', 1), "
		    "('w2', 't', 'a', 'pending', 1)",
		NULL
	};
	struct writer	 w;

	test_exec(db, JOB("o1", "a"));
	test_exec(db, JOB("o2", "b"));
	memset(&w, 0, sizeof(w));
	w.db = open_db();
	w.sql = second;
	ck_assert_int_eq(gw_db_begin(db, 1), GW_OK);
	test_exec(db, JOB("a1", "a"));
	writer_start_blocked(&w);
	test_exec(db, JOB("b1", "b"));
	ck_assert_int_eq(gw_db_commit(db), GW_OK);
	writer_end(&w, 1);
	gw_db_close(w.db);
	test_assert_counts_exact(db);
	ck_assert_int_eq(group_n("t", "", "a", "", "pending"), 3);
	ck_assert_int_eq(group_n("t", "", "b", "", "pending"), 3);
}
END_TEST

static Suite *
counts_suite(void)
{
	Suite	*s = suite_create("counts");
	TCase	*tc = tcase_create("counts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_bulk_insert_counts_exact);
	tcase_add_test(tc, test_bulk_update_moves_counts_exact);
	tcase_add_test(tc, test_update_of_other_columns_keeps_counts);
	tcase_add_test(tc, test_bulk_delete_removes_groups_at_zero);
	tcase_add_test(tc, test_single_row_statements_in_one_transaction);
	tcase_add_test(tc, test_concurrent_writers_lose_no_count);
	tcase_add_test(tc, test_concurrent_writers_do_not_deadlock);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(counts_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
