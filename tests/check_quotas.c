/*
 * check_quotas.c: quotas in the store (SPEC §9 If-Match, §10 Quota and
 * Quota summary) and request bodies against a member table (SPEC §7).
 *
 * Every test runs on a fresh SQLite file in its own temporary directory.
 * Mutations run inside a write transaction the test opens, as the
 * pipeline opens one around a handler (the store never begins one).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json.h>

#include "extern.h"
#include "check_db.h"

#define NOW	INT64_C(1800000000)	/* 2027-01-15T08:00:00Z */

static struct gw_conf	 conf;
static struct gw_arena	*arena;
static int		 pg;	/* the tests run on PostgreSQL */

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.busy_timeout_ms = 5000;
	pg = test_store_begin(&conf, "check_quotas");
	arena = gw_arena_new();
}

static void
teardown(void)
{
	test_store_end();
	gw_arena_free(arena);
}

static struct gw_store *
open_store(void)
{
	struct gw_store	*s;
	char		 err[256];

	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)), GW_OK);
	return s;
}

static struct gw_store *
open_migrated(void)
{
	struct gw_db	*db;
	char		 err[256];
	int		 from, to;

	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	gw_db_close(db);
	return open_store();
}

/* A quota row as an operator would have created it. */
static void
add_quota(struct gw_store *s, const char *id, const char *tenant,
    const char *project, const char *type, int64_t ma, int64_t mph,
    int64_t burst, int paused)
{
	struct gw_stmt	*st;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO quotas (quota_id, "
	    "tenant_id, project_id, job_type, max_active, max_per_hour, burst, "
	    "paused, pause_reason, paused_at, paused_by, created_at, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &st), GW_OK);
	gw_stmt_bind_text(st, 1, id);
	gw_stmt_bind_text(st, 2, tenant);
	gw_stmt_bind_text(st, 3, project != NULL ? project : "");
	gw_stmt_bind_text(st, 4, type);
	gw_stmt_bind_int(st, 5, ma);
	gw_stmt_bind_int(st, 6, mph);
	gw_stmt_bind_int(st, 7, burst);
	gw_stmt_bind_int(st, 8, paused);
	gw_stmt_bind_text(st, 9, paused ? "maintenance" : NULL);
	if (paused)
		gw_stmt_bind_int(st, 10, NOW - 7200);
	else
		gw_stmt_bind_text(st, 10, NULL);
	gw_stmt_bind_text(st, 11, paused ? "admin" : NULL);
	gw_stmt_bind_int(st, 12, NOW - 86400);
	gw_stmt_bind_int(st, 13, NOW - 86400);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	gw_stmt_reset(st);
}

/* n jobs; started_at 0 means never started. */
static void
add_jobs(struct gw_store *s, const char *tenant, const char *project,
    const char *type, const char *status, int n, int64_t started_at)
{
	static int	 seq;
	struct gw_stmt	*st;
	char		 id[32];
	int		 i, row;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "job-%06d", ++seq);
		ck_assert_int_eq(gw_db_prepare(s->db, "INSERT INTO jobs "
		    "(job_id, tenant_id, project_id, job_type, status, "
		    "created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		    &st), GW_OK);
		gw_stmt_bind_text(st, 1, id);
		gw_stmt_bind_text(st, 2, tenant);
		gw_stmt_bind_text(st, 3, project != NULL ? project : "");
		gw_stmt_bind_text(st, 4, type);
		gw_stmt_bind_text(st, 5, status);
		gw_stmt_bind_int(st, 6, NOW - 90000);
		if (started_at != 0)
			gw_stmt_bind_int(st, 7, started_at);
		else
			gw_stmt_bind_text(st, 7, NULL);
		ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
		gw_stmt_reset(st);
	}
}

static const struct gw_quota_change operator = {
	"operator-1", "rebalancing", "OPS-7", NOW
};

static const char *
etag_of(struct gw_store *s, const char *tenant, const char *id)
{
	struct gw_quota_key	 k = { tenant, NULL, id };
	struct gw_quota		 q;
	char			 tag[GW_QUOTA_ETAG_MAX];

	ck_assert_int_eq(gw_store_quota_get(s, arena, &k, &q), GW_OK);
	gw_store_quota_etag(&q, tag);
	return gw_arena_strdup(arena, tag);
}

static int64_t
version_of(struct gw_store *s, const char *id)
{
	struct gw_stmt	*st;
	int64_t		 v = -1;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(s->db, "SELECT version FROM quotas "
	    "WHERE quota_id = ?", &st), GW_OK);
	gw_stmt_bind_text(st, 1, id);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	if (row)
		v = gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	return v;
}

/* ---------------------------------------------------------------- */
/* List and read. */

static struct gw_store *
open_listing(void)
{
	struct gw_store	*s = open_migrated();

	/* jobType ties ("scan") so quotaId breaks the tie. */
	add_quota(s, "q3", "acme", "p1", "scan", 5, 50, 5, 0);
	add_quota(s, "q1", "acme", NULL, "scan", 5, 50, 5, 1);
	add_quota(s, "q2", "acme", "p2", "build", 5, 50, 5, 0);
	add_quota(s, "q5", "acme", "p1", "vex", 5, 50, 5, 1);
	add_quota(s, "q4", "acme", NULL, "vex", 5, 50, 5, 0);
	add_quota(s, "o1", "other", NULL, "build", 5, 50, 5, 0);
	return s;
}

