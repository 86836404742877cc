/*
 * check_deadletter.c: the jobs summary and the deadletter store (SPEC §10
 * Job, Jobs summary, Deadletter entry): maintained job counts, stats and
 * summary against the hand-computed data set tests/fixtures/
 * deadletter.ndjson, the replay state rules, replay-once, the pending
 * selection and the query plans.  Each test runs on a fresh database.
 *
 * The data set (tenant acme; "HH:MM" is 2026-11-10THH:MM:00Z):
 *	pending clusters	auth/credentials_expired 3 (a02 and a03 both
 *				at 05:00: a03 wins the sample by entryId),
 *				timeout/deadline_exceeded 3,
 *				transient/registry_5xx 3 (+1 replayed),
 *				transient/network_unreachable 2 (+1
 *				resolved), then eight clusters of 1, of
 *				which validation/schema_invalid and
 *				zeta/unknown fall out of the top ten.
 *	jobs			31: scan.image 19, vex.ingest 4,
 *				advisory.sync 4, sbom.generate 3,
 *				policy.evaluate 1.
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
static int		 pg;	/* the tests run on PostgreSQL */
static struct gw_store	*store;

static struct gw_store *
open_store(void)
{
	struct gw_store	*s;
	char		 err[256];

	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)), GW_OK);
	return s;
}

static void
setup(void)
{
	struct gw_db	*db;
	const char	*src = getenv("top_srcdir");
	char		 err[256], path[512];
	long		 n;
	int		 from, to;
	FILE		*fp;

	memset(&conf, 0, sizeof(conf));
	conf.busy_timeout_ms = 5000;
	pg = test_store_begin(&conf, "check_deadletter");
	arena = gw_arena_new();
	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	gw_db_close(db);
	store = open_store();
	snprintf(path, sizeof(path), "%s/tests/fixtures/deadletter.ndjson",
	    src != NULL ? src : "..");
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_int_eq(gw_import(store, fp, &n, err, sizeof(err)), GW_OK);
	fclose(fp);
}

static void
teardown(void)
{
	gw_store_close(store);
	test_store_end();
	gw_arena_free(arena);
}

static void
dl_filter(struct gw_dl_filter *f, const char *tenant)
{
	memset(f, 0, sizeof(*f));
	f->tenant = tenant;
	f->failed_before = f->failed_after = GW_DL_NOTIME;
}

static int64_t
t(const char *hhmm)
{
	char	 s[32];
	int64_t	 v;

	snprintf(s, sizeof(s), "2026-11-10T%s:00Z", hhmm);
	ck_assert_int_eq(gw_time_parse(s, &v), 0);
	return v;
}

/* ---------------------------------------------------------------- jobs */

START_TEST(test_jobs_summary_counts_every_status_per_job_type)
{
	static const struct {
		const char	*job_type;
		int64_t		 total;
		int64_t		 by[GW_JOB_NSTATUS];
	} want[] = {
		{ "advisory.sync", 4, { 0, 0, 0, 0, 0, 4, 0, 0 } },
		{ "policy.evaluate", 1, { 0, 0, 0, 0, 0, 1, 0, 0 } },
		{ "sbom.generate", 3, { 0, 0, 0, 0, 0, 2, 0, 1 } },
		{ "scan.image", 19, { 2, 1, 1, 1, 1, 10, 1, 2 } },
		{ "vex.ingest", 4, { 0, 0, 0, 0, 1, 3, 0, 0 } },
	};
	static const int64_t all[GW_JOB_NSTATUS] = { 2, 1, 1, 1, 2, 20, 1, 3 };
	struct gw_job_filter	 f = { "acme", NULL, NULL, NULL };
	struct gw_job_counts	 total, *types;
	size_t			 n, i;
	int			 k;

	ck_assert_int_eq(gw_store_jobs_summary(store, arena, &f, &total,
	    &types, &n), GW_OK);
	ck_assert_int_eq(total.total, 31);
	for (k = 0; k < GW_JOB_NSTATUS; k++)
		ck_assert_int_eq(total.by_status[k], all[k]);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(types[i].job_type, want[i].job_type);
		ck_assert_int_eq(types[i].total, want[i].total);
		for (k = 0; k < GW_JOB_NSTATUS; k++)
			ck_assert_int_eq(types[i].by_status[k], want[i].by[k]);
	}
}
END_TEST

