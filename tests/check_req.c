/*
 * check_req: the request, routing, error envelope and response
 * serialisation (gw_req.c, gw_route.c, gw_err.c, gw_resp.c).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

static struct gw_arena	*arena;

static void
setup(void)
{
	arena = gw_arena_new();
}

static void
teardown(void)
{
	gw_arena_free(arena);
}

static enum gw_err
h_ok(struct gw_req *req, struct gw_resp *resp)
{
	(void)req;
	(void)resp;
	return GW_OK;
}

static const struct gw_qparam q_list[] = {
	{ "jobType", GW_Q_STRING },
	{ "paused", GW_Q_BOOL },
	{ "since", GW_Q_TIME },
	{ "sourceId", GW_Q_ID },
	{ "limit", GW_Q_LIMIT },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET | GW_POST, "/jobengine/quotas", "orch:quota", 0, q_list,
	    NULL, h_ok },
	{ GW_GET, "/jobengine/quotas/summary", "orch:quota", 0, NULL, NULL,
	    h_ok },
	{ GW_GET, "/jobengine/quotas/{id}", "orch:quota", 0, NULL, NULL,
	    h_ok },
	{ GW_PUT, "/jobengine/quotas/{id}", "orch:quota", 0, NULL, NULL,
	    h_ok },
	{ GW_POST, "/jobengine/quotas/{id}/pause", "orch:quota", 0, NULL,
	    NULL, h_ok },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void
mkreq(struct gw_req *req, const char *method, const char *uri)
{
	static char	*envp[8];
	static char	 m[64], u[512];

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	envp[0] = m;
	envp[1] = u;
	envp[2] = NULL;
	gw_req_init(req, NULL, arena, envp, NULL, NULL);
}

START_TEST(test_path_comes_from_request_uri)
{
	struct gw_req	 req;

	mkreq(&req, "GET", "/jobengine/quotas/q-1?limit=5");
	ck_assert_str_eq(req.path, "/jobengine/quotas/q-1");
	ck_assert_str_eq(req.query_string, "limit=5");
	ck_assert_int_eq(req.method, GW_GET);
}
END_TEST

static const struct {
	const char	*method;
	const char	*uri;
	enum gw_err	 err;
	int		 route;		/* index into routes, or -1 */
	const char	*id;
	unsigned	 allow;
} route_cases[] = {
	{ "GET", "/jobengine/quotas", GW_OK, 0, NULL, 0 },
	{ "HEAD", "/jobengine/quotas", GW_OK, 0, NULL, 0 },
	{ "POST", "/jobengine/quotas", GW_OK, 0, NULL, 0 },
	{ "GET", "/jobengine/quotas/summary", GW_OK, 1, NULL, 0 },
	/* summary is matched before {id}, whatever the method */
	{ "PUT", "/jobengine/quotas/summary", GW_ERR_METHOD_NOT_ALLOWED, -1,
	    NULL, GW_GET | GW_HEAD },
	{ "GET", "/jobengine/quotas/q-1", GW_OK, 2, "q-1", 0 },
	{ "PUT", "/jobengine/quotas/q-1", GW_OK, 3, "q-1", 0 },
	{ "DELETE", "/jobengine/quotas/q-1", GW_ERR_METHOD_NOT_ALLOWED, -1,
	    NULL, GW_GET | GW_HEAD | GW_PUT },
	{ "POST", "/jobengine/quotas/q-1/pause", GW_OK, 4, "q-1", 0 },
	{ "GET", "/jobengine/quotas/q-1/pause", GW_ERR_METHOD_NOT_ALLOWED, -1,
	    NULL, GW_POST },
	{ "GET", "/jobengine/quotasX", GW_ERR_ROUTE_NOT_FOUND, -1, NULL, 0 },
	{ "GET", "/jobengine/quotas/", GW_ERR_ROUTE_NOT_FOUND, -1, NULL, 0 },
	{ "GET", "/jobengine/quotas//pause", GW_ERR_ROUTE_NOT_FOUND, -1,
	    NULL, 0 },
	{ "GET", "/jobengine", GW_ERR_ROUTE_NOT_FOUND, -1, NULL, 0 },
	{ "GET", "/jobengine/quotas/a/b", GW_ERR_ROUTE_NOT_FOUND, -1, NULL, 0 },
	{ "PATCH", "/jobengine/quotas", GW_ERR_METHOD_NOT_ALLOWED, -1, NULL,
	    GW_GET | GW_HEAD | GW_POST },
};