static void
scan(struct gw_store *s, const struct gw_quota_filter *f, int limit,
    char *out, size_t outlen)
{
	struct gw_page	 page;
	struct gw_quota	*rows;
	size_t		 n, i;
	int		 more, pages = 0;

	memset(&page, 0, sizeof(page));
	page.limit = limit;
	*out = '\0';
	do {
		ck_assert_int_eq(gw_store_quotas_list(s, arena, f, &page,
		    &rows, &n, &more), GW_OK);
		ck_assert_uint_le(n, (size_t)limit);
		if (pages++ > 0)
			strncat(out, "|", outlen - strlen(out) - 1);
		for (i = 0; i < n; i++) {
			if (i > 0)
				strncat(out, " ", outlen - strlen(out) - 1);
			strncat(out, rows[i].quota_id,
			    outlen - strlen(out) - 1);
		}
		if (more) {
			page.nkey = 2;
			page.key[0] = rows[n - 1].job_type;
			page.key[1] = rows[n - 1].quota_id;
		}
	} while (more);
}

START_TEST(test_quotas_list_orders_by_job_type_then_id_with_keyset_pages)
{
	static const struct {
		const char	*project, *type;
		int		 paused, limit;
		const char	*want;
	} t[] = {
		{ NULL, NULL, -1, 50, "q2 q1 q3 q4 q5" },
		{ NULL, NULL, -1, 2, "q2 q1|q3 q4|q5" },
		{ NULL, NULL, -1, 1, "q2|q1|q3|q4|q5" },
		{ NULL, NULL, -1, 5, "q2 q1 q3 q4 q5" },
		{ "p1", NULL, -1, 50, "q3 q5" },
		{ "p1", NULL, -1, 1, "q3|q5" },
		{ "p9", NULL, -1, 50, "" },
		{ NULL, "scan", -1, 1, "q1|q3" },
		{ NULL, "nope", -1, 50, "" },
		{ NULL, NULL, 1, 1, "q1|q5" },
		{ NULL, NULL, 0, 2, "q2 q3|q4" },
		{ "p1", "vex", 1, 50, "q5" },
		{ "p1", "scan", 1, 50, "" },
	};
	struct gw_store		*s = open_listing();
	struct gw_quota_filter	 f;
	char			 got[256];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f.tenant = "acme";
		f.project = t[i].project;
		f.job_type = t[i].type;
		f.paused = t[i].paused;
		scan(s, &f, t[i].limit, got, sizeof(got));
		ck_assert_msg(strcmp(got, t[i].want) == 0,
		    "case %zu: got \"%s\", want \"%s\"", i, got, t[i].want);
	}
	f.tenant = "other";
	f.project = f.job_type = NULL;
	f.paused = -1;
	scan(s, &f, 50, got, sizeof(got));
	ck_assert_str_eq(got, "o1");
	gw_store_close(s);
}
END_TEST

