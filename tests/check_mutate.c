/*
 * check_mutate.c: stage 8 of the pipeline for mutations: Idempotency-Key
 * (SPEC §10) and the audit log with its per-tenant HMAC chain (SPEC §11).
 *
 * Each test runs whole requests through gw_app_handle against a real
 * SQLite store in a temporary directory, with a small route table whose
 * handlers write a test table, things(id, n).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "extern.h"
#include "check_db.h"

#define KEY		"0123456789abcdef0123456789abcdef"
#define EMPTY_SHA256	\
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define TOUCH_A		"/t/things/a/touch"

static char		 keydir[256];
static char		*tok_acme, *tok_globex;
static struct gw_keyset	*keys;

static struct gw_app	 app;
static struct gw_arena	*arena;
static int		 pg;	/* the tests run on PostgreSQL */

/* ---------------------------------------------------------------- */
/* The test program: handlers over things(id, n). */

static struct gw_db *
db(void)
{
	return app.store->db;
}

static enum gw_err
thing_json(struct gw_req *req, struct gw_resp *resp, const char *id)
{
	struct gw_stmt	*st;
	struct gw_json	*j;
	enum gw_err	 e;
	int64_t		 n = 0;
	int		 row;
	char		 etag[32];

	(void)req;
	if ((e = gw_db_prepare(db(), "SELECT n FROM things WHERE id = ?",
	    &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, id);
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row)
		n = gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	snprintf(etag, sizeof(etag), "\"t%lld\"", (long long)n);
	gw_resp_etag(resp, etag);
	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kstr(j, "id", id);
	gw_json_kint(j, "n", n);
	gw_json_obj_close(j);
	return e;
}

static enum gw_err
touch(const char *id)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(db(), "UPDATE things SET n = n + 1 "
	    "WHERE id = ?", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, id);
	if ((e = gw_stmt_step(st, &row)) == GW_OK && gw_stmt_changes(st) == 0)
		e = GW_ERR_QUOTA_NOT_FOUND;
	gw_stmt_reset(st);
	return e;
}

