/*
 * check_packruns.c: pack runs (SPEC §10: cancel, retry, list, detail) and
 * the audit listing (SPEC §11) over SQLite.  Every test runs on a fresh
 * database file in its own temporary directory.
 */
#include <sys/wait.h>

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

static const char *const statuses[] = {
	"pending", "scheduled", "running", "succeeded", "failed", "canceled",
	"timed_out",
};
#define NSTATUS	(sizeof(statuses) / sizeof(statuses[0]))

static void
setup(void)
{
	memset(&conf, 0, sizeof(conf));
	conf.busy_timeout_ms = 10000;
	pg = test_store_begin(&conf, "check_packruns");
	arena = gw_arena_new();
}

static void
teardown(void)
{
	test_store_end();
	gw_arena_free(arena);
}

/* strlcat(3) is not in glibc 2.36. */
static void
append(char *dst, const char *src, size_t len)
{
	size_t	 n = strlen(dst);

	snprintf(dst + n, len - n, "%s", src);
}

static struct gw_store *
open_migrated(void)
{
	struct gw_db	*db;
	struct gw_store	*s;
	char		 err[256];
	int		 from, to;

	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	gw_db_close(db);
	ck_assert_int_eq(gw_store_open(&conf, &s, err, sizeof(err)), GW_OK);
	return s;
}

/* A pack run as the Orchestrator writes it: finished ones have a reason
 * and finishedAt, canceled ones a canceledBy. */