START_TEST(test_quotas_list_plan_uses_index_without_sort)
{
	struct gw_store		*s = open_listing();
	struct gw_quota_filter	 f;
	struct gw_stmt		*st;
	const char		*want;
	char			 sql[640], eqp[700], plan[512];
	int			 v, row;

	for (v = 0; v < 16; v++) {
		f.tenant = "acme";
		f.project = v & 1 ? "p1" : NULL;
		f.job_type = v & 2 ? "scan" : NULL;
		f.paused = v & 4 ? 1 : -1;
		gw_store_quotas_sql(&f, v & 8, sql, sizeof(sql));
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
		/* With both project and jobType at most one row can match:
		 * the UNIQUE (tenant_id, project_id, job_type) lookup. */
		if (f.project != NULL && f.job_type != NULL)
			want = "INDEX sqlite_autoindex_quotas_2 (tenant_id=? "
			    "AND project_id=? AND job_type=?)";
		else if (f.project != NULL)
			want = "INDEX quotas_tenant_project_type (";
		else
			want = "INDEX quotas_tenant_type (";
		ck_assert_msg(strstr(plan, want) != NULL, "variant %d: %s", v,
		    plan);
		ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strncmp(plan, "SEARCH ", 7) == 0,
		    "variant %d: %s", v, plan);
	}
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_get_hides_other_tenants_and_projects)
{
	static const struct {
		const char	*tenant, *project, *id;
		enum gw_err	 want;
	} t[] = {
		{ "acme", NULL, "q3", GW_OK },
		{ "acme", "p1", "q3", GW_OK },
		{ "acme", "p2", "q3", GW_ERR_QUOTA_NOT_FOUND },
		{ "acme", "p1", "q1", GW_ERR_QUOTA_NOT_FOUND },
		{ "other", NULL, "q3", GW_ERR_QUOTA_NOT_FOUND },
		{ "acme", NULL, "o1", GW_ERR_QUOTA_NOT_FOUND },
		{ "acme", NULL, "missing", GW_ERR_QUOTA_NOT_FOUND },
	};
	struct gw_store		*s = open_listing();
	struct gw_quota_key	 k;
	struct gw_quota		 q;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		k.tenant = t[i].tenant;
		k.project = t[i].project;
		k.id = t[i].id;
		ck_assert_msg(gw_store_quota_get(s, arena, &k, &q) ==
		    t[i].want, "case %zu", i);
	}
	k.tenant = "acme";
	k.project = NULL;
	k.id = "q1";
	ck_assert_int_eq(gw_store_quota_get(s, arena, &k, &q), GW_OK);
	ck_assert_ptr_null(q.project_id);
	ck_assert_int_eq(q.paused, 1);
	ck_assert_str_eq(q.pause_reason, "maintenance");
	ck_assert_int_eq(q.paused_at, NOW - 7200);
	ck_assert_int_eq(q.version, 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_etag_derives_from_id_and_version)
{
	struct gw_quota	 a, b;
	char		 ta[GW_QUOTA_ETAG_MAX], tb[GW_QUOTA_ETAG_MAX];

	memset(&a, 0, sizeof(a));
	a.quota_id = "q1";
	a.version = 3;
	b = a;
	gw_store_quota_etag(&a, ta);
	gw_store_quota_etag(&b, tb);
	ck_assert_str_eq(ta, tb);
	ck_assert_int_eq(strncmp(ta, "\"q3-", 4), 0);
	ck_assert_uint_eq(strlen(ta), 4 + 16 + 1);
	/* Strong: If-Match compares it strongly and it matches itself. */
	ck_assert_int_eq(gw_etag_match(ta, ta), 1);
	b.version = 4;
	gw_store_quota_etag(&b, tb);
	ck_assert_str_ne(ta, tb);
	ck_assert_str_eq(ta + 4, tb + 4);
	b.version = 3;
	b.quota_id = "q2";
	gw_store_quota_etag(&b, tb);
	ck_assert_str_ne(ta, tb);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Mutations. */

START_TEST(test_quota_create_starts_at_version_1_and_refuses_duplicates)
{
	static const struct {
		const char	*id, *tenant, *project, *type;
		enum gw_err	 want;
	} t[] = {
		{ "n1", "acme", NULL, "scan", GW_OK },
		{ "n2", "acme", NULL, "scan", GW_ERR_QUOTA_EXISTS },
		{ "n3", "acme", "p1", "scan", GW_OK },
		{ "n4", "acme", "p1", "scan", GW_ERR_QUOTA_EXISTS },
		{ "n5", "other", NULL, "scan", GW_OK },
		{ "n6", "acme", NULL, "build", GW_OK },
	};
	struct gw_quota_limits	 lim = { 4, 40, 2 };
	struct gw_store		*s = open_migrated();
	struct gw_quota		 q;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.quota_id = t[i].id;
		q.tenant_id = t[i].tenant;
		q.project_id = t[i].project;
		q.job_type = t[i].type;
		ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
		ck_assert_msg(gw_store_quota_create(s, &q, &lim, &operator) ==
		    t[i].want, "case %zu", i);
		if (t[i].want == GW_OK) {
			ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
			ck_assert_int_eq(q.version, 1);
			ck_assert_int_eq(q.created_at, NOW);
			ck_assert_str_eq(q.updated_by, "operator-1");
		} else
			gw_db_rollback(s->db);
	}
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas"), 4);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'n1' AND project_id = '' AND version = 1 AND "
	    "max_active = 4 AND max_per_hour = 40 AND burst = 2 AND "
	    "paused = 0"), 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_update_honours_if_match_strongly)
{
	static const struct {
		const char	*if_match;	/* @ = the current tag */
		enum gw_err	 want;
	} t[] = {
		{ NULL, GW_OK },
		{ "@", GW_OK },
		{ "*", GW_OK },
		{ "\"x\", @", GW_OK },
		{ "W/@", GW_ERR_PRECONDITION_FAILED },
		{ "\"q1-AAAAAAAAAAAAAAAA\"", GW_ERR_PRECONDITION_FAILED },
		{ "garbage", GW_ERR_PRECONDITION_FAILED },
		{ "", GW_ERR_PRECONDITION_FAILED },
	};
	struct gw_quota_limits	 lim = { 7, 70, 7 };
	struct gw_quota_key	 k = { "acme", NULL, "q1" };
	struct gw_store		*s = open_listing();
	struct gw_quota		 q;
	const char		*tag;
	char			 field[128];
	int64_t			 v;
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = version_of(s, "q1");
		tag = etag_of(s, "acme", "q1");
		if (t[i].if_match != NULL && strchr(t[i].if_match, '@')) {
			snprintf(field, sizeof(field), "%.*s%s",
			    (int)(strchr(t[i].if_match, '@') - t[i].if_match),
			    t[i].if_match, tag);
		} else if (t[i].if_match != NULL)
			snprintf(field, sizeof(field), "%s", t[i].if_match);
		ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
		ck_assert_msg(gw_store_quota_update(s, arena, &k,
		    t[i].if_match != NULL ? field : NULL, &lim, &operator,
		    &q) == t[i].want, "case %zu", i);
		ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
		if (t[i].want == GW_OK) {
			ck_assert_int_eq(version_of(s, "q1"), v + 1);
			ck_assert_int_eq(q.version, v + 1);
			ck_assert_int_eq(q.max_active, 7);
			ck_assert_str_ne(etag_of(s, "acme", "q1"), tag);
		} else {
			/* A stale tag changes nothing. */
			ck_assert_int_eq(version_of(s, "q1"), v);
			ck_assert_str_eq(etag_of(s, "acme", "q1"), tag);
		}
	}
	/* The row holds what the call answered. */
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'q1' AND version = 5 AND max_active = 7 AND "
	    "max_per_hour = 70 AND burst = 7 AND updated_at = 1800000000 AND "
	    "updated_by = 'operator-1' AND paused = 1"), 1);
	/* Another tenant's or project's quota is missing, tag or not. */
	k.tenant = "other";
	ck_assert_int_eq(gw_store_quota_update(s, arena, &k, "*", &lim,
	    &operator, &q), GW_ERR_QUOTA_NOT_FOUND);
	k.tenant = "acme";
	k.project = "p1";
	ck_assert_int_eq(gw_store_quota_update(s, arena, &k, NULL, &lim,
	    &operator, &q), GW_ERR_QUOTA_NOT_FOUND);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_delete_honours_if_match_and_tenancy)
{
	struct gw_quota_key	 k = { "acme", NULL, "q2" };
	struct gw_store		*s = open_listing();
	const char		*tag = etag_of(s, "acme", "q2");

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_quota_delete(s, arena, &k,
	    "\"q9-AAAAAAAAAAAAAAAA\""), GW_ERR_PRECONDITION_FAILED);
	k.project = "p1";
	ck_assert_int_eq(gw_store_quota_delete(s, arena, &k, NULL),
	    GW_ERR_QUOTA_NOT_FOUND);
	k.project = NULL;
	k.tenant = "other";
	ck_assert_int_eq(gw_store_quota_delete(s, arena, &k, NULL),
	    GW_ERR_QUOTA_NOT_FOUND);
	k.tenant = "acme";
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas"), 6);
	ck_assert_int_eq(gw_store_quota_delete(s, arena, &k, tag), GW_OK);
	ck_assert_int_eq(gw_store_quota_delete(s, arena, &k, tag),
	    GW_ERR_QUOTA_NOT_FOUND);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas"), 5);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'q2'"), 0);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_pause_resume_and_noops_write_nothing)
{
	struct gw_quota_change	 anon = {
		"operator-2", "back", NULL, NOW + 60
	};
	struct gw_quota_key	 k = { "acme", NULL, "q4" };
	struct gw_store		*s = open_listing();
	struct gw_quota		 q;
	int			 changed;

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	/* Resuming a running quota: no change, no new version. */
	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 0, &operator, &q,
	    &changed), GW_OK);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(q.version, 1);
	ck_assert_int_eq(q.paused, 0);

	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 1, &operator, &q,
	    &changed), GW_OK);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(q.version, 2);
	ck_assert_int_eq(q.paused, 1);
	ck_assert_str_eq(q.pause_reason, "rebalancing");
	ck_assert_str_eq(q.pause_ticket, "OPS-7");
	ck_assert_str_eq(q.paused_by, "operator-1");
	ck_assert_int_eq(q.paused_at, NOW);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'q4' AND paused = 1 AND pause_reason = 'rebalancing' "
	    "AND pause_ticket = 'OPS-7' AND paused_at = 1800000000 AND "
	    "paused_by = 'operator-1' AND version = 2"), 1);

	/* Pausing a paused quota keeps the first pause's fields. */
	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 1, &anon, &q,
	    &changed), GW_OK);
	ck_assert_int_eq(changed, 0);
	ck_assert_int_eq(q.version, 2);
	ck_assert_str_eq(q.pause_reason, "rebalancing");

	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 0, &anon, &q,
	    &changed), GW_OK);
	ck_assert_int_eq(changed, 1);
	ck_assert_int_eq(q.version, 3);
	ck_assert_int_eq(q.paused, 0);
	ck_assert_ptr_null(q.pause_reason);
	ck_assert_ptr_null(q.pause_ticket);
	ck_assert_ptr_null(q.paused_by);
	ck_assert_int_eq(q.paused_at, 0);
	ck_assert_str_eq(q.updated_by, "operator-2");
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'q4' AND paused = 0 AND pause_reason IS NULL AND "
	    "pause_ticket IS NULL AND paused_at IS NULL AND paused_by IS NULL "
	    "AND version = 3 AND updated_by = 'operator-2'"), 1);

	k.tenant = "other";
	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 1, &operator, &q,
	    &changed), GW_ERR_QUOTA_NOT_FOUND);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_mutation_rolled_back_leaves_nothing)
{
	struct gw_quota_limits	 lim = { 9, 90, 9 };
	struct gw_quota_key	 k = { "acme", NULL, "q4" };
	struct gw_store		*s = open_listing();
	struct gw_quota		 q;
	int			 changed;

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_quota_update(s, arena, &k, NULL, &lim,
	    &operator, &q), GW_OK);
	ck_assert_int_eq(gw_store_quota_pause(s, arena, &k, 1, &operator, &q,
	    &changed), GW_OK);
	ck_assert_int_eq(q.version, 3);
	gw_db_rollback(s->db);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM quotas WHERE "
	    "quota_id = 'q4' AND version = 1 AND paused = 0 AND "
	    "max_active = 5"), 1);
	gw_store_close(s);
}
END_TEST