/* POST /t/things {"id": ...}: 201, Location, the new thing. */
static enum gw_err
h_create(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_stmt	*st;
	json_object	*v;
	const char	*id;
	enum gw_err	 e;
	int		 row;

	if (req->json == NULL || !json_object_object_get_ex(req->json, "id",
	    &v) || !json_object_is_type(v, json_type_string))
		return gw_fail(req, GW_ERR_INVALID_BODY, "/id", "required");
	id = gw_arena_strdup(req->arena, json_object_get_string(v));
	if ((e = gw_db_prepare(db(), "INSERT INTO things (id, n) "
	    "VALUES (?, 0)", &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, id);
	e = gw_stmt_step(st, &row);
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	gw_audit_target(req, "thing", id);
	gw_resp_status(resp, 201);
	gw_resp_header(resp, "Location",
	    gw_arena_printf(req->arena, "/t/things/%s", id));
	return thing_json(req, resp, id);
}

/* POST /t/things/{id}/touch: n + 1, 200, the thing. */
static enum gw_err
h_touch(struct gw_req *req, struct gw_resp *resp)
{
	enum gw_err	 e;

	if ((e = touch(gw_req_id(req))) != GW_OK)
		return e;
	return thing_json(req, resp, gw_req_id(req));
}

/* PUT /t/things/{id}: writes, then refuses. */
static enum gw_err
h_write_then_refuse(struct gw_req *req, struct gw_resp *resp)
{
	(void)resp;
	(void)touch(gw_req_id(req));
	return gw_fail(req, GW_ERR_VALIDATION, "/n", "refused after a write");
}

/* POST /t/batch (GW_ROUTE_OWN_TXN): a and b, each its own transaction. */
static enum gw_err
h_batch(struct gw_req *req, struct gw_resp *resp)
{
	static const char *const ids[] = { "a", "b" };
	struct gw_json	*j;
	enum gw_err	 e;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		if ((e = gw_txn_begin(req)) != GW_OK)
			return e;
		if ((e = touch(ids[i])) != GW_OK ||
		    (e = gw_audit_append(req, "thing.touch", "thing", ids[i],
		    200)) != GW_OK) {
			gw_txn_rollback(req);
			return e;
		}
		if ((e = gw_txn_commit(req)) != GW_OK)
			return e;
	}
	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kint(j, "touched", 2);
	gw_json_obj_close(j);
	return GW_OK;
}

static const struct gw_route routes[] = {
	{ GW_POST, "/t/things", "orch:quota", GW_ROUTE_BODY, NULL,
	    "thing.create", h_create },
	{ GW_POST, "/t/things/{id}/touch", "orch:quota", 0, NULL,
	    "thing.touch", h_touch },
	{ GW_PUT, "/t/things/{id}", "orch:quota", GW_ROUTE_BODY, NULL,
	    "thing.update", h_write_then_refuse },
	{ GW_POST, "/t/batch", "orch:quota", GW_ROUTE_OWN_TXN, NULL,
	    "thing.batch", h_batch },
};

static const struct gw_app_def def = {
	"check_mutate", routes, sizeof(routes) / sizeof(routes[0])
};

/* ---------------------------------------------------------------- */
/* Requests */

struct body {
	const char	*p;
	size_t		 len;
};

static int
body_read(void *arg, char *buf, int n)
{
	struct body	*b = arg;
	size_t		 k = b->len < (size_t)n ? b->len : (size_t)n;

	memcpy(buf, b->p, k);
	b->p += k;
	b->len -= k;
	return (int)k;
}

/* One request; the serialised response in out (reset first), the status
 * returned.  tok NULL: acme's token. */
static int
call(const char *tok, const char *method, const char *uri, const char *idem,
    const char *body, struct gw_buf *out)
{
	struct gw_req	 req;
	struct gw_resp	 resp;
	struct body	 b = { body, body != NULL ? strlen(body) : 0 };
	char		*envp[16];
	int		 n = 0, status;

	envp[n++] = gw_arena_printf(arena, "REQUEST_METHOD=%s", method);
	envp[n++] = gw_arena_printf(arena, "REQUEST_URI=%s", uri);
	envp[n++] = gw_arena_printf(arena, "HTTP_AUTHORIZATION=Bearer %s",
	    tok != NULL ? tok : tok_acme);
	envp[n++] = gw_arena_printf(arena, "HTTP_X_STELLA_TENANT=%s",
	    tok == tok_globex ? "globex" : "acme");
	envp[n++] = "HTTP_X_STELLA_OPERATOR_REASON=because";
	envp[n++] = "HTTP_X_STELLA_OPERATOR_TICKET=OPS-1";
	envp[n++] = "HTTP_X_STELLA_TRACE_ID=trace-1";
	if (idem != NULL)
		envp[n++] = gw_arena_printf(arena, "HTTP_IDEMPOTENCY_KEY=%s",
		    idem);
	if (body != NULL) {
		envp[n++] = "CONTENT_TYPE=application/json";
		envp[n++] = gw_arena_printf(arena, "CONTENT_LENGTH=%zu",
		    strlen(body));
	}
	envp[n] = NULL;

	gw_req_init(&req, &app, arena, envp, body_read, &b);
	gw_resp_init(&resp, arena);
	gw_app_handle(&app, &req, &resp);
	gw_buf_reset(out);
	gw_resp_serialize(&req, &resp, out);
	status = resp.status;
	gw_resp_cleanup(&resp);
	gw_req_cleanup(&req);
	ck_assert_int_eq(db()->in_txn, 0);
	return status;
}

static char *
text(const char *sql)
{
	struct gw_stmt	*st;
	char		*s = NULL;
	int		 row;

	ck_assert_int_eq(gw_db_prepare(db(), sql, &st), GW_OK);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	if (row)
		s = gw_stmt_dup(st, 0, arena);
	gw_stmt_reset(st);
	return s;
}

static void
exec_now(const char *fmt, long long now)
{
	test_exec(db(), gw_arena_printf(arena, fmt, now, now));
}

static void
expect_code(const struct gw_buf *out, const char *code)
{
	char	 want[64];

	snprintf(want, sizeof(want), "{\"error\":{\"code\":\"%s\"", code);
	ck_assert_msg(strstr(out->data, want) != NULL, "want %s in %s", code,
	    out->data);
}

/* ---------------------------------------------------------------- */
/* Fixtures */

static char *
mint(const char *tenant)
{
	struct gw_mint	 m;
	char		*tok, err[256], pem[300];

	memset(&m, 0, sizeof(m));
	snprintf(pem, sizeof(pem), "%s/rsa.pem", keydir);
	m.key_file = pem;
	m.kid = "rsa-1";
	m.iss = "https://authority.test";
	m.sub = "user-1";
	m.tenant = tenant;
	m.scope = "orch:read orch:quota";
	m.aud[0] = "stellaops-gateway";
	m.naud = 1;
	m.ttl = 3600;
	if (gw_mint_token(&m, &tok, err, sizeof(err)) == -1) {
		fprintf(stderr, "mint: %s\n", err);
		abort();
	}
	return tok;
}

static void
global_setup(void)
{
	const char	*top = getenv("top_srcdir");
	char		 path[300], err[256];

	snprintf(keydir, sizeof(keydir), "%s/tests/keys",
	    top != NULL ? top : ".");
	snprintf(path, sizeof(path), "%s/jwks.json", keydir);
	if (gw_auth_load_jwks(path, &keys, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	tok_acme = mint("acme");
	tok_globex = mint("globex");
	gw_log_init("check_mutate", GW_LOG_ERROR);
}

static void
global_teardown(void)
{
	gw_auth_free_jwks(keys);
	free(tok_acme);
	free(tok_globex);
}

static void
setup(void)
{
	static char	 issuer[] = "https://authority.test";
	static char	 aud[] = "stellaops-gateway";
	static char	 tclaim[] = "stellaops:tenant";
	static char	 key[] = KEY;
	struct gw_db	*d;
	char		 err[256];
	int		 from, to;

	memset(&app, 0, sizeof(app));
	app.def = &def;
	app.keys = keys;
	app.conf.busy_timeout_ms = 2000;
	pg = test_store_begin(&app.conf, "check_mutate");
	app.conf.issuer = issuer;
	app.conf.audiences[0] = aud;
	app.conf.naudiences = 1;
	app.conf.tenant_claims[0] = tclaim;
	app.conf.ntenant_claims = 1;
	app.conf.leeway = 60;
	app.conf.max_token_lifetime = 86400;
	app.conf.max_body_bytes = 65536;
	app.conf.server_key = (unsigned char *)key;
	app.conf.server_keylen = 32;
	app.conf.cache_max_age = 60;
	ck_assert_int_eq(gw_db_open(&app.conf, &d, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_schema_migrate(d, &from, &to), GW_OK);
	gw_db_close(d);
	ck_assert_int_eq(gw_store_open(&app.conf, &app.store, err,
	    sizeof(err)), GW_OK);
	arena = gw_arena_new();
	test_exec(db(), "CREATE TABLE things (id TEXT NOT NULL PRIMARY KEY, "
	    "n INTEGER NOT NULL)");
	test_exec(db(), "INSERT INTO things (id, n) VALUES ('a', 0), ('b', 0), "
	    "('g', 0)");
}

static void
teardown(void)
{
	gw_store_close(app.store);
	test_store_end();
	gw_arena_free(arena);
}

/* ---------------------------------------------------------------- */
/* Idempotency-Key */

START_TEST(idem_replay_is_byte_for_byte_with_replayed_header)
{
	struct gw_buf	 first, again, want;
	const char	*trace;

	gw_buf_init(&first);
	gw_buf_init(&again);
	gw_buf_init(&want);
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-1", NULL, &first),
	    200);
	ck_assert_ptr_null(strstr(first.data, "Idempotent-Replayed"));
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-1", NULL, &again),
	    200);

	/* The same bytes, plus the one header, before the trace id. */
	trace = strstr(first.data, "X-Stella-Trace-Id:");
	ck_assert_ptr_nonnull(trace);
	gw_buf_add(&want, first.data, (size_t)(trace - first.data));
	gw_buf_puts(&want, "Idempotent-Replayed: true\r\n");
	gw_buf_puts(&want, trace);
	ck_assert_str_eq(again.data, want.data);
	ck_assert_ptr_nonnull(strstr(first.data, "ETag: \"t1\"\r\n"));
	ck_assert_ptr_nonnull(strstr(first.data, "{\"id\":\"a\",\"n\":1}"));

	/* One side effect, one audit record. */
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit"), 1);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency WHERE "
	    "state = 'done' AND status = 200"), 1);
	gw_buf_free(&first);
	gw_buf_free(&again);
	gw_buf_free(&want);
}
END_TEST