static enum gw_err
add_run(struct gw_db *db, const char *id, const char *tenant,
    const char *project, const char *pack, const char *status,
    int64_t created, const char *retry_of, int attempt)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row, done = strcmp(status, "pending") != 0 &&
			    strcmp(status, "scheduled") != 0 &&
			    strcmp(status, "running") != 0;

	ck_assert_int_eq(gw_db_prepare(db, "INSERT INTO pack_runs "
	    "(pack_run_id, tenant_id, project_id, pack_id, pack_version, "
	    "status, attempt, retry_of, reason, created_at, started_at, "
	    "finished_at, updated_at, canceled_by) VALUES (?, ?, ?, ?, "
	    "'1.0.0', ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st), GW_OK);
	gw_stmt_bind_text(st, 1, id);
	gw_stmt_bind_text(st, 2, tenant);
	gw_stmt_bind_text(st, 3, project != NULL ? project : "");
	gw_stmt_bind_text(st, 4, pack);
	gw_stmt_bind_text(st, 5, status);
	gw_stmt_bind_int(st, 6, attempt);
	gw_stmt_bind_text(st, 7, retry_of);
	gw_stmt_bind_text(st, 8, done ? "earlier" : NULL);
	gw_stmt_bind_int(st, 9, created);
	gw_stmt_bind_int(st, 10, created + 10);
	if (done)
		gw_stmt_bind_int(st, 11, created + 20);
	gw_stmt_bind_int(st, 12, created + 20);
	gw_stmt_bind_text(st, 13, strcmp(status, "canceled") == 0 ?
	    "someone" : NULL);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	return e;
}

static struct gw_packrun
get(struct gw_store *s, const char *id)
{
	struct gw_packrun	r;

	ck_assert_int_eq(gw_store_packrun_get(s, arena, "acme", NULL, id, &r),
	    GW_OK);
	return r;
}

/* ---------------------------------------------------------------- */
/* Cancel and retry: every status, both actions. */

START_TEST(test_cancel_from_every_status)
{
	static const struct {
		enum gw_err	 err;
		int		 changed;
	} want[NSTATUS] = {
		{ GW_OK, 1 },				/* pending */
		{ GW_OK, 1 },				/* scheduled */
		{ GW_OK, 1 },				/* running */
		{ GW_ERR_PACKRUN_TERMINAL, 0 },		/* succeeded */
		{ GW_ERR_PACKRUN_TERMINAL, 0 },		/* failed */
		{ GW_OK, 0 },				/* canceled */
		{ GW_ERR_PACKRUN_TERMINAL, 0 },		/* timed_out */
	};
	struct gw_store		*s = open_migrated();
	struct gw_packrun	 r, after;
	char			 id[16];
	size_t			 i;
	int			 changed;

	for (i = 0; i < NSTATUS; i++) {
		snprintf(id, sizeof(id), "pr-%zu", i);
		ck_assert_int_eq(add_run(s->db, id, "acme", NULL, "p",
		    statuses[i], 1000, NULL, 1), GW_OK);
		ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
		ck_assert_msg(gw_store_packrun_cancel(s, arena, "acme", NULL,
		    id, "op-1", 5000, &r, &changed) == want[i].err,
		    "cancel from %s", statuses[i]);
		ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
		after = get(s, id);
		if (want[i].changed) {
			ck_assert_int_eq(changed, 1);
			ck_assert_str_eq(r.status, "canceled");
			ck_assert_str_eq(r.reason, "user_cancelled");
			ck_assert_str_eq(r.canceled_by, "op-1");
			ck_assert_int_eq(r.finished_at, 5000);
			ck_assert_int_eq(r.updated_at, 5000);
			ck_assert_int_eq(r.started_at, 1010);
			ck_assert_int_eq(r.created_at, 1000);
			ck_assert_str_eq(after.status, "canceled");
			ck_assert_int_eq(after.finished_at, 5000);
		} else {
			/* Unchanged, whether answered 200 or 409. */
			ck_assert_str_eq(after.status, statuses[i]);
			ck_assert_int_eq(after.finished_at, 1020);
			ck_assert_int_eq(after.updated_at, 1020);
			ck_assert_str_eq(after.reason, "earlier");
			if (want[i].err == GW_OK) {
				ck_assert_int_eq(changed, 0);
				ck_assert_str_eq(r.canceled_by, "someone");
				ck_assert_int_eq(r.finished_at, 1020);
			}
		}
	}
	gw_store_close(s);
}
END_TEST

START_TEST(test_retry_from_every_status)
{
	static const enum gw_err want[NSTATUS] = {
		GW_ERR_PACKRUN_NOT_RETRYABLE,	/* pending */
		GW_ERR_PACKRUN_NOT_RETRYABLE,	/* scheduled */
		GW_ERR_PACKRUN_NOT_RETRYABLE,	/* running */
		GW_ERR_PACKRUN_NOT_RETRYABLE,	/* succeeded */
		GW_OK,				/* failed */
		GW_OK,				/* canceled */
		GW_OK,				/* timed_out */
	};
	struct gw_store		*s = open_migrated();
	struct gw_packrun	 r, orig, stored;
	char			 id[16];
	size_t			 i;

	for (i = 0; i < NSTATUS; i++) {
		snprintf(id, sizeof(id), "pr-%zu", i);
		ck_assert_int_eq(add_run(s->db, id, "acme", "alpha", "p",
		    statuses[i], 1000, NULL, 3), GW_OK);
		ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
		ck_assert_msg(gw_store_packrun_retry(s, arena, "acme", NULL,
		    id, 5000, &r) == want[i], "retry from %s", statuses[i]);
		ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
		orig = get(s, id);
		ck_assert_str_eq(orig.status, statuses[i]);
		ck_assert_int_eq(orig.updated_at, 1020);
		if (want[i] != GW_OK)
			continue;
		ck_assert_int_eq(strlen(r.pack_run_id), 36);
		ck_assert_int_eq(r.pack_run_id[14], '7');	/* UUIDv7 */
		stored = get(s, r.pack_run_id);
		ck_assert_str_eq(stored.status, "pending");
		ck_assert_int_eq(stored.attempt, 4);
		ck_assert_str_eq(stored.retry_of, id);
		ck_assert_str_eq(stored.project_id, "alpha");
		ck_assert_str_eq(stored.pack_id, "p");
		ck_assert_str_eq(stored.pack_version, "1.0.0");
		ck_assert_ptr_null(stored.reason);
		ck_assert_ptr_null(stored.canceled_by);
		ck_assert_int_eq(stored.created_at, 5000);
		ck_assert_int_eq(stored.updated_at, 5000);
		ck_assert_int_eq(stored.started_at, 0);
		ck_assert_int_eq(stored.finished_at, 0);
		/* What the handler answers is what was stored. */
		ck_assert_str_eq(r.status, stored.status);
		ck_assert_int_eq(r.attempt, stored.attempt);
		ck_assert_str_eq(r.retry_of, stored.retry_of);
		ck_assert_str_eq(r.project_id, stored.project_id);
	}
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM pack_runs"),
	    NSTATUS + 3);
	gw_store_close(s);
}
END_TEST