/*
 * Writers in separate processes, released together, each in its own
 * write transaction as the pipeline runs them.  With the same If-Match
 * exactly one wins; without one, every write lands, one version each.
 */
static void
race(int conditional, int nproc, int *won, int *failed)
{
	struct gw_quota_limits	 lim = { 6, 60, 6 };
	struct gw_quota_key	 k = { "acme", NULL, "q4" };
	struct gw_store		*s;
	struct gw_quota		 q;
	const char		*tag;
	pid_t			 pid[32];
	char			 go;
	int			 fds[2], i, status;
	enum gw_err		 e;

	s = open_store();
	tag = etag_of(s, "acme", "q4");
	gw_store_close(s);
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < nproc; i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] != 0)
			continue;
		close(fds[1]);
		s = open_store();
		if (read(fds[0], &go, 1) != 0)
			_exit(3);
		if (gw_db_begin(s->db, 1) != GW_OK)
			_exit(3);
		e = gw_store_quota_update(s, arena, &k,
		    conditional ? tag : NULL, &lim, &operator, &q);
		if (e == GW_OK && gw_db_commit(s->db) != GW_OK)
			_exit(3);
		if (e != GW_OK)
			gw_db_rollback(s->db);
		gw_store_close(s);
		_exit(e == GW_OK ? 0 : e == GW_ERR_PRECONDITION_FAILED ? 1 :
		    2);
	}
	close(fds[0]);
	close(fds[1]);	/* EOF: go */
	*won = *failed = 0;
	for (i = 0; i < nproc; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0)
			(*won)++;
		else if (WEXITSTATUS(status) == 1)
			(*failed)++;
	}
}