START_TEST(test_jobs_summary_filters_and_project)
{
	static const struct {
		const char	*project, *job_type, *source;
		int64_t		 total;
		size_t		 ntypes;
	} cases[] = {
		{ NULL, "scan.image", NULL, 19, 1 },
		{ NULL, NULL, "dl-src-2", 7, 3 },	/* j03 j06 j16-18 j21 j31 */
		{ NULL, "scan.image", "dl-src-2", 1, 1 },
		{ "dlp", NULL, NULL, 3, 2 },
		{ NULL, "no.such", NULL, 0, 0 },
		{ "zzz", NULL, NULL, 0, 0 },
	};
	struct gw_job_filter	 f;
	struct gw_job_counts	 total, *types;
	size_t			 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.tenant = "acme";
		f.project = cases[i].project;
		f.job_type = cases[i].job_type;
		f.source_id = cases[i].source;
		ck_assert_int_eq(gw_store_jobs_summary(store, arena, &f,
		    &total, &types, &n), GW_OK);
		ck_assert_int_eq(total.total, cases[i].total);
		ck_assert_uint_eq(n, cases[i].ntypes);
	}
	f.tenant = "globex";
	f.project = f.job_type = f.source_id = NULL;
	ck_assert_int_eq(gw_store_jobs_summary(store, arena, &f, &total,
	    &types, &n), GW_OK);
	ck_assert_int_eq(total.total, 2);
	ck_assert_int_eq(total.by_status[5], 2);
}
END_TEST