START_TEST(idem_replay_keeps_status_and_location)
{
	struct gw_buf	 first, again;

	gw_buf_init(&first);
	gw_buf_init(&again);
	ck_assert_int_eq(call(NULL, "POST", "/t/things", "k-2",
	    "{\"id\":\"c\"}", &first), 201);
	ck_assert_int_eq(call(NULL, "POST", "/t/things", "k-2",
	    "{\"id\":\"c\"}", &again), 201);
	ck_assert_ptr_nonnull(strstr(again.data, "Status: 201 Created\r\n"));
	ck_assert_ptr_nonnull(strstr(again.data, "Location: /t/things/c\r\n"));
	ck_assert_ptr_nonnull(strstr(again.data, "ETag: \"t0\"\r\n"));
	ck_assert_ptr_nonnull(strstr(again.data,
	    "Idempotent-Replayed: true\r\n"));
	ck_assert_ptr_nonnull(strstr(again.data,
	    "Cache-Control: no-store\r\n"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM things WHERE id = 'c'"),
	    1);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit"), 1);
	gw_buf_free(&first);
	gw_buf_free(&again);
}
END_TEST

START_TEST(idem_other_body_is_422_key_reused)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", "/t/things", "k-3",
	    "{\"id\":\"d\"}", &out), 201);
	/* Same JSON value, other bytes: another body all the same. */
	ck_assert_int_eq(call(NULL, "POST", "/t/things", "k-3",
	    "{ \"id\":\"d\"}", &out), 422);
	expect_code(&out, "ERR_IDEMPOTENCY_KEY_REUSED");
	ck_assert_int_eq(call(NULL, "POST", "/t/things", "k-3",
	    "{\"id\":\"e\"}", &out), 422);
	expect_code(&out, "ERR_IDEMPOTENCY_KEY_REUSED");
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM things WHERE id = 'e'"),
	    0);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_key_is_per_tenant_method_and_path)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-4", NULL, &out), 200);
	ck_assert_int_eq(call(NULL, "POST", "/t/things/b/touch", "k-4", NULL,
	    &out), 200);
	ck_assert_int_eq(call(tok_globex, "POST", TOUCH_A, "k-4", NULL, &out),
	    200);
	ck_assert_ptr_null(strstr(out.data, "Idempotent-Replayed"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 2);
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'b'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_in_flight_is_409_in_progress)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	exec_now("INSERT INTO idempotency VALUES ('acme', 'k-5', 'POST', "
	    "'" TOUCH_A "', '" EMPTY_SHA256 "', 'in_flight', NULL, NULL, "
	    "NULL, %lld, %lld + 60)", (long long)gw_now());
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-5", NULL, &out), 409);
	expect_code(&out, "ERR_IDEMPOTENCY_IN_PROGRESS");
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 0);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit"), 0);
	/* The refusal leaves the first request's row alone. */
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency WHERE "
	    "state = 'in_flight'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_in_flight_with_other_body_is_422)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	exec_now("INSERT INTO idempotency VALUES ('acme', 'k-6', 'POST', "
	    "'" TOUCH_A "', 'other', 'in_flight', NULL, NULL, NULL, %lld, "
	    "%lld + 60)", (long long)gw_now());
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-6", NULL, &out), 422);
	expect_code(&out, "ERR_IDEMPOTENCY_KEY_REUSED");
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_expired_lease_is_taken_over)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	/* A worker died 61 s into its lease of 60. */
	exec_now("INSERT INTO idempotency VALUES ('acme', 'k-7', 'POST', "
	    "'" TOUCH_A "', '" EMPTY_SHA256 "', 'in_flight', NULL, NULL, "
	    "NULL, %lld - 121, %lld - 61)", (long long)gw_now());
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-7", NULL, &out), 200);
	ck_assert_ptr_null(strstr(out.data, "Idempotent-Replayed"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency WHERE "
	    "idem_key = 'k-7' AND state = 'done'"), 1);
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-7", NULL, &out), 200);
	ck_assert_ptr_nonnull(strstr(out.data, "Idempotent-Replayed: true"));
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_expired_response_is_not_replayed)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	exec_now("INSERT INTO idempotency VALUES ('acme', 'k-8', 'POST', "
	    "'" TOUCH_A "', '" EMPTY_SHA256 "', 'done', 200, '', 'old', "
	    "%lld - 86401, %lld - 1)", (long long)gw_now());
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-8", NULL, &out), 200);
	ck_assert_ptr_null(strstr(out.data, "old"));
	ck_assert_ptr_null(strstr(out.data, "Idempotent-Replayed"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_purge_deletes_only_expired_by_index_range)
{
	struct gw_stmt	*st;
	int64_t		 now = gw_now();
	char		*plan;
	int		 row;

	exec_now("INSERT INTO idempotency VALUES ('acme', 'old', 'POST', "
	    "'/p', 'f', 'done', 200, '', '{}', %lld - 90000, %lld - 1)", now);
	exec_now("INSERT INTO idempotency VALUES ('acme', 'new', 'POST', "
	    "'/p', 'f', 'done', 200, '', '{}', %lld, %lld + 86400)", now);
	ck_assert_int_eq(gw_store_idem_purge(app.store, now), GW_OK);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency WHERE "
	    "idem_key = 'old'"), 0);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency WHERE "
	    "idem_key = 'new'"), 1);
	if (pg)		/* the plan below is SQLite's */
		return;
	ck_assert_int_eq(gw_db_prepare(db(), gw_arena_printf(arena,
	    "EXPLAIN QUERY PLAN %s", gw_store_idem_purge_sql), &st), GW_OK);
	ck_assert_int_eq(gw_stmt_step(st, &row), GW_OK);
	ck_assert_int_eq(row, 1);
	plan = gw_stmt_dup(st, 3, arena);
	gw_stmt_reset(st);
	ck_assert_str_eq(plan, "SEARCH idempotency USING INDEX "
	    "idempotency_expires (expires_at<?)");
}
END_TEST