START_TEST(test_quota_racing_operators_one_write_wins_per_version)
{
	struct gw_store	*s = open_listing();
	int		 won, failed;

	gw_store_close(s);
	race(1, 8, &won, &failed);
	ck_assert_int_eq(won, 1);
	ck_assert_int_eq(failed, 7);
	s = open_store();
	ck_assert_int_eq(version_of(s, "q4"), 2);
	gw_store_close(s);

	race(0, 8, &won, &failed);
	ck_assert_int_eq(won, 8);
	s = open_store();
	ck_assert_int_eq(version_of(s, "q4"), 10);
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The summary (SPEC §10), against figures worked out by hand. */

static struct gw_store *
open_loaded(void)
{
	struct gw_store	*s = open_migrated();
	int64_t		 recent = NOW - 600, old = NOW - 7200;

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	/* normal: active 3 of 10 (0.3), queued 3, admitted 5 of 100. */
	add_quota(s, "qa", "acme", NULL, "a.normal", 10, 100, 10, 0);
	add_jobs(s, "acme", NULL, "a.normal", "running", 2, recent);
	add_jobs(s, "acme", "p1", "a.normal", "leased", 1, recent);
	add_jobs(s, "acme", NULL, "a.normal", "pending", 2, 0);
	add_jobs(s, "acme", "p2", "a.normal", "scheduled", 1, 0);
	add_jobs(s, "acme", NULL, "a.normal", "succeeded", 2, recent);
	add_jobs(s, "acme", NULL, "a.normal", "succeeded", 1, old);
	add_jobs(s, "other", NULL, "a.normal", "running", 9, recent);
	/* elevated by utilization: 4 of 5 in p1; p2's jobs are not its. */
	add_quota(s, "qb", "acme", "p1", "b.util", 5, 1000, 5, 0);
	add_jobs(s, "acme", "p1", "b.util", "running", 4, recent);
	add_jobs(s, "acme", "p2", "b.util", "running", 3, recent);
	/* elevated by the queue: 3 queued > maxActive 2, 1 active. */
	add_quota(s, "qc", "acme", NULL, "c.queue", 2, 50, 2, 0);
	add_jobs(s, "acme", NULL, "c.queue", "running", 1, old);
	add_jobs(s, "acme", "p1", "c.queue", "pending", 3, 0);
	/* saturated by active: 3 of 3 over two projects. */
	add_quota(s, "qd", "acme", NULL, "d.active", 3, 100, 3, 0);
	add_jobs(s, "acme", "p1", "d.active", "running", 2, old);
	add_jobs(s, "acme", "p2", "d.active", "leased", 1, old);
	/* saturated by tokens: 4 admitted of maxPerHour 4, none active;
	 * the start exactly an hour ago is outside the window. */
	add_quota(s, "qe", "acme", NULL, "e.tokens", 10, 4, 4, 0);
	add_jobs(s, "acme", NULL, "e.tokens", "succeeded", 3, recent);
	add_jobs(s, "acme", NULL, "e.tokens", "failed", 1, NOW - 3599);
	add_jobs(s, "acme", NULL, "e.tokens", "failed", 1, NOW - 3600);
	/* paused, whatever the load: 5 running of 1. */
	add_quota(s, "qf", "acme", NULL, "f.paused", 1, 10, 1, 1);
	add_jobs(s, "acme", NULL, "f.paused", "running", 5, recent);
	/* burst caps the tokens: min(3, 10 - 8) = 2, normal. */
	add_quota(s, "qg", "acme", NULL, "g.burst", 10, 10, 3, 0);
	add_jobs(s, "acme", NULL, "g.burst", "succeeded", 8, recent);
	/* elevated exactly at 0.8 and not below: 7999 of 10000 is normal. */
	add_quota(s, "qh", "acme", "p1", "h.edge", 5, 100, 5, 0);
	add_jobs(s, "acme", "p1", "h.edge", "leased", 3, old);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	return s;
}

START_TEST(test_quota_summary_figures_at_each_backpressure_level)
{
	static const struct {
		const char	*id;
		int64_t		 active, queued, admitted, tokens;
		const char	*pressure;
	} want[] = {
		{ "qa", 3, 3, 5, 10, "normal" },
		{ "qb", 4, 0, 4, 5, "elevated" },
		{ "qc", 1, 3, 0, 2, "elevated" },
		{ "qd", 3, 0, 0, 3, "saturated" },
		{ "qe", 0, 0, 4, 0, "saturated" },
		{ "qf", 5, 0, 5, 1, "paused" },
		{ "qg", 0, 0, 8, 2, "normal" },
		{ "qh", 3, 0, 0, 5, "normal" },
	};
	struct gw_store		*s = open_loaded();
	struct gw_quota_load	*rows;
	size_t			 i, n;

	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", NULL, NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(rows[i].q.quota_id, want[i].id);
		ck_assert_msg(rows[i].active == want[i].active &&
		    rows[i].queued == want[i].queued &&
		    rows[i].admitted_last_hour == want[i].admitted &&
		    rows[i].tokens_available == want[i].tokens &&
		    strcmp(rows[i].backpressure, want[i].pressure) == 0,
		    "%s: active %lld queued %lld admitted %lld tokens %lld %s",
		    want[i].id, (long long)rows[i].active,
		    (long long)rows[i].queued,
		    (long long)rows[i].admitted_last_hour,
		    (long long)rows[i].tokens_available, rows[i].backpressure);
	}
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_summary_elevated_from_exactly_four_fifths)
{
	struct gw_store		*s = open_loaded();
	struct gw_quota_load	*rows;
	size_t			 n;

	/* qh: 3 of 5 is normal; a fourth makes 0.8: elevated. */
	add_jobs(s, "acme", "p1", "h.edge", "running", 1, NOW - 10);
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", "p1", NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[1].q.quota_id, "qh");
	ck_assert_int_eq(rows[1].active, 4);
	ck_assert_str_eq(rows[1].backpressure, "elevated");
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_summary_honours_project_and_tenant)
{
	struct gw_store		*s = open_loaded();
	struct gw_quota_load	*rows;
	size_t			 n;

	/* With X-Stella-Project p1: only p1's quotas, p1's jobs. */
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", "p1", NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].q.quota_id, "qb");
	ck_assert_int_eq(rows[0].active, 4);
	ck_assert_str_eq(rows[1].q.quota_id, "qh");
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", "p9", NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "other", NULL, NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 0);
	gw_store_close(s);
}
END_TEST