START_TEST(test_job_counts_stay_exact_through_every_change)
{
	struct gw_dl_replay	 r;

	test_assert_counts_exact(store->db);
	test_exec(store->db,
	    "UPDATE jobs SET status = 'running' WHERE job_id = 'dl-j40'");
	test_assert_counts_exact(store->db);
	test_exec(store->db,
	    "UPDATE jobs SET source_id = NULL WHERE job_id = 'dl-j41'");
	test_assert_counts_exact(store->db);
	test_exec(store->db,
	    "UPDATE jobs SET project_id = 'dlp', job_type = 'x.y' "
	    "WHERE job_id = 'dl-j42'");
	test_assert_counts_exact(store->db);
	test_exec(store->db,
	    "DELETE FROM jobs WHERE job_type = 'advisory.sync'");
	test_assert_counts_exact(store->db);
	ck_assert_int_eq(gw_db_begin(store->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_deadletter_replay(store, "acme", NULL,
	    "dl-a04", 0, "op", 1800000000, &r), GW_OK);
	ck_assert_int_eq(gw_db_commit(store->db), GW_OK);
	test_assert_counts_exact(store->db);
	ck_assert_int_eq(test_count(store->db,
	    "SELECT n FROM job_counts WHERE tenant_id = "
	    "'acme' AND job_type = 'scan.image' AND status = 'pending' AND "
	    "source_id = 'dl-src-1' AND project_id = ''"), 2);
}
END_TEST

/* ----------------------------------------------------------- deadletter */

START_TEST(test_stats_hand_computed)
{
	static const struct {
		const char	*category, *code;
		int64_t		 count, retryable;
		const char	*last, *sample;
	} top[GW_DL_TOPERRORS] = {
		{ "auth", "credentials_expired", 3, 1, "05:00",
		    "token expired for ghcr" },
		{ "timeout", "deadline_exceeded", 3, 3, "04:00",
		    "deadline exceeded after 300s" },
		{ "transient", "registry_5xx", 3, 3, "07:00",
		    "registry answered 500" },
		{ "transient", "network_unreachable", 2, 1, "09:00",
		    "connection refused" },
		{ "dependency", "upstream_unavailable", 1, 1, "11:00",
		    "upstream 503" },
		{ "network", "dns_failure", 1, 1, "12:00", "lookup failed" },
		{ "quota", "rate_limited", 1, 0, "13:00", "quota exhausted" },
		{ "storage", "disk_full", 1, 1, "14:00", "disk full" },
		{ "storage", "io_error", 1, 1, "15:00", "i/o error" },
		{ "validation", "manifest_unsupported", 1, 0, "16:00",
		    "manifest v1 unsupported" },
	};
	static const struct {
		const char	*category;
		int64_t		 count;
	} cats[] = {
		{ "auth", 3 }, { "dependency", 2 }, { "network", 1 },
		{ "quota", 1 }, { "storage", 2 }, { "timeout", 3 },
		{ "transient", 7 }, { "validation", 3 }, { "zeta", 1 },
	};
	struct gw_dl_filter	 f;
	struct gw_dl_stats	 s;
	size_t			 i;

	dl_filter(&f, "acme");
	ck_assert_int_eq(gw_store_deadletter_stats(store, arena, &f, &s),
	    GW_OK);
	ck_assert_int_eq(s.total, 23);
	ck_assert_int_eq(s.by_status[0], 19);
	ck_assert_int_eq(s.by_status[1], 2);
	ck_assert_int_eq(s.by_status[2], 1);
	ck_assert_int_eq(s.by_status[3], 1);
	ck_assert_int_eq(s.retryable, 13);
	ck_assert_int_eq(s.oldest_pending_failed_at, t("00:30"));
	ck_assert_int_eq(s.newest_failed_at, t("17:00"));
	ck_assert_uint_eq(s.ncategories, sizeof(cats) / sizeof(cats[0]));
	for (i = 0; i < s.ncategories; i++) {
		ck_assert_str_eq(s.categories[i].category, cats[i].category);
		ck_assert_int_eq(s.categories[i].count, cats[i].count);
	}
	ck_assert_uint_eq(s.ntop, GW_DL_TOPERRORS);
	for (i = 0; i < s.ntop; i++) {
		ck_assert_str_eq(s.top[i].category, top[i].category);
		ck_assert_str_eq(s.top[i].error_code, top[i].code);
		ck_assert_int_eq(s.top[i].count, top[i].count);
		ck_assert_int_eq(s.top[i].retryable, top[i].retryable);
		ck_assert_int_eq(s.top[i].last_failed_at, t(top[i].last));
		ck_assert_str_eq(s.top[i].sample_message, top[i].sample);
	}
}
END_TEST

START_TEST(test_stats_filters_and_empty_tenant)
{
	struct gw_dl_filter	 f;
	struct gw_dl_stats	 s;

	dl_filter(&f, "acme");
	f.job_type = "sbom.generate";	/* a03, a05, a21 */
	ck_assert_int_eq(gw_store_deadletter_stats(store, arena, &f, &s),
	    GW_OK);
	ck_assert_int_eq(s.total, 3);
	ck_assert_int_eq(s.retryable, 3);
	ck_assert_uint_eq(s.ntop, 3);
	ck_assert_str_eq(s.top[0].category, "auth");
	ck_assert_str_eq(s.top[1].category, "storage");
	ck_assert_str_eq(s.top[2].category, "timeout");

	dl_filter(&f, "acme");
	f.project = "dlp";		/* a03, a06, a21 */
	ck_assert_int_eq(gw_store_deadletter_stats(store, arena, &f, &s),
	    GW_OK);
	ck_assert_int_eq(s.total, 3);
	ck_assert_int_eq(s.oldest_pending_failed_at, t("04:00"));

	dl_filter(&f, "initech");
	ck_assert_int_eq(gw_store_deadletter_stats(store, arena, &f, &s),
	    GW_OK);
	ck_assert_int_eq(s.total, 0);
	ck_assert_uint_eq(s.ntop, 0);
	ck_assert_uint_eq(s.ncategories, 0);
	ck_assert_int_eq(s.oldest_pending_failed_at, 0);
	ck_assert_int_eq(s.newest_failed_at, 0);
}
END_TEST

START_TEST(test_summary_groups_in_order_across_pages)
{
	static const struct {
		const char	*category, *code;
		int64_t		 count, pending, retryable, replayed;
		const char	*types, *oldest, *newest;
	} want[] = {
		{ "auth", "credentials_expired", 3, 3, 1, 0,
		    "sbom.generate scan.image", "01:00", "05:00" },
		{ "dependency", "feed_rate_limited", 1, 0, 0, 1, "vex.ingest",
		    "00:20", "00:20" },
		{ "dependency", "upstream_unavailable", 1, 1, 1, 0,
		    "vex.ingest", "11:00", "11:00" },
		{ "network", "dns_failure", 1, 1, 1, 0, "vex.ingest", "12:00",
		    "12:00" },
		{ "quota", "rate_limited", 1, 1, 0, 0, "scan.image", "13:00",
		    "13:00" },
		{ "storage", "disk_full", 1, 1, 1, 0, "scan.image", "14:00",
		    "14:00" },
		{ "storage", "io_error", 1, 1, 1, 0, "sbom.generate", "15:00",
		    "15:00" },
		{ "timeout", "deadline_exceeded", 3, 3, 3, 0,
		    "sbom.generate scan.image", "02:00", "04:00" },
		{ "transient", "network_unreachable", 3, 2, 1, 0,
		    "advisory.sync", "00:10", "09:00" },
		{ "transient", "registry_5xx", 4, 3, 3, 1,
		    "advisory.sync scan.image", "00:30", "07:00" },
		{ "validation", "manifest_unsupported", 1, 1, 0, 0,
		    "scan.image", "16:00", "16:00" },
		{ "validation", "schema_invalid", 2, 1, 0, 0, "scan.image",
		    "00:05", "10:00" },
		{ "zeta", "unknown", 1, 1, 1, 0, "policy.evaluate", "17:00",
		    "17:00" },
	};
	struct gw_dl_filter	 f;
	struct gw_dl_group	*g;
	struct gw_page		 page;
	struct gw_buf		 types;
	size_t			 n, i, k, seen = 0;
	int			 more, pages = 0;

	dl_filter(&f, "acme");
	memset(&page, 0, sizeof(page));
	page.limit = 4;
	gw_buf_init(&types);
	do {
		ck_assert_int_eq(gw_store_deadletter_summary(store, arena, &f,
		    &page, &g, &n, &more), GW_OK);
		for (i = 0; i < n; i++, seen++) {
			ck_assert_uint_lt(seen, sizeof(want) / sizeof(want[0]));
			ck_assert_str_eq(g[i].category, want[seen].category);
			ck_assert_str_eq(g[i].error_code, want[seen].code);
			ck_assert_int_eq(g[i].count, want[seen].count);
			ck_assert_int_eq(g[i].pending, want[seen].pending);
			ck_assert_int_eq(g[i].retryable, want[seen].retryable);
			ck_assert_int_eq(g[i].replayed, want[seen].replayed);
			ck_assert_int_eq(g[i].oldest_failed_at,
			    t(want[seen].oldest));
			ck_assert_int_eq(g[i].newest_failed_at,
			    t(want[seen].newest));
			gw_buf_reset(&types);
			for (k = 0; k < g[i].njob_types; k++) {
				if (k > 0)
					gw_buf_putc(&types, ' ');
				gw_buf_puts(&types, g[i].job_types[k]);
			}
			ck_assert_str_eq(types.data, want[seen].types);
		}
		pages++;
		page.nkey = 2;
		page.key[0] = g[n - 1].category;
		page.key[1] = g[n - 1].error_code;
	} while (more);
	gw_buf_free(&types);
	ck_assert_uint_eq(seen, sizeof(want) / sizeof(want[0]));
	ck_assert_int_eq(pages, 4);
}
END_TEST

START_TEST(test_summary_status_filter)
{
	struct gw_dl_filter	 f;
	struct gw_dl_group	*g;
	struct gw_page		 page;
	size_t			 n;
	int			 more;

	dl_filter(&f, "acme");
	f.status = "replayed";
	memset(&page, 0, sizeof(page));
	page.limit = 50;
	ck_assert_int_eq(gw_store_deadletter_summary(store, arena, &f, &page,
	    &g, &n, &more), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 0);
	ck_assert_str_eq(g[0].error_code, "feed_rate_limited");
	ck_assert_str_eq(g[1].error_code, "registry_5xx");
	ck_assert_int_eq(g[1].count, 1);
	ck_assert_int_eq(g[1].pending, 0);
	ck_assert_int_eq(g[1].replayed, 1);
}
END_TEST

START_TEST(test_replay_state_rules)
{
	static const struct {
		const char	*project, *id;
		int		 force;
		enum gw_err	 want;
	} cases[] = {
		{ NULL, "dl-a04", 0, GW_OK },		/* pending, retryable */
		{ NULL, "dl-a04", 0, GW_ERR_DEADLETTER_NOT_PENDING },
		{ NULL, "dl-a04", 1, GW_ERR_DEADLETTER_NOT_PENDING },
		{ NULL, "dl-a01", 0, GW_ERR_DEADLETTER_NOT_RETRYABLE },
		{ NULL, "dl-a01", 1, GW_OK },		/* forced */
		{ NULL, "dl-a10", 0, GW_ERR_DEADLETTER_NOT_PENDING },
		{ NULL, "dl-a13", 0, GW_ERR_DEADLETTER_NOT_PENDING },
		{ NULL, "dl-a15", 1, GW_ERR_DEADLETTER_NOT_PENDING },
		{ NULL, "nope", 0, GW_ERR_DEADLETTER_NOT_FOUND },
		{ NULL, "dl-g01", 0, GW_ERR_DEADLETTER_NOT_FOUND },
		{ "dlp", "dl-a05", 0, GW_ERR_DEADLETTER_NOT_FOUND },
		{ "dlp", "dl-a06", 0, GW_OK },
	};
	struct gw_dl_replay	 r;
	size_t			 i;
	enum gw_err		 e;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(gw_db_begin(store->db, 1), GW_OK);
		e = gw_store_deadletter_replay(store, "acme", cases[i].project,
		    cases[i].id, cases[i].force, "op", 1800000000, &r);
		ck_assert_msg(e == cases[i].want, "case %zu (%s): got %d, "
		    "want %d", i, cases[i].id, e, cases[i].want);
		if (e == GW_OK)
			ck_assert_int_eq(gw_db_commit(store->db), GW_OK);
		else
			gw_db_rollback(store->db);
	}
	ck_assert_int_eq(test_count(store->db,
	    "SELECT count(*) FROM jobs WHERE "
	    "replay_of IS NOT NULL AND created_at = 1800000000"), 3);
	test_assert_counts_exact(store->db);
}
END_TEST