START_TEST(idem_refused_request_releases_the_key)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", "/t/things/z/touch", "k-9", NULL,
	    &out), 404);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency"), 0);
	test_exec(db(), "INSERT INTO things (id, n) VALUES ('z', 0)");
	ck_assert_int_eq(call(NULL, "POST", "/t/things/z/touch", "k-9", NULL,
	    &out), 200);
	ck_assert_ptr_null(strstr(out.data, "Idempotent-Replayed"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'z'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(idem_own_txn_route_is_replayed)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", "/t/batch", "k-10", NULL, &out),
	    200);
	ck_assert_int_eq(call(NULL, "POST", "/t/batch", "k-10", NULL, &out),
	    200);
	ck_assert_ptr_nonnull(strstr(out.data, "Idempotent-Replayed: true"));
	ck_assert_ptr_nonnull(strstr(out.data, "{\"touched\":2}"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit WHERE "
	    "action = 'thing.touch'"), 2);
	gw_buf_free(&out);
}
END_TEST

START_TEST(own_txn_route_keeps_committed_entries_and_audits_refusal)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	test_exec(db(), "DELETE FROM things WHERE id = 'b'");
	ck_assert_int_eq(call(NULL, "POST", "/t/batch", "k-13", NULL, &out),
	    404);
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	ck_assert_str_eq(text(pg ? "SELECT string_agg(action || ' ' || "
	    "coalesce(target_id, '-') || ' ' || outcome, ', ' ORDER BY seq) "
	    "FROM audit" : "SELECT group_concat(action || ' ' || "
	    "coalesce(target_id, '-') || ' ' || outcome, ', ') FROM "
	    "(SELECT * FROM audit ORDER BY seq)"),
	    "thing.touch a 200, thing.batch - 404");
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency"), 0);
	gw_buf_free(&out);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Audit records */