START_TEST(test_route_table)
{
	struct gw_req	 req;
	enum gw_err	 err;

	mkreq(&req, route_cases[_i].method, route_cases[_i].uri);
	err = gw_route_match(&req, routes, NROUTES);
	ck_assert_msg(err == route_cases[_i].err, "%s %s: %d",
	    route_cases[_i].method, route_cases[_i].uri, err);
	if (route_cases[_i].route >= 0)
		ck_assert_ptr_eq(req.route, &routes[route_cases[_i].route]);
	if (route_cases[_i].id != NULL)
		ck_assert_str_eq(req.id, route_cases[_i].id);
	if (err == GW_ERR_METHOD_NOT_ALLOWED)
		ck_assert_uint_eq(req.allow, route_cases[_i].allow);
}
END_TEST

static const struct {
	const char	*query;
	enum gw_err	 err;
	const char	*pointer;	/* details[0] */
} query_cases[] = {
	{ "", GW_OK, NULL },
	{ "jobType=scan.image", GW_OK, NULL },
	{ "jobType=a%20b&paused=true", GW_OK, NULL },
	{ "jobType=a+b", GW_OK, NULL },
	{ "paused=false&limit=5", GW_OK, NULL },
	{ "since=2026-11-27T09:58:45Z", GW_OK, NULL },
	{ "sourceId=src-1", GW_OK, NULL },
	{ "paused=TRUE", GW_ERR_INVALID_QUERY, "paused" },
	{ "paused=1", GW_ERR_INVALID_QUERY, "paused" },
	{ "paused=", GW_ERR_INVALID_QUERY, "paused" },
	{ "since=2026-11-27", GW_ERR_INVALID_QUERY, "since" },
	{ "sourceId=a%2Fb", GW_ERR_INVALID_QUERY, "sourceId" },
	{ "jobType=", GW_ERR_INVALID_QUERY, "jobType" },
	{ "sort=name", GW_ERR_INVALID_QUERY, "sort" },
	{ "paused=true&paused=false", GW_ERR_INVALID_QUERY, "paused" },
	{ "jobType=%zz", GW_ERR_INVALID_QUERY, NULL },
	{ "jobType=%4", GW_ERR_INVALID_QUERY, NULL },
	{ "jobType=%0a", GW_ERR_INVALID_QUERY, NULL },
	{ "jobType=%ff", GW_ERR_INVALID_QUERY, NULL },
	{ "a=1&&b=2", GW_ERR_INVALID_QUERY, NULL },
	{ "=5", GW_ERR_INVALID_QUERY, NULL },
};

START_TEST(test_query_rules)
{
	struct gw_req	 req;
	char		 uri[256];
	enum gw_err	 err;

	snprintf(uri, sizeof(uri), "/jobengine/quotas?%s",
	    query_cases[_i].query);
	mkreq(&req, "GET", uri);
	ck_assert_int_eq(gw_route_match(&req, routes, NROUTES), GW_OK);
	if ((err = gw_req_parse_query(&req)) == GW_OK)
		err = gw_route_check_query(&req);
	ck_assert_msg(err == query_cases[_i].err, "%s: %d",
	    query_cases[_i].query, err);
	if (query_cases[_i].pointer != NULL) {
		ck_assert_ptr_nonnull(req.details);
		ck_assert_str_eq(req.details->pointer,
		    query_cases[_i].pointer);
	}
}
END_TEST

START_TEST(test_query_values_are_decoded)
{
	struct gw_req	 req;

	mkreq(&req, "GET", "/jobengine/quotas?jobType=a%2Bb+c");
	ck_assert_int_eq(gw_req_parse_query(&req), GW_OK);
	ck_assert_str_eq(gw_req_query(&req, "jobType"), "a+b c");
	ck_assert_ptr_null(gw_req_query(&req, "paused"));
}
END_TEST

START_TEST(test_trace_id_kept_when_valid)
{
	struct gw_req	 req;
	char		*envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
			    "HTTP_X_STELLA_TRACE_ID=abc.DEF:1-2_", NULL };
	char		*bad[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
			    "HTTP_X_STELLA_TRACE_ID=a b", NULL };

	gw_req_init(&req, NULL, arena, envp, NULL, NULL);
	ck_assert_str_eq(req.trace_id, "abc.DEF:1-2_");
	gw_req_init(&req, NULL, arena, bad, NULL, NULL);
	ck_assert_uint_eq(strlen(req.trace_id), 26);	/* a new ULID */
}
END_TEST