START_TEST(test_retry_while_a_retry_is_live_is_in_progress)
{
	static const struct {
		const char	*retry_status;
		enum gw_err	 want;
	} t[] = {
		{ "pending", GW_ERR_PACKRUN_RETRY_IN_PROGRESS },
		{ "scheduled", GW_ERR_PACKRUN_RETRY_IN_PROGRESS },
		{ "running", GW_ERR_PACKRUN_RETRY_IN_PROGRESS },
		{ "succeeded", GW_OK },
		{ "failed", GW_OK },
		{ "canceled", GW_OK },
		{ "timed_out", GW_OK },
	};
	struct gw_store		*s = open_migrated();
	struct gw_packrun	 r;
	char			 id[16], rid[16];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(id, sizeof(id), "orig-%zu", i);
		snprintf(rid, sizeof(rid), "retry-%zu", i);
		ck_assert_int_eq(add_run(s->db, id, "acme", NULL, "p",
		    "failed", 1000, NULL, 1), GW_OK);
		ck_assert_int_eq(add_run(s->db, rid, "acme", NULL, "p",
		    t[i].retry_status, 2000, id, 2), GW_OK);
		ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
		ck_assert_msg(gw_store_packrun_retry(s, arena, "acme", NULL,
		    id, 5000, &r) == t[i].want, "retry of %s",
		    t[i].retry_status);
		ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	}
	/* One retry, then the same request again by mistake. */
	ck_assert_int_eq(add_run(s->db, "twice", "acme", NULL, "p",
	    "timed_out", 1000, NULL, 1), GW_OK);
	ck_assert_int_eq(gw_db_begin(s->db, 1), GW_OK);
	ck_assert_int_eq(gw_store_packrun_retry(s, arena, "acme", NULL,
	    "twice", 5000, &r), GW_OK);
	ck_assert_int_eq(gw_store_packrun_retry(s, arena, "acme", NULL,
	    "twice", 5000, &r), GW_ERR_PACKRUN_RETRY_IN_PROGRESS);
	ck_assert_int_eq(gw_db_commit(s->db), GW_OK);
	ck_assert_int_eq(test_count(s->db, "SELECT count(*) FROM pack_runs "
	    "WHERE retry_of = 'twice'"), 1);
	gw_store_close(s);
}
END_TEST

/* The index, not the handler's reading, keeps it: a direct writer (the
 * Orchestrator) cannot make two live retries of one run either. */
START_TEST(test_live_retry_index_refuses_a_second_live_retry)
{
	struct gw_store	*s = open_migrated();

	ck_assert_int_eq(add_run(s->db, "o", "acme", NULL, "p", "failed", 1,
	    NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "r1", "acme", NULL, "p", "running",
	    2, "o", 2), GW_OK);
	ck_assert_int_eq(add_run(s->db, "r2", "acme", NULL, "p", "pending",
	    3, "o", 2), GW_ERR_CONFLICT);
	ck_assert_int_eq(add_run(s->db, "r3", "acme", NULL, "p", "failed",
	    3, "o", 2), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "UPDATE pack_runs SET status = "
	    "'failed' WHERE pack_run_id = 'r1'"), GW_OK);
	ck_assert_int_eq(add_run(s->db, "r4", "acme", NULL, "p", "pending",
	    4, "o", 2), GW_OK);
	ck_assert_int_eq(gw_db_exec(s->db, "UPDATE pack_runs SET status = "
	    "'scheduled' WHERE pack_run_id = 'r3'"), GW_ERR_CONFLICT);
	gw_store_close(s);
}
END_TEST