START_TEST(audit_record_commits_with_its_change)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-11", NULL, &out), 200);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM audit WHERE seq = 1 AND "
	    "tenant_id = 'acme' AND project_id = '' AND actor = 'user-1' AND "
	    "client_id IS NULL AND scopes = 'orch:quota orch:read' AND "
	    "action = 'thing.touch' AND target_type = 'thing' AND "
	    "target_id = 'a' AND reason = 'because' AND ticket = 'OPS-1' AND "
	    "trace_id = 'trace-1' AND idempotency_key = 'k-11' AND "
	    "outcome = 200 AND prev_hash IS NULL AND length(hash) = 64"), 1);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM audit_chain WHERE "
	    "tenant_id = 'acme' AND seq = 1 AND hash = (SELECT hash FROM "
	    "audit WHERE seq = 1)"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(audit_target_names_the_created_id)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "POST", "/t/things", NULL,
	    "{\"id\":\"new-1\"}", &out), 201);
	ck_assert_str_eq(text("SELECT action || ' ' || target_type || ' ' || "
	    "target_id FROM audit"), "thing.create thing new-1");
	gw_buf_free(&out);
}
END_TEST

START_TEST(handler_refusal_writes_nothing_and_is_audited)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	ck_assert_int_eq(call(NULL, "PUT", "/t/things/a", NULL, "{\"n\":1}",
	    &out), 422);
	expect_code(&out, "ERR_VALIDATION");
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 0);
	ck_assert_str_eq(text("SELECT action || ' ' || target_id || ' ' || "
	    "outcome FROM audit"), "thing.update a 422");
	ck_assert_int_eq(call(NULL, "POST", "/t/things/zz/touch", NULL, NULL,
	    &out), 404);
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit WHERE "
	    "outcome = 404 AND target_id = 'zz'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(audit_write_failure_is_503_and_changes_nothing)
{
	struct gw_buf	 out;

	gw_buf_init(&out);
	if (pg) {
		test_exec(db(),
		    "CREATE FUNCTION audit_refuses() RETURNS trigger "
		    "LANGUAGE plpgsql AS $$BEGIN "
		    "RAISE EXCEPTION 'audit is read-only'; END$$");
		test_exec(db(),
		    "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit "
		    "FOR EACH ROW EXECUTE FUNCTION audit_refuses()");
	} else
		test_exec(db(),
		    "CREATE TRIGGER audit_refuses BEFORE INSERT ON audit "
		    "BEGIN SELECT RAISE(ABORT, 'audit is read-only'); END");
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-12", NULL, &out), 503);
	expect_code(&out, "ERR_UNAVAILABLE");
	ck_assert_ptr_nonnull(strstr(out.data, "Retry-After: 1\r\n"));
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 0);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM idempotency"), 0);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM audit_chain"), 0);

	/* The audit table gone altogether: the same. */
	test_exec(db(), pg ? "DROP TRIGGER audit_refuses ON audit" :
	    "DROP TRIGGER audit_refuses");
	test_exec(db(), "ALTER TABLE audit RENAME TO audit_away");
	ck_assert_int_eq(call(NULL, "POST", "/t/things", NULL,
	    "{\"id\":\"f\"}", &out), 503);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM things WHERE id = 'f'"),
	    0);
	test_exec(db(), "ALTER TABLE audit_away RENAME TO audit");

	/* Once the log takes records again, the same key goes through. */
	ck_assert_int_eq(call(NULL, "POST", TOUCH_A, "k-12", NULL, &out), 200);
	ck_assert_int_eq(test_count(db(),
	    "SELECT n FROM things WHERE id = 'a'"), 1);
	gw_buf_free(&out);
}
END_TEST