START_TEST(test_header_lookup)
{
	struct gw_req	 req;
	char		*envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
			    "HTTP_IF_NONE_MATCH=\"a\"", "CONTENT_TYPE=text/x",
			    "HTTP_DPOP=p1", "HTTP_DPOP=p2", NULL };

	gw_req_init(&req, NULL, arena, envp, NULL, NULL);
	ck_assert_str_eq(gw_req_header(&req, "If-None-Match"), "\"a\"");
	ck_assert_str_eq(gw_req_header(&req, "content-type"), "text/x");
	ck_assert_int_eq(gw_req_env_count(&req, "HTTP_DPOP"), 2);
	ck_assert_ptr_null(gw_req_header(&req, "If-Match"));
}
END_TEST

static int
read_short(void *ctx, char *buf, int n)
{
	int	*left = ctx;
	int	 k = n < *left ? n : *left;

	memset(buf, 'x', (size_t)k);
	*left -= k;
	return k;
}

START_TEST(test_short_body_is_invalid_body)
{
	struct gw_req	 req;
	char		*envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
			    NULL };
	int		 left = 5;

	gw_req_init(&req, NULL, arena, envp, read_short, &left);
	ck_assert_int_eq(gw_req_read_body(&req, 10, 100), GW_ERR_INVALID_BODY);
	left = 10;
	gw_req_init(&req, NULL, arena, envp, read_short, &left);
	ck_assert_int_eq(gw_req_read_body(&req, 10, 100), GW_OK);
	ck_assert_uint_eq(req.bodylen, 10);
}
END_TEST

START_TEST(test_body_without_length_is_read_to_its_end)
{
	struct gw_req	 req;
	char		*envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
			    NULL };
	int		 left = 100;

	gw_req_init(&req, NULL, arena, envp, read_short, &left);
	ck_assert_int_eq(gw_req_read_body(&req, -1, 100), GW_OK);
	ck_assert_uint_eq(req.bodylen, 100);
	left = 101;
	gw_req_init(&req, NULL, arena, envp, read_short, &left);
	ck_assert_int_eq(gw_req_read_body(&req, -1, 100),
	    GW_ERR_PAYLOAD_TOO_LARGE);
}
END_TEST

START_TEST(test_every_code_has_an_entry)
{
	const struct gw_errinfo	*e;
	int			 i;

	for (i = 1; i < GW_ERR__MAX; i++) {
		e = gw_err_info((enum gw_err)i);
		ck_assert_msg(e->code != NULL && strncmp(e->code, "ERR_", 4)
		    == 0, "code %d", i);
		ck_assert_int_ge(e->status, 400);
	}
	ck_assert_int_eq(gw_err_info(GW_ERR_TENANT_MISMATCH)->status, 400);
	ck_assert_int_eq(gw_err_info(GW_ERR_UNAVAILABLE)->status, 503);
}
END_TEST

static void
respond(struct gw_req *req, struct gw_buf *out)
{
	struct gw_resp	 resp;

	gw_resp_init(&resp, arena);
	gw_err_respond(req, &resp);
	gw_buf_init(out);
	gw_resp_serialize(req, &resp, out);
	gw_resp_cleanup(&resp);
}

START_TEST(test_error_envelope_with_details)
{
	struct gw_req	 req;
	struct gw_buf	 out;
	char		*envp[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/x",
			    "HTTP_X_STELLA_TRACE_ID=t-1", NULL };
	const char	*want = "Status: 400 Bad Request\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: 153\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Stella-Trace-Id: t-1\r\n\r\n"
	    "{\"error\":{\"code\":\"ERR_INVALID_BODY\",\"message\":\"must be an "
	    "integer\",\"trace_id\":\"t-1\",\"details\":[{\"pointer\":"
	    "\"/maxActive\",\"message\":\"must be an integer\"}]}}";

	gw_req_init(&req, NULL, arena, envp, NULL, NULL);
	gw_fail(&req, GW_ERR_INVALID_BODY, "/maxActive", "must be an integer");
	respond(&req, &out);
	ck_assert_str_eq(out.data, want);
	gw_buf_free(&out);
}
END_TEST

START_TEST(test_error_without_details_has_no_member)
{
	struct gw_req	 req;
	struct gw_buf	 out;
	char		*envp[] = { "REQUEST_METHOD=GET", "REQUEST_URI=/x",
			    "HTTP_X_STELLA_TRACE_ID=t-2", NULL };

	gw_req_init(&req, NULL, arena, envp, NULL, NULL);
	req.err = GW_ERR_QUOTA_NOT_FOUND;
	respond(&req, &out);
	ck_assert_ptr_nonnull(strstr(out.data, "Status: 404 Not Found\r\n"));
	ck_assert_ptr_nonnull(strstr(out.data, "{\"error\":{\"code\":"
	    "\"ERR_QUOTA_NOT_FOUND\",\"message\":\"quota not found\","
	    "\"trace_id\":\"t-2\"}}"));
	gw_buf_free(&out);
}
END_TEST