/*
 * Eight processes retry one run at the same instant, each with its own
 * connection and transaction, as eight FastCGI processes would: exactly
 * one new run, seven RETRY_IN_PROGRESS.
 */
START_TEST(test_concurrent_retries_from_eight_processes_start_one)
{
	struct gw_store	*s = open_migrated();
	pid_t		 pid[8];
	int		 go[2], i, status, created = 0, refused = 0;
	char		 c;

	ck_assert_int_eq(add_run(s->db, "o", "acme", NULL, "p", "canceled",
	    1, NULL, 1), GW_OK);
	/* No SQLite connection may cross a fork (sqlite.org/howtocorrupt). */
	gw_store_close(s);
	ck_assert_int_eq(pipe(go), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_ne(pid[i] = fork(), -1);
		if (pid[i] == 0) {
			struct gw_store		*cs;
			struct gw_arena		*a = gw_arena_new();
			struct gw_packrun	 r;
			char			 err[256];
			enum gw_err		 e = GW_ERR_INTERNAL;

			close(go[1]);
			(void)read(go[0], &c, 1);
			if (gw_store_open(&conf, &cs, err, sizeof(err)) ==
			    GW_OK) {
				if ((e = gw_db_begin(cs->db, 1)) == GW_OK) {
					e = gw_store_packrun_retry(cs, a,
					    "acme", NULL, "o", 5000, &r);
					if (e == GW_OK)
						e = gw_db_commit(cs->db);
					else
						gw_db_rollback(cs->db);
				}
				gw_store_close(cs);
			}
			gw_arena_free(a);
			gw_arena_free(arena);
			_exit(e == GW_OK ? 10 :
			    e == GW_ERR_PACKRUN_RETRY_IN_PROGRESS ? 11 : 12);
		}
	}
	close(go[0]);
	close(go[1]);		/* every child's read returns now */
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
		ck_assert(WIFEXITED(status));
		if (WEXITSTATUS(status) == 10)
			created++;
		else if (WEXITSTATUS(status) == 11)
			refused++;
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(refused, 7);
	s = open_migrated();
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM pack_runs WHERE "
	    "retry_of = 'o'"), 1);
	gw_store_close(s);
}
END_TEST

START_TEST(test_other_tenant_or_project_is_not_found)
{
	struct gw_store		*s = open_migrated();
	struct gw_packrun	 r;
	int			 changed;

	ck_assert_int_eq(add_run(s->db, "g", "globex", NULL, "p", "failed",
	    1, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "a", "acme", "alpha", "p", "running",
	    1, NULL, 1), GW_OK);
	ck_assert_int_eq(gw_store_packrun_get(s, arena, "acme", NULL, "g",
	    &r), GW_ERR_PACKRUN_NOT_FOUND);
	ck_assert_int_eq(gw_store_packrun_get(s, arena, "acme", NULL, "nope",
	    &r), GW_ERR_PACKRUN_NOT_FOUND);
	ck_assert_int_eq(gw_store_packrun_retry(s, arena, "acme", NULL, "g",
	    9, &r), GW_ERR_PACKRUN_NOT_FOUND);
	ck_assert_int_eq(gw_store_packrun_cancel(s, arena, "acme", NULL, "g",
	    "op", 9, &r, &changed), GW_ERR_PACKRUN_NOT_FOUND);
	/* X-Stella-Project narrows mutations like reads. */
	ck_assert_int_eq(gw_store_packrun_get(s, arena, "acme", "beta", "a",
	    &r), GW_ERR_PACKRUN_NOT_FOUND);
	ck_assert_int_eq(gw_store_packrun_cancel(s, arena, "acme", "beta",
	    "a", "op", 9, &r, &changed), GW_ERR_PACKRUN_NOT_FOUND);
	ck_assert_int_eq(gw_store_packrun_get(s, arena, "acme", "alpha", "a",
	    &r), GW_OK);
	ck_assert_str_eq(r.status, "running");
	ck_assert_int_eq(test_count(s->db,
	    "SELECT count(*) FROM pack_runs"), 2);
	gw_store_close(s);
}
END_TEST