START_TEST(audit_canonical_record_is_fixed_json)
{
	struct gw_audit_item	 r;
	struct gw_buf		 c;
	unsigned char		 md[32];
	unsigned int		 mdlen = 32;
	char			 h[65], want[65];
	const char		*msg;
	int			 i;

	memset(&r, 0, sizeof(r));
	r.seq = 17;
	r.occurred_at = 1795773525;
	r.tenant_id = "acme";
	r.actor = "alice";
	r.scopes = "orch:quota orch:read";
	r.action = "quota.pause";
	r.target_type = "quota";
	r.target_id = "q-1";
	r.reason = "löad \"shed\"";
	r.trace_id = "01J";
	r.outcome = 200;
	r.hash = "ignored";
	gw_buf_init(&c);
	gw_audit_canonical(&r, &c);
	ck_assert_str_eq(c.data, "{\"seq\":17,\"occurredAt\":"
	    "\"2026-11-27T09:58:45Z\",\"tenantId\":\"acme\",\"projectId\":null,"
	    "\"actor\":\"alice\",\"clientId\":null,\"scopes\":"
	    "[\"orch:quota\",\"orch:read\"],\"action\":\"quota.pause\","
	    "\"targetType\":\"quota\",\"targetId\":\"q-1\",\"reason\":"
	    "\"löad \\\"shed\\\"\",\"ticket\":null,\"traceId\":\"01J\","
	    "\"idempotencyKey\":null,\"outcome\":200}");

	/* HMAC-SHA256(key, prev ‖ canonical), computed here independently. */
	msg = gw_arena_printf(arena, "%s%s", "ab12", c.data);
	HMAC(EVP_sha256(), KEY, 32, (const unsigned char *)msg, strlen(msg),
	    md, &mdlen);
	for (i = 0; i < 32; i++)
		snprintf(want + 2 * i, 3, "%02x", md[i]);
	gw_audit_hash((const unsigned char *)KEY, 32, "ab12", &c, h);
	ck_assert_str_eq(h, want);
	gw_buf_free(&c);
}
END_TEST