START_TEST(test_quota_summary_follows_job_changes)
{
	struct gw_store		*s = open_loaded();
	struct gw_quota_load	*rows;
	size_t			 n;

	/* qd drops below capacity when one job finishes. */
	ck_assert_int_eq(gw_db_exec(s->db, "UPDATE jobs SET status = "
	    "'succeeded' WHERE job_type = 'd.active' AND status = 'leased'"),
	    GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "DELETE FROM jobs WHERE job_type "
	    "= 'a.normal' AND status = 'pending'"), GW_OK);
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", NULL, NOW,
	    &rows, &n), GW_OK);
	ck_assert_str_eq(rows[0].q.quota_id, "qa");
	ck_assert_int_eq(rows[0].queued, 1);
	ck_assert_str_eq(rows[3].q.quota_id, "qd");
	ck_assert_int_eq(rows[3].active, 2);
	ck_assert_str_eq(rows[3].backpressure, "normal");
	gw_store_close(s);
}
END_TEST

/*
 * Admitted counts are fetched for 16 job types per statement: 37 quotas
 * over 35 types, with and without projects, each get their own count.
 */
START_TEST(test_quota_summary_admitted_over_many_job_types)
{
	struct gw_store		*s = open_migrated();
	struct gw_quota_load	*rows;
	char			 id[16], type[16];
	size_t			 i, n;

	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	for (i = 0; i < 35; i++) {
		snprintf(id, sizeof(id), "q%02zu", i);
		snprintf(type, sizeof(type), "t.%02zu", i);
		add_quota(s, id, "acme", NULL, type, 100, 1000, 10, 0);
		/* i recent starts, one old one, and i in another project. */
		add_jobs(s, "acme", NULL, type, "succeeded", (int)i, NOW - 60);
		add_jobs(s, "acme", NULL, type, "succeeded", 1, NOW - 4000);
		add_jobs(s, "acme", "p1", type, "running", (int)i, NOW - 60);
	}
	add_quota(s, "r1", "acme", "p1", "t.03", 100, 1000, 10, 0);
	add_quota(s, "r2", "acme", "p1", "t.33", 100, 1000, 10, 0);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);

	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", NULL, NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 37);
	for (i = 0; i < n; i++) {
		const struct gw_quota	*q = &rows[i].q;
		int64_t			 k = atoi(q->job_type + 2);

		ck_assert_msg(rows[i].admitted_last_hour ==
		    (q->project_id == NULL ? 2 * k : k), "%s: %lld",
		    q->quota_id, (long long)rows[i].admitted_last_hour);
	}
	ck_assert_int_eq(gw_store_quota_summary(s, arena, "acme", "p1", NOW,
	    &rows, &n), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(rows[0].admitted_last_hour, 3);
	ck_assert_int_eq(rows[1].admitted_last_hour, 33);
	gw_store_close(s);
}
END_TEST