START_TEST(test_status_names_are_exactly_the_seven)
{
	size_t	 i;

	for (i = 0; i < NSTATUS; i++)
		ck_assert(gw_packrun_status_valid(statuses[i]));
	ck_assert(!gw_packrun_status_valid("Pending"));
	ck_assert(!gw_packrun_status_valid("leased"));
	ck_assert(!gw_packrun_status_valid(""));
	ck_assert(!gw_packrun_status_valid("timed-out"));
}
END_TEST

/* ---------------------------------------------------------------- */
/* The list. */

static struct gw_store *
open_runs(void)
{
	struct gw_store	*s = open_migrated();

	/* Created at 300, 200 (three of them), 100; b/c/d share a second. */
	ck_assert_int_eq(add_run(s->db, "e", "acme", NULL, "x", "running",
	    300, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "d", "acme", "alpha", "y", "failed",
	    200, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "b", "acme", NULL, "x", "failed",
	    200, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "c", "acme", "alpha", "x", "pending",
	    200, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "a", "acme", NULL, "y", "failed",
	    100, NULL, 1), GW_OK);
	ck_assert_int_eq(add_run(s->db, "z", "globex", NULL, "x", "failed",
	    250, NULL, 1), GW_OK);
	return s;
}

/* Every page of a full scan, "|" between pages. */
static void
scan(struct gw_store *s, const struct gw_packrun_filter *f, int limit,
    char *out, size_t outlen)
{
	struct gw_page		 page;
	struct gw_packrun	*rows;
	char			 key0[24];
	size_t			 n, i;
	int			 more, pages = 0;

	out[0] = '\0';
	memset(&page, 0, sizeof(page));
	page.limit = limit;
	do {
		ck_assert_int_eq(gw_store_packruns_list(s, arena, f, &page,
		    &rows, &n, &more), GW_OK);
		if (pages++ > 0)
			append(out, "|", outlen);
		for (i = 0; i < n; i++) {
			if (i > 0)
				append(out, " ", outlen);
			append(out, rows[i].pack_run_id, outlen);
		}
		if (more) {
			ck_assert_uint_eq(n, (size_t)limit);
			snprintf(key0, sizeof(key0), "%lld",
			    (long long)rows[n - 1].created_at);
			page.nkey = 2;
			page.key[0] = gw_arena_strdup(arena, key0);
			page.key[1] = rows[n - 1].pack_run_id;
		}
	} while (more);
}

START_TEST(test_list_orders_created_desc_then_id_with_keyset_pages)
{
	static const struct {
		const char	*project, *status, *pack;
		int		 limit;
		const char	*want;
	} t[] = {
		{ NULL, NULL, NULL, 50, "e b c d a" },
		{ NULL, NULL, NULL, 1, "e|b|c|d|a" },
		{ NULL, NULL, NULL, 2, "e b|c d|a" },
		{ NULL, NULL, NULL, 3, "e b c|d a" },
		{ NULL, NULL, NULL, 5, "e b c d a" },
		{ "alpha", NULL, NULL, 1, "c|d" },
		{ "beta", NULL, NULL, 50, "" },
		{ NULL, "failed", NULL, 1, "b|d|a" },
		{ NULL, "failed", "y", 50, "d a" },
		{ NULL, NULL, "x", 2, "e b|c" },
		{ "alpha", "pending", "x", 50, "c" },
		{ NULL, "succeeded", NULL, 50, "" },
	};
	struct gw_store			*s = open_runs();
	struct gw_packrun_filter	 f;
	char				 got[256];
	size_t				 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f.tenant = "acme";
		f.project = t[i].project;
		f.status = t[i].status;
		f.pack_id = t[i].pack;
		scan(s, &f, t[i].limit, got, sizeof(got));
		ck_assert_msg(strcmp(got, t[i].want) == 0,
		    "case %zu: got \"%s\", want \"%s\"", i, got, t[i].want);
	}
	f.tenant = "globex";
	f.project = f.status = f.pack_id = NULL;
	scan(s, &f, 50, got, sizeof(got));
	ck_assert_str_eq(got, "z");
	gw_store_close(s);
}
END_TEST