/* ---------------------------------------------------------------- */
/* audit verify */

static char *
verify(const char *tenant, int *nbad)
{
	char	*buf = NULL, *s;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(gw_audit_verify(app.store, tenant, fp, nbad), GW_OK);
	fclose(fp);
	s = gw_arena_strdup(arena, buf);
	free(buf);
	return s;
}

/* acme 1 2, globex 3, acme 4 5 */
static void
five_records(void)
{
	struct gw_buf	 out;
	int		 i;

	gw_buf_init(&out);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(call(i == 2 ? tok_globex : NULL, "POST",
		    i == 2 ? "/t/things/g/touch" : TOUCH_A, NULL, NULL, &out),
		    200);
	gw_buf_free(&out);
}

static const struct {
	const char	*name;
	const char	*sql;
	const char	*tenant;
	const char	*want;
} tamper[] = {
	{ "untouched", "SELECT 1", NULL,
	    "tenant acme: ok, 4 records, head seq 5\n"
	    "tenant globex: ok, 1 record, head seq 3\n" },
	{ "one tenant", "SELECT 1", "globex",
	    "tenant globex: ok, 1 record, head seq 3\n" },
	{ "byte flipped", "UPDATE audit SET reason = 'becausf' WHERE seq = 2",
	    "acme",
	    "tenant acme: record seq 2: hash does not match (changed, "
	    "reordered or forged)\n" },
	{ "hash flipped", "UPDATE audit SET hash = CASE WHEN "
	    "substr(hash, 1, 1) = '0' THEN '1' ELSE '0' END || substr(hash, 2) "
	    "WHERE seq = 4", "acme",
	    "tenant acme: record seq 4: hash does not match (changed, "
	    "reordered or forged)\n" },
	{ "record deleted", "DELETE FROM audit WHERE seq = 2", "acme",
	    "tenant acme: record after seq 1 missing\n" },
	{ "first record deleted", "DELETE FROM audit WHERE seq = 1", "acme",
	    "tenant acme: record before seq 2 missing\n" },
	{ "last record deleted", "DELETE FROM audit WHERE seq = 5", "acme",
	    "tenant acme: record after seq 4 missing (chain head at seq 5)\n" },
	{ "every record deleted", "DELETE FROM audit WHERE tenant_id = 'acme'",
	    "acme", "tenant acme: every record missing (chain head at seq 5)\n" },
	{ "two reordered", "UPDATE audit SET seq = -2 WHERE seq = 2; "
	    "UPDATE audit SET seq = 2 WHERE seq = 4; "
	    "UPDATE audit SET seq = 4 WHERE seq = -2", "acme",
	    "tenant acme: record seq 2: hash does not match (changed, "
	    "reordered or forged)\n" },
	{ "forged record inserted", "DELETE FROM audit WHERE seq = 3; "
	    "INSERT INTO audit SELECT 3, occurred_at, tenant_id, project_id, "
	    "actor, client_id, scopes, action, target_type, target_id, "
	    "'forged', ticket, trace_id, idempotency_key, outcome, hash, "
	    "'5c9b7f1d0c2a4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f' "
	    "FROM audit WHERE seq = 2", "acme",
	    "tenant acme: record seq 3: hash does not match (changed, "
	    "reordered or forged)\n" },
	{ "moved to another tenant", "UPDATE audit SET tenant_id = 'globex' "
	    "WHERE seq = 4", NULL,
	    "tenant acme: record after seq 2 missing\n"
	    "tenant globex: record seq 4: hash does not match (changed, "
	    "reordered or forged)\n" },
	{ "chain head deleted", "DELETE FROM audit_chain WHERE "
	    "tenant_id = 'acme'", "acme", "tenant acme: chain head missing\n" },
	{ "chain head rewound", "UPDATE audit_chain SET seq = 4 WHERE "
	    "tenant_id = 'acme'", "acme",
	    "tenant acme: chain head (seq 4) does not match the last record "
	    "(seq 5)\n" },
};