/* The summary's queries are index searches, never a scan of jobs. */
START_TEST(test_quota_summary_plans_read_indexes_not_jobs)
{
	const struct {
		const char	*sql, *want;
	} t[] = {
		{ gw_store_quota_admitted_sql[0],
		  "SEARCH jobs USING COVERING INDEX jobs_tenant_type_started "
		  "(tenant_id=? AND job_type=? AND started_at>?)" },
		{ gw_store_quota_admitted_sql[1],
		  "SEARCH jobs USING COVERING INDEX "
		  "jobs_tenant_type_project_started (tenant_id=? AND "
		  "job_type=? AND project_id=? AND started_at>?)" },
		{ "SELECT job_type, project_id, status, n FROM job_counts "
		  "WHERE tenant_id = ? AND status IN ('pending', 'scheduled', "
		  "'leased', 'running')",
		  "SEARCH job_counts USING INDEX sqlite_autoindex_job_counts_1 "
		  "(tenant_id=?)" },
	};
	struct gw_store	*s = open_loaded();
	struct gw_stmt	*st;
	char		 eqp[400], plan[400];
	size_t		 i;
	int		 row;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", t[i].sql);
		ck_assert_int_eq(gw_db_prepare(s->db, eqp, &st), GW_OK);
		ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
		ck_assert_int_eq(row, 1);
		snprintf(plan, sizeof(plan), "%s", gw_stmt_text(st, 3));
		gw_stmt_reset(st);
		ck_assert_str_eq(plan, t[i].want);
	}
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Bodies (gw_body.c). */