static void
explain(struct gw_store *s, const char *sql, char *plan, size_t len)
{
	struct gw_stmt	*st;
	char		 eqp[800];
	int		 row;

	snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
	ck_assert_int_eq(gw_db_prepare(s->db, eqp, &st), GW_OK);
	plan[0] = '\0';
	while (gw_stmt_step(st, &row) == GW_OK && row) {
		append(plan, gw_stmt_text(st, 3), len);
		append(plan, "\n", len);
	}
	gw_stmt_reset(st);
	if (getenv("GW_SHOW_PLAN") != NULL)
		printf("%s\n%s\n", sql, plan);
}

START_TEST(test_list_plan_is_an_index_range_without_sort)
{
	struct gw_store			*s = open_runs();
	struct gw_packrun_filter	 f;
	char				 sql[640], plan[512];
	int				 v;

	for (v = 0; v < 16; v++) {
		f.tenant = "acme";
		f.project = v & 1 ? "alpha" : NULL;
		f.status = v & 2 ? "failed" : NULL;
		f.pack_id = v & 4 ? "x" : NULL;
		explain(s, gw_store_packruns_sql(&f, v & 8, sql, sizeof(sql)),
		    plan, sizeof(plan));
		ck_assert_msg(strstr(plan, f.project != NULL ?
		    "USING INDEX pack_runs_tenant_project_created (" :
		    "USING INDEX pack_runs_tenant_created (") != NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strncmp(plan, "SEARCH ", 7) == 0,
		    "variant %d: %s", v, plan);
		/* A later page starts at its key, not at the tenant's top. */
		if (v & 8)
			ck_assert_msg(strstr(plan, "created_at<?") != NULL,
			    "variant %d: %s", v, plan);
	}
	gw_store_close(s);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The audit listing. */

static void
add_audit(struct gw_db *db, int64_t at, const char *tenant,
    const char *project, const char *action, const char *type,
    const char *target, const char *hash)
{
	struct gw_stmt	*st;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(db, "INSERT INTO audit (occurred_at, "
	    "tenant_id, project_id, actor, client_id, scopes, action, "
	    "target_type, target_id, reason, ticket, trace_id, "
	    "idempotency_key, outcome, prev_hash, hash) VALUES (?, ?, ?, "
	    "'op-1', 'console', 'orch:backfill orch:operate', ?, ?, ?, "
	    "'because', 'CHG-1', 'trace-1', NULL, 200, NULL, ?)", &st), GW_OK);
	gw_stmt_bind_int(st, 1, at);
	gw_stmt_bind_text(st, 2, tenant);
	gw_stmt_bind_text(st, 3, project != NULL ? project : "");
	gw_stmt_bind_text(st, 4, action);
	gw_stmt_bind_text(st, 5, type);
	gw_stmt_bind_text(st, 6, target);
	gw_stmt_bind_text(st, 7, hash);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	gw_stmt_reset(st);
}

static struct gw_store *
open_audit(void)
{
	struct gw_store	*s = open_migrated();

	/* seq 1..7 */
	add_audit(s->db, 100, "acme", NULL, "packRun.cancel", "packRun",
	    "r1", "h1");
	add_audit(s->db, 110, "globex", NULL, "packRun.cancel", "packRun",
	    "r1", "g2");
	add_audit(s->db, 120, "acme", "alpha", "packRun.retry", "packRun",
	    "r2", "h3");
	add_audit(s->db, 130, "acme", NULL, "quota.pause", "quota", "q1",
	    "h4");
	add_audit(s->db, 140, "acme", NULL, "packRun.cancel", "packRun",
	    "r2", "h5");
	add_audit(s->db, 150, "globex", NULL, "quota.pause", "quota", "q1",
	    "g6");
	add_audit(s->db, 160, "acme", "alpha", "packRun.retry", "packRun",
	    "r1", "h7");
	return s;
}