START_TEST(audit_verify_names_the_first_bad_record)
{
	int	 nbad;

	five_records();
	test_exec(db(), tamper[_i].sql);
	ck_assert_str_eq(verify(tamper[_i].tenant, &nbad), tamper[_i].want);
	ck_assert_int_eq(nbad, _i < 2 ? 0 : strstr(tamper[_i].want,
	    "globex: record") != NULL ? 2 : 1);
}
END_TEST

START_TEST(audit_chain_links_each_tenant_separately)
{
	five_records();
	ck_assert_int_eq(test_count(db(), "SELECT count(*) FROM audit WHERE "
	    "prev_hash IS NULL"), 2);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM audit a JOIN audit b ON "
	    "b.prev_hash = a.hash AND b.tenant_id = a.tenant_id"), 3);
	ck_assert_int_eq(test_count(db(),
	    "SELECT count(*) FROM audit WHERE seq = 4 AND "
	    "prev_hash = (SELECT hash FROM audit WHERE seq = 2)"), 1);
}
END_TEST

static Suite *
mutate_suite(void)
{
	Suite	*s = suite_create("mutate");
	TCase	*tc;

	tc = tcase_create("idempotency");
	tcase_add_unchecked_fixture(tc, global_setup, global_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, idem_replay_is_byte_for_byte_with_replayed_header);
	tcase_add_test(tc, idem_replay_keeps_status_and_location);
	tcase_add_test(tc, idem_other_body_is_422_key_reused);
	tcase_add_test(tc, idem_key_is_per_tenant_method_and_path);
	tcase_add_test(tc, idem_in_flight_is_409_in_progress);
	tcase_add_test(tc, idem_in_flight_with_other_body_is_422);
	tcase_add_test(tc, idem_expired_lease_is_taken_over);
	tcase_add_test(tc, idem_expired_response_is_not_replayed);
	tcase_add_test(tc, idem_purge_deletes_only_expired_by_index_range);
	tcase_add_test(tc, idem_refused_request_releases_the_key);
	tcase_add_test(tc, idem_own_txn_route_is_replayed);
	tcase_add_test(tc,
	    own_txn_route_keeps_committed_entries_and_audits_refusal);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_unchecked_fixture(tc, global_setup, global_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, audit_record_commits_with_its_change);
	tcase_add_test(tc, audit_target_names_the_created_id);
	tcase_add_test(tc, handler_refusal_writes_nothing_and_is_audited);
	tcase_add_test(tc, audit_write_failure_is_503_and_changes_nothing);
	tcase_add_test(tc, audit_canonical_record_is_fixed_json);
	tcase_add_test(tc, audit_chain_links_each_tenant_separately);
	tcase_add_loop_test(tc, audit_verify_names_the_first_bad_record, 0,
	    (int)(sizeof(tamper) / sizeof(tamper[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(mutate_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_ENV);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