static const struct gw_bmember filter_body[] = {
	{ "category", GW_B_TEXT, 0, 1, 8, NULL },
	{ "failedBefore", GW_B_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct gw_bmember test_body[] = {
	{ "jobType", GW_B_JOB_TYPE, GW_B_REQUIRED, 0, 0, NULL },
	{ "maxActive", GW_B_INT, GW_B_REQUIRED, 1, 100000, NULL },
	{ "force", GW_B_BOOL, 0, 0, 0, NULL },
	{ "note", GW_B_TEXT, GW_B_NULLABLE, 1, 8, NULL },
	{ "entryIds", GW_B_IDS, 0, 1, 3, NULL },
	{ "filter", GW_B_OBJECT, 0, 0, 0, filter_body },
	{ "sourceId", GW_B_ID, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

/* The details of a refused body, "pointer: message" joined by "; ". */
static enum gw_err
body(const char *text, struct gw_bval *v, char *details, size_t len)
{
	static char		*envp[] = { NULL };
	struct gw_req		 req;
	struct gw_detail	*d;
	char			 err[128];
	enum gw_err		 e;

	gw_req_init(&req, NULL, arena, envp, NULL, NULL);
	if (text != NULL) {
		req.json = gw_json_parse_object(text, strlen(text), err,
		    sizeof(err));
		ck_assert_msg(req.json != NULL, "%s: %s", text, err);
	}
	e = gw_body_check(&req, test_body, v);
	*details = '\0';
	for (d = req.details; d != NULL; d = d->next) {
		if (*details != '\0')
			strncat(details, "; ", len - strlen(details) - 1);
		strncat(details, d->pointer, len - strlen(details) - 1);
		strncat(details, ": ", len - strlen(details) - 1);
		strncat(details, d->message, len - strlen(details) - 1);
	}
	gw_req_cleanup(&req);
	return e;
}

START_TEST(test_body_types_are_checked_never_coerced)
{
	static const struct {
		const char	*text, *details;
	} t[] = {
		{ "{\"jobType\":\"scan\",\"maxActive\":\"5\"}",
		  "/maxActive: must be an integer" },
		{ "{\"jobType\":\"scan\",\"maxActive\":5.0}",
		  "/maxActive: must be an integer" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1e2}",
		  "/maxActive: must be an integer" },
		{ "{\"jobType\":\"scan\",\"maxActive\":true}",
		  "/maxActive: must be an integer" },
		{ "{\"jobType\":\"scan\",\"maxActive\":null}",
		  "/maxActive: must be an integer" },
		{ "{\"jobType\":\"scan\",\"maxActive\":0}",
		  "/maxActive: must be an integer from 1 to 100000" },
		{ "{\"jobType\":\"scan\",\"maxActive\":100001}",
		  "/maxActive: must be an integer from 1 to 100000" },
		{ "{\"jobType\":\"scan\",\"maxActive\":"
		  "99999999999999999999999}",
		  "/maxActive: must be an integer from 1 to 100000" },
		{ "{\"jobType\":\"Scan\",\"maxActive\":1}",
		  "/jobType: must match [a-z0-9][a-z0-9._-]{0,63}" },
		{ "{\"jobType\":\".scan\",\"maxActive\":1}",
		  "/jobType: must match [a-z0-9][a-z0-9._-]{0,63}" },
		{ "{\"jobType\":5,\"maxActive\":1}",
		  "/jobType: must be a string" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"force\":1}",
		  "/force: must be true or false" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"force\":\"true\"}",
		  "/force: must be true or false" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"note\":\"\"}",
		  "/note: must be 1 to 8 bytes without control characters" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"note\":\"a\\nb\"}",
		  "/note: must be 1 to 8 bytes without control characters" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,"
		  "\"note\":\"a\\u0000\"}",
		  "/note: must not contain NUL" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"sourceId\":\"a b\"}",
		  "/sourceId: must be 1-128 characters of [A-Za-z0-9._:-]" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"entryIds\":[]}",
		  "/entryIds: must hold 1 to 3 ids" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"entryIds\":"
		  "[\"a\",\"b\",\"a\"]}",
		  "/entryIds: item 2 repeats item 0" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"entryIds\":[1]}",
		  "/entryIds: item 0 must be 1-128 characters of "
		  "[A-Za-z0-9._:-]" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"filter\":[]}",
		  "/filter: must be an object" },
		{ "{\"jobType\":\"scan\",\"maxActive\":1,\"filter\":"
		  "{\"failedBefore\":\"2026-11-27\",\"x\":1}}",
		  "/filter/failedBefore: must be an RFC 3339 UTC time such as "
		  "2026-11-27T09:58:45Z; /filter/x: unknown member" },
		{ "{}", "/jobType: required member missing; "
		  "/maxActive: required member missing" },
		{ NULL, "/jobType: required member missing; "
		  "/maxActive: required member missing" },
		{ "{\"maxActive\":\"1\",\"a/b~c\":1,\"jobType\":\"s\",\"z\":2}",
		  "/maxActive: must be an integer; /a~1b~0c: unknown member; "
		  "/z: unknown member" },
	};
	struct gw_bval	 v[8];
	char		 got[512];
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(body(t[i].text, v, got, sizeof(got)) ==
		    GW_ERR_INVALID_BODY, "case %zu", i);
		ck_assert_msg(strcmp(got, t[i].details) == 0,
		    "case %zu: got \"%s\", want \"%s\"", i, got,
		    t[i].details);
	}
}
END_TEST

START_TEST(test_body_good_values_are_read)
{
	struct gw_bval	 v[8];
	char		 got[256];

	ck_assert_int_eq(body("{\"entryIds\":[\"e1\",\"e2\"],\"force\":true,"
	    "\"maxActive\":100000,\"jobType\":\"scan.image_v2-x\","
	    "\"note\":null,\"filter\":{\"category\":\"net\","
	    "\"failedBefore\":\"2026-11-27T09:58:45Z\"},\"sourceId\":\"s:1\"}",
	    v, got, sizeof(got)), GW_OK);
	ck_assert_str_eq(got, "");
	ck_assert_str_eq(v[0].s, "scan.image_v2-x");
	ck_assert_int_eq(v[1].i, 100000);
	ck_assert_int_eq(v[2].present, 1);
	ck_assert_int_eq(v[2].i, 1);
	ck_assert_int_eq(v[3].present, 0);
	ck_assert_uint_eq(v[4].nids, 2);
	ck_assert_str_eq(v[4].ids[1], "e2");
	ck_assert_ptr_null(v[4].ids[2]);
	ck_assert_str_eq(v[5].sub[0].s, "net");
	ck_assert_int_eq(v[5].sub[1].i, 1795773525);
	ck_assert_str_eq(v[6].s, "s:1");
	ck_assert_int_eq(body("{\"jobType\":\"a\",\"maxActive\":1}", v, got,
	    sizeof(got)), GW_OK);
	ck_assert_int_eq(v[2].present, 0);
	ck_assert_int_eq(v[5].present, 0);
}
END_TEST

START_TEST(test_job_type_syntax)
{
	static const struct {
		const char	*s;
		int		 ok;
	} t[] = {
		{ "a", 1 }, { "0", 1 }, { "scan.image", 1 }, { "a_b-c.d", 1 },
		{ "", 0 }, { "A", 0 }, { "-a", 0 }, { "_a", 0 }, { ".a", 0 },
		{ "a b", 0 }, { "a/b", 0 }, { "\xc3\xa9", 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaa", 1 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaa", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(gw_body_valid_job_type(t[i].s) == t[i].ok,
		    "case %zu", i);
}
END_TEST

static Suite *
quotas_suite(void)
{
	Suite	*s = suite_create("quotas");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
	    test_quotas_list_orders_by_job_type_then_id_with_keyset_pages);
	tcase_add_test(tc, test_quota_get_hides_other_tenants_and_projects);
	tcase_add_test(tc, test_quota_etag_derives_from_id_and_version);
	tcase_add_test(tc,
	    test_quota_create_starts_at_version_1_and_refuses_duplicates);
	tcase_add_test(tc, test_quota_update_honours_if_match_strongly);
	tcase_add_test(tc, test_quota_delete_honours_if_match_and_tenancy);
	tcase_add_test(tc, test_quota_pause_resume_and_noops_write_nothing);
	tcase_add_test(tc, test_quota_mutation_rolled_back_leaves_nothing);
	tcase_add_test(tc,
	    test_quota_racing_operators_one_write_wins_per_version);
	tcase_add_test(tc,
	    test_quota_summary_figures_at_each_backpressure_level);
	tcase_add_test(tc,
	    test_quota_summary_elevated_from_exactly_four_fifths);
	tcase_add_test(tc, test_quota_summary_honours_project_and_tenant);
	tcase_add_test(tc, test_quota_summary_follows_job_changes);
	tcase_add_test(tc, test_quota_summary_admitted_over_many_job_types);
	tcase_add_test(tc, test_body_types_are_checked_never_coerced);
	tcase_add_test(tc, test_body_good_values_are_read);
	tcase_add_test(tc, test_job_type_syntax);
	suite_add_tcase(s, tc);

	/* Query plans: SQLite's EXPLAIN QUERY PLAN. */
	if (!test_on_pg()) {
		tc = tcase_create("sqlite");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc,
		    test_quotas_list_plan_uses_index_without_sort);
		tcase_add_test(tc,
		    test_quota_summary_plans_read_indexes_not_jobs);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(quotas_suite());
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