static void
audit_scan(struct gw_store *s, const struct gw_audit_filter *f, int limit,
    char *out, size_t outlen)
{
	struct gw_page		 page;
	struct gw_audit_item	*rows;
	char			 key[24], one[24];
	size_t			 n, i;
	int			 more, pages = 0;

	out[0] = '\0';
	memset(&page, 0, sizeof(page));
	page.limit = limit;
	do {
		ck_assert_int_eq(gw_store_audit_list(s, arena, f, &page,
		    &rows, &n, &more), GW_OK);
		if (pages++ > 0)
			append(out, "|", outlen);
		for (i = 0; i < n; i++) {
			snprintf(one, sizeof(one), "%s%lld", i > 0 ? " " : "",
			    (long long)rows[i].seq);
			append(out, one, outlen);
		}
		if (more) {
			snprintf(key, sizeof(key), "%lld",
			    (long long)rows[n - 1].seq);
			page.nkey = 1;
			page.key[0] = gw_arena_strdup(arena, key);
		}
	} while (more);
}

START_TEST(test_audit_list_newest_first_own_tenant_with_filters)
{
	static const struct {
		const char	*tenant, *project, *action, *type, *target;
		int64_t		 since;
		int		 limit;
		const char	*want;
	} t[] = {
		{ "acme", NULL, NULL, NULL, NULL, 0, 50, "7 5 4 3 1" },
		{ "acme", NULL, NULL, NULL, NULL, 0, 2, "7 5|4 3|1" },
		{ "acme", NULL, NULL, NULL, NULL, 0, 1, "7|5|4|3|1" },
		{ "globex", NULL, NULL, NULL, NULL, 0, 50, "6 2" },
		{ "acme", "alpha", NULL, NULL, NULL, 0, 1, "7|3" },
		{ "acme", NULL, "packRun.cancel", NULL, NULL, 0, 50, "5 1" },
		{ "acme", NULL, NULL, "quota", NULL, 0, 50, "4" },
		{ "acme", NULL, NULL, "packRun", "r1", 0, 50, "7 1" },
		{ "acme", NULL, NULL, NULL, "r2", 0, 1, "5|3" },
		{ "acme", NULL, NULL, NULL, NULL, 130, 50, "7 5 4" },
		{ "acme", NULL, NULL, NULL, NULL, 131, 50, "7 5" },
		{ "acme", NULL, "packRun.retry", "packRun", "r1", 100, 50,
		    "7" },
		{ "acme", NULL, "nothing", NULL, NULL, 0, 50, "" },
		{ "initech", NULL, NULL, NULL, NULL, 0, 50, "" },
	};
	struct gw_store		*s = open_audit();
	struct gw_audit_filter	 f;
	char			 got[256];
	size_t			 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		f.tenant = t[i].tenant;
		f.project = t[i].project;
		f.action = t[i].action;
		f.target_type = t[i].type;
		f.target_id = t[i].target;
		f.since = t[i].since;
		audit_scan(s, &f, t[i].limit, got, sizeof(got));
		ck_assert_msg(strcmp(got, t[i].want) == 0,
		    "case %zu: got \"%s\", want \"%s\"", i, got, t[i].want);
	}
	gw_store_close(s);
}
END_TEST