static const struct {
	enum gw_err	 err;
	const char	*scheme;
	const char	*header;
} challenge_cases[] = {
	{ GW_ERR_AUTHENTICATION_REQUIRED, NULL, "WWW-Authenticate: Bearer "
	    "realm=\"jobengine\", DPoP algs=\"ES256 RS256 PS256\"\r\n" },
	{ GW_ERR_INVALID_TOKEN, "Bearer",
	    "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n" },
	{ GW_ERR_INVALID_TOKEN, "DPoP",
	    "WWW-Authenticate: DPoP error=\"invalid_token\"\r\n" },
	{ GW_ERR_INVALID_DPOP_PROOF, "DPoP", "WWW-Authenticate: DPoP "
	    "error=\"invalid_dpop_proof\", algs=\"ES256 RS256 PS256\"\r\n" },
	{ GW_ERR_SCOPE_MISMATCH, "Bearer", "WWW-Authenticate: Bearer "
	    "error=\"insufficient_scope\", scope=\"orch:quota\"\r\n" },
	{ GW_ERR_UNAVAILABLE, NULL, "Retry-After: 1\r\n" },
	{ GW_ERR_METHOD_NOT_ALLOWED, NULL, "Allow: GET, HEAD, POST\r\n" },
};

START_TEST(test_error_headers)
{
	struct gw_req	 req;
	struct gw_buf	 out;

	mkreq(&req, "PATCH", "/jobengine/quotas");
	ck_assert_int_eq(gw_route_match(&req, routes, NROUTES),
	    GW_ERR_METHOD_NOT_ALLOWED);
	req.route = &routes[0];
	req.err = challenge_cases[_i].err;
	req.auth_scheme = challenge_cases[_i].scheme;
	respond(&req, &out);
	ck_assert_msg(strstr(out.data, challenge_cases[_i].header) != NULL,
	    "missing %s in %s", challenge_cases[_i].header, out.data);
	gw_buf_free(&out);
}
END_TEST

START_TEST(test_head_and_304_have_no_body)
{
	struct gw_req	 req;
	struct gw_resp	 resp;
	struct gw_buf	 out;

	mkreq(&req, "HEAD", "/x");
	gw_resp_init(&resp, arena);
	gw_json_str(gw_resp_json(&resp), "abc");
	gw_buf_init(&out);
	gw_resp_serialize(&req, &resp, &out);
	ck_assert_ptr_nonnull(strstr(out.data, "Content-Length: 5\r\n"));
	ck_assert_str_eq(strstr(out.data, "\r\n\r\n"), "\r\n\r\n");
	gw_buf_reset(&out);
	resp.status = 304;
	mkreq(&req, "GET", "/x");
	gw_resp_serialize(&req, &resp, &out);
	ck_assert_ptr_null(strstr(out.data, "Content-Type"));
	ck_assert_str_eq(strstr(out.data, "\r\n\r\n"), "\r\n\r\n");
	gw_buf_free(&out);
	gw_resp_cleanup(&resp);
}
END_TEST

static Suite *
req_suite(void)
{
	Suite	*s = suite_create("req");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_path_comes_from_request_uri);
	tcase_add_loop_test(tc, test_route_table, 0,
	    sizeof(route_cases) / sizeof(route_cases[0]));
	tcase_add_loop_test(tc, test_query_rules, 0,
	    sizeof(query_cases) / sizeof(query_cases[0]));
	tcase_add_test(tc, test_query_values_are_decoded);
	tcase_add_test(tc, test_trace_id_kept_when_valid);
	tcase_add_test(tc, test_header_lookup);
	tcase_add_test(tc, test_short_body_is_invalid_body);
	tcase_add_test(tc, test_body_without_length_is_read_to_its_end);
	tcase_add_test(tc, test_every_code_has_an_entry);
	tcase_add_test(tc, test_error_envelope_with_details);
	tcase_add_test(tc, test_error_without_details_has_no_member);
	tcase_add_loop_test(tc, test_error_headers, 0,
	    sizeof(challenge_cases) / sizeof(challenge_cases[0]));
	tcase_add_test(tc, test_head_and_304_have_no_body);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(req_suite());
	int	 failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