START_TEST(test_replay_makes_the_documented_job_and_entry)
{
	struct gw_dl_replay	 r;
	struct gw_stmt		*st;
	int			 row;

	ck_assert_int_eq(gw_db_begin(store->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_deadletter_replay(store, "acme", NULL,
	    "dl-a10x", 0, "op", 1800000000, &r),
	    GW_ERR_DEADLETTER_NOT_FOUND);
	ck_assert_int_eq(gw_store_deadletter_replay(store, "acme", NULL,
	    "dl-a21", 0, "operator-7", 1800000000, &r), GW_OK);
	ck_assert_int_eq(gw_db_commit(store->db), GW_OK);
	ck_assert_str_eq(r.entry_id, "dl-a21");
	ck_assert_str_eq(r.status, "replayed");
	ck_assert_int_eq(r.replayed_at, 1800000000);
	ck_assert_int_eq(r.replay_count, 1);
	ck_assert_uint_eq(strlen(r.replay_job_id), 36);
	ck_assert_int_eq(r.replay_job_id[14], '7');

	ck_assert_int_eq(gw_db_prepare(store->db, "SELECT tenant_id, "
	    "project_id, job_type, source_id, status, priority, replay_of, "
	    "payload, created_at, started_at IS NULL FROM jobs "
	    "WHERE job_id = ?", &st), GW_OK);
	gw_stmt_bind_text(st, 1, r.replay_job_id);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	ck_assert_int_eq(row, 1);
	ck_assert_str_eq(gw_stmt_text(st, 0), "acme");
	ck_assert_str_eq(gw_stmt_text(st, 1), "dlp");
	ck_assert_str_eq(gw_stmt_text(st, 2), "sbom.generate");
	ck_assert_str_eq(gw_stmt_text(st, 3), "dl-src-2");
	ck_assert_str_eq(gw_stmt_text(st, 4), "pending");
	ck_assert_str_eq(gw_stmt_text(st, 5), "high");
	ck_assert_str_eq(gw_stmt_text(st, 6), "dl-j21");
	ck_assert_str_eq(gw_stmt_text(st, 7),
	    "{\"entry\":21,\"jobType\":\"sbom.generate\"}");
	ck_assert_int_eq(gw_stmt_int(st, 8), 1800000000);
	ck_assert_int_eq(gw_stmt_int(st, 9), 1);
	gw_stmt_reset(st);

	ck_assert_int_eq(gw_db_prepare(store->db, "SELECT status, "
	    "replay_count, last_replay_job_id, replayed_at, replayed_by "
	    "FROM deadletter WHERE entry_id = 'dl-a21'", &st), GW_OK);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	ck_assert_str_eq(gw_stmt_text(st, 0), "replayed");
	ck_assert_int_eq(gw_stmt_int(st, 1), 1);
	ck_assert_str_eq(gw_stmt_text(st, 2), r.replay_job_id);
	ck_assert_int_eq(gw_stmt_int(st, 3), 1800000000);
	ck_assert_str_eq(gw_stmt_text(st, 4), "operator-7");
	gw_stmt_reset(st);
}
END_TEST

/* Two connections (two processes' worth): the second transaction sees
 * the first's commit and refuses; one job, not two. */
START_TEST(test_replay_happens_once_across_connections)
{
	struct gw_store		*other = open_store();
	struct gw_dl_replay	 r;

	ck_assert_int_eq(gw_db_begin(store->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_deadletter_replay(store, "acme", NULL,
	    "dl-a08", 0, "op", 1800000000, &r), GW_OK);
	/* The other cannot even start while the first holds the lock. */
	ck_assert_int_eq(gw_db_commit(store->db), GW_OK);
	ck_assert_int_eq(gw_db_begin(other->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_deadletter_replay(other, "acme", NULL,
	    "dl-a08", 1, "op", 1800000001, &r),
	    GW_ERR_DEADLETTER_NOT_PENDING);
	gw_db_rollback(other->db);
	gw_store_close(other);
	ck_assert_int_eq(test_count(store->db, "SELECT count(*) FROM jobs "
	    "WHERE replay_of = 'dl-j08'"), 1);
}
END_TEST

START_TEST(test_pending_selection_oldest_first_with_filters)
{
	static const struct {
		const char	*job_type, *source, *category, *code;
		const char	*before, *after;
		const char	*want;		/* ids in order */
		int64_t		 count;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, NULL, NULL, "dl-a07 dl-a04 dl-a05 "
		    "dl-a06 dl-a03 dl-a08 dl-a09 dl-a11 dl-a17 dl-a18 dl-a20 "
		    "dl-a21 dl-a23", 13 },
		{ "advisory.sync", NULL, NULL, NULL, NULL, NULL,
		    "dl-a09 dl-a11", 2 },
		{ NULL, "dl-src-2", NULL, NULL, NULL, NULL,
		    "dl-a06 dl-a03 dl-a17 dl-a18 dl-a21", 5 },
		{ NULL, NULL, "transient", NULL, NULL, NULL,
		    "dl-a07 dl-a08 dl-a09 dl-a11", 4 },
		{ NULL, NULL, "transient", "registry_5xx", NULL, NULL,
		    "dl-a07 dl-a08 dl-a09", 3 },
		{ NULL, NULL, NULL, NULL, "05:00", "02:00",
		    "dl-a04 dl-a05 dl-a06", 3 },
		{ NULL, NULL, NULL, NULL, NULL, "15:00", "dl-a21 dl-a23", 2 },
		{ NULL, NULL, "auth", NULL, NULL, NULL, "dl-a03", 1 },
		{ NULL, NULL, "zzz", NULL, NULL, NULL, "", 0 },
	};
	struct gw_dl_filter	 f;
	struct gw_buf		 ids;
	const char		*id, *after;
	int64_t			 at, after_at, n;
	size_t			 i;

	gw_buf_init(&ids);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dl_filter(&f, "acme");
		f.job_type = cases[i].job_type;
		f.source_id = cases[i].source;
		f.category = cases[i].category;
		f.error_code = cases[i].code;
		if (cases[i].before != NULL)
			f.failed_before = t(cases[i].before);
		if (cases[i].after != NULL)
			f.failed_after = t(cases[i].after);
		gw_buf_reset(&ids);
		after = NULL;
		after_at = 0;
		for (;;) {
			ck_assert_int_eq(gw_store_deadletter_next(store, arena,
			    &f, after_at, after, &id, &at), GW_OK);
			if (id == NULL)
				break;
			if (ids.len > 0)
				gw_buf_putc(&ids, ' ');
			gw_buf_puts(&ids, id);
			after = id;
			after_at = at;
		}
		ck_assert_str_eq(ids.data, cases[i].want);
		ck_assert_int_eq(gw_store_deadletter_replayable(store, &f, &n),
		    GW_OK);
		ck_assert_int_eq(n, cases[i].count);
	}
	gw_buf_free(&ids);
}
END_TEST

/* The stats, summary and pending queries walk an index in its order: no
 * temporary B-tree for grouping or ordering, no table scan. */
START_TEST(test_queries_are_index_driven)
{
	static const char *const sql[] = {
		"SELECT category, error_code, status, count(*), "
		"sum(retryable), min(failed_at), max(failed_at) FROM deadletter "
		"WHERE tenant_id = ? AND job_type = ? GROUP BY category, "
		"error_code, status ORDER BY category, error_code, status",
		"SELECT message FROM deadletter WHERE tenant_id = ? AND "
		"status = ? AND category = ? AND error_code = ? "
		"ORDER BY failed_at DESC, entry_id DESC LIMIT 1",
		"SELECT category, error_code, count(*) FROM deadletter "
		"WHERE tenant_id = ? AND status = ? AND (category, error_code) "
		"> (?, ?) GROUP BY category, error_code ORDER BY category, "
		"error_code LIMIT ?",
		"SELECT entry_id, failed_at FROM deadletter WHERE tenant_id = ? "
		"AND status = ? AND retryable = 1 AND (failed_at, entry_id) > "
		"(?, ?) ORDER BY failed_at, entry_id LIMIT 1",
	};
	struct gw_stmt	*st;
	struct gw_buf	 plan;
	char		 q[1024];
	size_t		 i;
	int		 row;

	gw_buf_init(&plan);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql[i]);
		ck_assert_int_eq(gw_db_prepare(store->db, q, &st), GW_OK);
		gw_buf_reset(&plan);
		while (gw_stmt_step(st, &row) == GW_OK && row) {
			gw_buf_puts(&plan, gw_stmt_text(st, 3));
			gw_buf_putc(&plan, '\n');
		}
		gw_stmt_reset(st);
		ck_assert_msg(strstr(plan.data, "TEMP B-TREE") == NULL,
		    "query %zu sorts: %s", i, plan.data);
		ck_assert_msg(strstr(plan.data, "USING") != NULL &&
		    strstr(plan.data, "SCAN deadletter\n") == NULL,
		    "query %zu scans: %s", i, plan.data);
	}
	gw_buf_free(&plan);
}
END_TEST

static Suite *
deadletter_suite(void)
{
	Suite	*s = suite_create("deadletter");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_jobs_summary_counts_every_status_per_job_type);
	tcase_add_test(tc, test_jobs_summary_filters_and_project);
	tcase_add_test(tc, test_job_counts_stay_exact_through_every_change);
	tcase_add_test(tc, test_stats_hand_computed);
	tcase_add_test(tc, test_stats_filters_and_empty_tenant);
	tcase_add_test(tc, test_summary_groups_in_order_across_pages);
	tcase_add_test(tc, test_summary_status_filter);
	tcase_add_test(tc, test_replay_state_rules);
	tcase_add_test(tc, test_replay_makes_the_documented_job_and_entry);
	tcase_add_test(tc, test_replay_happens_once_across_connections);
	tcase_add_test(tc, test_pending_selection_oldest_first_with_filters);
	suite_add_tcase(s, tc);

	/* Query plans: SQLite's EXPLAIN QUERY PLAN. */
	if (!test_on_pg()) {
		tc = tcase_create("sqlite");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 30);
		tcase_add_test(tc, test_queries_are_index_driven);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	gw_log_init("check_deadletter", GW_LOG_ERROR - 1);
	sr = srunner_create(deadletter_suite());
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