START_TEST(test_audit_item_carries_every_field)
{
	struct gw_store		*s = open_audit();
	struct gw_audit_filter	 f;
	struct gw_page		 page;
	struct gw_audit_item	*rows;
	size_t			 n;
	int			 more;

	memset(&f, 0, sizeof(f));
	memset(&page, 0, sizeof(page));
	f.tenant = "acme";
	page.limit = 2;
	ck_assert_int_eq(gw_store_audit_list(s, arena, &f, &page, &rows, &n,
	    &more), GW_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(more, 1);
	ck_assert_int_eq(rows[0].seq, 7);
	ck_assert_int_eq(rows[0].occurred_at, 160);
	ck_assert_str_eq(rows[0].tenant_id, "acme");
	ck_assert_str_eq(rows[0].project_id, "alpha");
	ck_assert_ptr_null(rows[1].project_id);		/* '' -> NULL */
	ck_assert_str_eq(rows[0].actor, "op-1");
	ck_assert_str_eq(rows[0].client_id, "console");
	ck_assert_str_eq(rows[0].scopes, "orch:backfill orch:operate");
	ck_assert_str_eq(rows[0].action, "packRun.retry");
	ck_assert_str_eq(rows[0].target_type, "packRun");
	ck_assert_str_eq(rows[0].target_id, "r1");
	ck_assert_str_eq(rows[0].reason, "because");
	ck_assert_str_eq(rows[0].ticket, "CHG-1");
	ck_assert_str_eq(rows[0].trace_id, "trace-1");
	ck_assert_ptr_null(rows[0].idempotency_key);
	ck_assert_int_eq(rows[0].outcome, 200);
	ck_assert_str_eq(rows[0].hash, "h7");
	gw_store_close(s);
}
END_TEST

START_TEST(test_audit_plan_is_an_index_range_without_sort)
{
	struct gw_store		*s = open_audit();
	struct gw_audit_filter	 f;
	char			 sql[640], plan[512];
	int			 v;

	for (v = 0; v < 64; v++) {
		f.tenant = "acme";
		f.project = v & 1 ? "alpha" : NULL;
		f.action = v & 2 ? "packRun.cancel" : NULL;
		f.target_type = v & 4 ? "packRun" : NULL;
		f.target_id = v & 8 ? "r1" : NULL;
		f.since = v & 16 ? 100 : 0;
		explain(s, gw_store_audit_sql(&f, v & 32, sql, sizeof(sql)),
		    plan, sizeof(plan));
		ck_assert_msg(strstr(plan, "TEMP B-TREE") == NULL,
		    "variant %d: %s", v, plan);
		ck_assert_msg(strncmp(plan, "SEARCH audit USING ", 19) == 0,
		    "variant %d: %s", v, plan);
		if (v & 32)
			ck_assert_msg(strstr(plan, "seq<?") != NULL,
			    "variant %d: %s", v, plan);
	}
	gw_store_close(s);
}
END_TEST

static Suite *
packruns_suite(void)
{
	Suite	*s = suite_create("packruns");
	TCase	*tc = tcase_create("packruns");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cancel_from_every_status);
	tcase_add_test(tc, test_retry_from_every_status);
	tcase_add_test(tc, test_retry_while_a_retry_is_live_is_in_progress);
	tcase_add_test(tc, test_live_retry_index_refuses_a_second_live_retry);
	tcase_add_test(tc, test_concurrent_retries_from_eight_processes_start_one);
	tcase_add_test(tc, test_other_tenant_or_project_is_not_found);
	tcase_add_test(tc, test_status_names_are_exactly_the_seven);
	tcase_add_test(tc, test_list_orders_created_desc_then_id_with_keyset_pages);
	tcase_add_test(tc, test_audit_list_newest_first_own_tenant_with_filters);
	tcase_add_test(tc, test_audit_item_carries_every_field);
	suite_add_tcase(s, tc);

	/* Query plans: SQLite's EXPLAIN QUERY PLAN. */
	if (!test_on_pg()) {
		tc = tcase_create("sqlite");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 60);
		tcase_add_test(tc,
		    test_list_plan_is_an_index_range_without_sort);
		tcase_add_test(tc,
		    test_audit_plan_is_an_index_range_without_sort);
		suite_add_tcase(s, tc);
	}
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	gw_log_init("check_packruns", GW_LOG_ERROR - 1);
	sr = srunner_create(packruns_suite());
	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
