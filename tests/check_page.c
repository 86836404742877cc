/*
 * check_page.c: continuation tokens and limits (SPEC §7, §9;
 * reliability.md §3.10).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "extern.h"

#define NOW	1795773525	/* 2026-11-27T09:58:45Z */
#define HOUR	1795773600	/* 2026-11-27T10:00:00Z */
#define TTL	86400

static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeF";
static const struct gw_route sources = { GW_GET, "/jobengine/sources",
    "orch:read", 0, NULL, NULL, NULL };
static const struct gw_route quotas = { GW_GET, "/jobengine/quotas",
    "orch:quota", 0, NULL, NULL, NULL };

static struct gw_app	 app;
static struct gw_req	 req;
static unsigned char	 bind0[32];

static void
setup(void)
{
	memset(&app, 0, sizeof(app));
	app.conf.server_key = (unsigned char *)key1;
	app.conf.server_keylen = sizeof(key1);
	app.conf.token_ttl = TTL;
	memset(&req, 0, sizeof(req));
	req.app = &app;
	req.arena = gw_arena_new();
	req.now = NOW;
	req.route = &sources;
	req.trace_id = "01TEST";
	req.principal.tenant = "t1";
	req.details_tail = &req.details;
	gw_page_binding(&req, bind0);
}

static void
teardown(void)
{
	gw_arena_free(req.arena);
}

static void
query(const char *k, const char *v)
{
	req.query[req.nquery].key = k;
	req.query[req.nquery].val = v;
	req.nquery++;
}

/* A token for bind0 with the given keys, as a NUL-terminated string. */
static char *
mint(const unsigned char *binding, int64_t exp, const char *const *k,
    int n)
{
	struct gw_buf	 b;
	char		*s;

	gw_buf_init(&b);
	ck_assert_int_eq(gw_page_encode(key1, sizeof(key1), binding, exp, k,
	    n, &b), 0);
	s = gw_arena_strdup(req.arena, b.data);
	gw_buf_free(&b);
	return s;
}

static enum gw_err
decode(const unsigned char *binding, int64_t now, const char *tok,
    const char **k, int *n)
{
	return gw_page_decode(key1, sizeof(key1), binding, now, tok,
	    req.arena, k, n);
}

/* A token whose bytes are raw (up to the MAC), with a valid MAC. */
static char *
craft(const unsigned char *raw, size_t len)
{
	unsigned char	 buf[1024];
	char		*s;

	memcpy(buf, raw, len);
	gw_hmac_sha256(key1, sizeof(key1), raw, len, buf + len);
	s = gw_arena_alloc(req.arena, gw_b64url_enclen(len + 32) + 1);
	gw_b64url_encode(buf, len + 32, s);
	return s;
}

/* version, exp, binding, nkey: the fixed 26-byte head. */
static size_t
head(unsigned char *raw, int version, int64_t exp, int nkey)
{
	int	 i;

	raw[0] = (unsigned char)version;
	for (i = 0; i < 8; i++)
		raw[1 + i] = (unsigned char)((uint64_t)exp >> (56 - 8 * i));
	memcpy(raw + 9, bind0, 16);
	raw[25] = (unsigned char)nkey;
	return 26;
}

START_TEST(round_trip_with_0_to_4_keys)
{
	static const char *const keys[4] = {
		"alpha", "", "caf\xc3\xa9 / \"q\"", "0190d5a0-0000-7000-8000-1",
	};
	const char	*out[GW_PAGE_MAXKEY];
	char		*tok;
	int		 n, i, nout;

	for (n = 0; n <= 4; n++) {
		tok = mint(bind0, HOUR, keys, n);
		ck_assert_int_eq(decode(bind0, NOW, tok, out, &nout), GW_OK);
		ck_assert_int_eq(nout, n);
		for (i = 0; i < n; i++)
			ck_assert_str_eq(out[i], keys[i]);
	}
}
END_TEST

START_TEST(more_than_4_keys_cannot_be_encoded)
{
	static const char *const keys[5] = { "a", "b", "c", "d", "e" };
	struct gw_buf	 b;

	gw_buf_init(&b);
	ck_assert_int_eq(gw_page_encode(key1, 32, bind0, HOUR, keys, 5, &b),
	    -1);
	ck_assert_int_eq(gw_page_encode(key1, 32, bind0, HOUR, keys, -1, &b),
	    -1);
	gw_buf_free(&b);
}
END_TEST

START_TEST(every_character_change_is_refused)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	static const char *const keys[2] = { "scan", "0190d5a0" };
	const char	*out[GW_PAGE_MAXKEY];
	char		*tok, orig;
	size_t		 i, len, c;
	int		 n;

	tok = mint(bind0, HOUR, keys, 2);
	len = strlen(tok);
	for (i = 0; i < len; i++) {
		orig = tok[i];
		for (c = 0; c < sizeof(alpha) - 1; c++) {
			if (alpha[c] == orig)
				continue;
			tok[i] = alpha[c];
			ck_assert_msg(decode(bind0, NOW, tok, out, &n) ==
			    GW_ERR_INVALID_CONTINUATION_TOKEN,
			    "position %zu changed to %c accepted", i, alpha[c]);
		}
		tok[i] = orig;
	}
	ck_assert_int_eq(decode(bind0, NOW, tok, out, &n), GW_OK);
}
END_TEST

START_TEST(every_bit_flip_is_refused)
{
	static const char *const keys[2] = { "scan", "0190d5a0" };
	const char	*out[GW_PAGE_MAXKEY];
	unsigned char	 raw[1024];
	char		*tok, *t2;
	long		 len;
	long		 i;
	int		 bit, n;

	tok = mint(bind0, HOUR, keys, 2);
	len = gw_b64url_decode(tok, strlen(tok), raw);
	ck_assert_int_gt(len, 58);
	t2 = gw_arena_alloc(req.arena, strlen(tok) + 1);
	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			raw[i] ^= 1 << bit;
			gw_b64url_encode(raw, (size_t)len, t2);
			ck_assert_msg(decode(bind0, NOW, t2, out, &n) ==
			    GW_ERR_INVALID_CONTINUATION_TOKEN,
			    "byte %ld bit %d flipped accepted", i, bit);
			raw[i] ^= 1 << bit;
		}
}
END_TEST

START_TEST(truncated_token_is_refused)
{
	static const char *const keys[1] = { "scan" };
	const char	*out[GW_PAGE_MAXKEY];
	char		*tok;
	size_t		 len;
	int		 n;

	tok = mint(bind0, HOUR, keys, 1);
	for (len = strlen(tok); len-- > 0; ) {
		tok[len] = '\0';
		ck_assert_int_eq(decode(bind0, NOW, tok, out, &n),
		    GW_ERR_INVALID_CONTINUATION_TOKEN);
	}
}
END_TEST

START_TEST(token_of_another_server_key_is_refused)
{
	static const char *const keys[1] = { "scan" };
	const char	*out[GW_PAGE_MAXKEY];
	struct gw_buf	 b;
	int		 n;

	gw_buf_init(&b);
	ck_assert_int_eq(gw_page_encode(key2, 32, bind0, HOUR, keys, 1, &b),
	    0);
	ck_assert_int_eq(decode(bind0, NOW, b.data, out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	gw_buf_free(&b);
}
END_TEST

/* Each change to the request that a token must not survive. */
static void
other_tenant(void)
{
	req.principal.tenant = "t2";
}

static void
other_project(void)
{
	req.principal.project = "p1";
}

static void
other_route(void)
{
	req.route = &quotas;
}

static void
other_filter_value(void)
{
	req.nquery = 0;
	query("sourceType", "git");
}

static void
extra_filter(void)
{
	req.nquery = 0;
	query("sourceType", "scm");
	query("enabled", "true");
}

static void
filter_dropped(void)
{
	req.nquery = 0;
}

static void
name_value_shift(void)
{
	/* "sourceType"="scm" must not equal "sourceTyp"="escm". */
	req.nquery = 0;
	query("sourceTyp", "escm");
}

static void (*const mismatch[])(void) = {
	other_tenant, other_project, other_route, other_filter_value,
	extra_filter, filter_dropped, name_value_shift,
};

START_TEST(token_of_another_request_shape_is_refused)
{
	static const char *const keys[1] = { "scan" };
	const char	*out[GW_PAGE_MAXKEY];
	unsigned char	 b1[32], b2[32];
	char		*tok;
	int		 n;

	query("sourceType", "scm");
	gw_page_binding(&req, b1);
	tok = mint(b1, HOUR, keys, 1);
	ck_assert_int_eq(decode(b1, NOW, tok, out, &n), GW_OK);
	mismatch[_i]();
	gw_page_binding(&req, b2);
	ck_assert_int_ne(memcmp(b1, b2, 32), 0);
	ck_assert_int_eq(decode(b2, NOW, tok, out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

START_TEST(binding_ignores_limit_token_and_parameter_order)
{
	unsigned char	 b1[32], b2[32];

	query("sourceType", "scm");
	query("enabled", "true");
	query("limit", "10");
	gw_page_binding(&req, b1);
	req.nquery = 0;
	query("continuationToken", "AAAA");
	query("enabled", "true");
	query("limit", "200");
	query("sourceType", "scm");
	gw_page_binding(&req, b2);
	ck_assert_int_eq(memcmp(b1, b2, 32), 0);
	req.nquery = 0;
	gw_page_binding(&req, b2);
	ck_assert_int_ne(memcmp(b1, b2, 32), 0);
	/* No project and no filters: the binding of setup(). */
	ck_assert_int_eq(memcmp(b2, bind0, 32), 0);
}
END_TEST

START_TEST(expired_at_exp_plus_1_valid_at_exp)
{
	static const char *const keys[1] = { "scan" };
	const char	*out[GW_PAGE_MAXKEY];
	char		*tok;
	int		 n;

	tok = mint(bind0, HOUR, keys, 1);
	ck_assert_int_eq(decode(bind0, HOUR, tok, out, &n), GW_OK);
	ck_assert_int_eq(decode(bind0, HOUR + 1, tok, out, &n),
	    GW_ERR_CONTINUATION_TOKEN_EXPIRED);
	ck_assert_int_eq(n, 0);
	/* Expiry is only told for a token of this request shape. */
	ck_assert_int_eq(decode(bind0, HOUR + 1, "AAAA", out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

/* The token gw_page_end writes, from {"continuationToken":"..."}. */
static char *
page_end_token(int64_t now, int more)
{
	static const char *const keys[1] = { "scan" };
	struct gw_buf	 b;
	struct gw_json	 j;
	char		*s;

	req.now = now;
	gw_buf_init(&b);
	gw_json_init(&j, &b);
	gw_json_obj_open(&j);
	gw_page_end(&req, &j, more, keys, 1);
	gw_json_obj_close(&j);
	if (!more) {
		ck_assert_str_eq(b.data, "{\"continuationToken\":null}");
		gw_buf_free(&b);
		return NULL;
	}
	ck_assert_int_eq(strncmp(b.data, "{\"continuationToken\":\"", 22), 0);
	ck_assert_int_eq(b.data[b.len - 2], '"');
	s = gw_arena_strndup(req.arena, b.data + 22, b.len - 24);
	gw_buf_free(&b);
	return s;
}

START_TEST(expiry_rounds_up_to_the_next_hour)
{
	const char	*out[GW_PAGE_MAXKEY];
	char		*a, *b;
	int		 n;

	/* 09:58:45 + 24 h rounds up to 10:00:00 the next day. */
	a = page_end_token(NOW, 1);
	ck_assert_int_eq(decode(bind0, HOUR + TTL, a, out, &n), GW_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(out[0], "scan");
	ck_assert_int_eq(decode(bind0, HOUR + TTL + 1, a, out, &n),
	    GW_ERR_CONTINUATION_TOKEN_EXPIRED);
	/* Anywhere in the same hour: the same bytes. */
	b = page_end_token(HOUR - 3599, 1);
	ck_assert_str_eq(a, b);
	b = page_end_token(HOUR, 1);
	ck_assert_str_eq(a, b);
	/* An exact hour boundary stays as is. */
	ck_assert_int_eq(decode(bind0, HOUR + TTL, b, out, &n), GW_OK);
	b = page_end_token(HOUR + 1, 1);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(decode(bind0, HOUR + TTL + 3600, b, out, &n), GW_OK);
	ck_assert_int_eq(decode(bind0, HOUR + TTL + 3601, b, out, &n),
	    GW_ERR_CONTINUATION_TOKEN_EXPIRED);
}
END_TEST

START_TEST(last_page_writes_null)
{
	ck_assert_ptr_null(page_end_token(NOW, 0));
}
END_TEST

START_TEST(length_cap_is_1024_characters)
{
	const char	*out[GW_PAGE_MAXKEY], *k[1];
	struct gw_buf	 b;
	char		*big, *tok;
	int		 n;

	/* 26 head + 2 + 708 + 32 MAC = 768 bytes = 1024 characters. */
	big = gw_arena_alloc(req.arena, 1100);
	memset(big, 'k', 1099);
	big[1099] = '\0';
	big[708] = '\0';
	k[0] = big;
	tok = mint(bind0, HOUR, k, 1);
	ck_assert_uint_eq(strlen(tok), 1024);
	ck_assert_int_eq(decode(bind0, NOW, tok, out, &n), GW_OK);
	ck_assert_uint_eq(strlen(out[0]), 708);
	big[708] = 'k';
	big[709] = '\0';
	gw_buf_init(&b);
	ck_assert_int_eq(gw_page_encode(key1, 32, bind0, HOUR, k, 1, &b), -1);
	gw_buf_free(&b);
	/* 1025 characters are refused before anything else. */
	memset(big, 'A', 1025);
	big[1025] = '\0';
	ck_assert_int_eq(decode(bind0, NOW, big, out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

START_TEST(foreign_characters_are_refused)
{
	static const char *const keys[1] = { "scan" };
	static const char *const bad[] = { "=", "+", "/", " ", "%", "." };
	const char	*out[GW_PAGE_MAXKEY];
	char		*tok, *t2;
	size_t		 i;
	int		 n;

	tok = mint(bind0, HOUR, keys, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t2 = gw_arena_printf(req.arena, "%s%s", tok, bad[i]);
		ck_assert_int_eq(decode(bind0, NOW, t2, out, &n),
		    GW_ERR_INVALID_CONTINUATION_TOKEN);
		t2 = gw_arena_printf(req.arena, "%s%s", bad[i], tok + 1);
		ck_assert_int_eq(decode(bind0, NOW, t2, out, &n),
		    GW_ERR_INVALID_CONTINUATION_TOKEN);
	}
	ck_assert_int_eq(decode(bind0, NOW, "", out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

START_TEST(signed_but_malformed_fields_are_refused)
{
	const char	*out[GW_PAGE_MAXKEY];
	unsigned char	 raw[256];
	size_t		 len;
	int		 n;

	/* The crafting itself is right: a good token decodes. */
	len = head(raw, 1, HOUR, 1);
	raw[len++] = 0;
	raw[len++] = 1;
	raw[len++] = 'x';
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n), GW_OK);
	ck_assert_str_eq(out[0], "x");

	/* unknown version */
	raw[0] = 2;
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	raw[0] = 1;
	/* a NUL inside a key */
	raw[len - 1] = '\0';
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	raw[len - 1] = 'x';
	/* a key length past the end */
	raw[len - 2] = 2;
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	raw[len - 2] = 1;
	/* bytes after the last key */
	raw[len] = 'y';
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len + 1), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	/* more keys announced than present, and more than allowed */
	raw[25] = 2;
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	len = head(raw, 1, HOUR, 5);
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, len), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	/* too short to hold a MAC */
	ck_assert_int_eq(decode(bind0, NOW, craft(raw, 10), out, &n),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

START_TEST(random_key_sets_round_trip)
{
	const char	*out[GW_PAGE_MAXKEY];
	char		*keys[GW_PAGE_MAXKEY], *tok, *env;
	unsigned	 seed, r;
	int		 i, k, n, nout;
	size_t		 len, c;

	seed = (env = getenv("GW_TEST_SEED")) != NULL ?
	    (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
	r = seed;
	for (i = 0; i < 1000; i++) {
		n = rand_r(&r) % (GW_PAGE_MAXKEY + 1);
		for (k = 0; k < n; k++) {
			len = (size_t)(rand_r(&r) % 150);
			keys[k] = gw_arena_alloc(req.arena, len + 1);
			for (c = 0; c < len; c++)
				keys[k][c] = (char)(1 + rand_r(&r) % 255);
			keys[k][len] = '\0';
		}
		tok = mint(bind0, HOUR, (const char *const *)keys, n);
		ck_assert_msg(decode(bind0, NOW, tok, out, &nout) == GW_OK &&
		    nout == n, "seed %u (GW_TEST_SEED), case %d", seed, i);
		for (k = 0; k < n; k++)
			ck_assert_msg(strcmp(out[k], keys[k]) == 0,
			    "seed %u (GW_TEST_SEED), case %d key %d",
			    seed, i, k);
		gw_arena_reset(req.arena);
	}
}
END_TEST

static const struct {
	const char	*limit;
	int		 expect;	/* 0: ERR_INVALID_LIMIT */
} limits[] = {
	{ NULL, 50 }, { "1", 1 }, { "50", 50 }, { "200", 200 },
	{ "0", 0 }, { "201", 0 }, { "abc", 0 }, { "1e2", 0 }, { "+5", 0 },
	{ "-1", 0 }, { "", 0 }, { " 5", 0 }, { "5 ", 0 }, { "05", 0 },
	{ "50.0", 0 }, { "99999999999999999999999", 0 },
};

START_TEST(limit_is_an_integer_from_1_to_200)
{
	struct gw_page	 page;
	enum gw_err	 err;

	if (limits[_i].limit != NULL)
		query("limit", limits[_i].limit);
	err = gw_page_begin(&req, &page);
	if (limits[_i].expect == 0) {
		ck_assert_int_eq(err, GW_ERR_INVALID_LIMIT);
		ck_assert_int_eq(req.err, GW_ERR_INVALID_LIMIT);
		ck_assert_ptr_nonnull(req.details);
		ck_assert_str_eq(req.details->pointer, "limit");
		ck_assert_str_eq(req.details->message,
		    "limit must be an integer from 1 to 200");
	} else {
		ck_assert_int_eq(err, GW_OK);
		ck_assert_int_eq(page.limit, limits[_i].expect);
		ck_assert_int_eq(page.nkey, 0);
	}
}
END_TEST

START_TEST(page_begin_reads_the_token_of_page_end)
{
	struct gw_page	 page;
	char		*tok;

	query("sourceType", "scm");
	tok = page_end_token(NOW, 1);
	req.now = NOW + 3600;
	query("limit", "10");
	query("continuationToken", tok);
	ck_assert_int_eq(gw_page_begin(&req, &page), GW_OK);
	ck_assert_int_eq(page.limit, 10);
	ck_assert_int_eq(page.nkey, 1);
	ck_assert_str_eq(page.key[0], "scan");
}
END_TEST

START_TEST(page_begin_refuses_a_mismatched_token)
{
	struct gw_page	 page;
	char		*tok;

	tok = page_end_token(NOW, 1);
	req.principal.tenant = "t2";
	query("continuationToken", tok);
	ck_assert_int_eq(gw_page_begin(&req, &page),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
	ck_assert_int_eq(req.err, GW_ERR_INVALID_CONTINUATION_TOKEN);
	ck_assert_str_eq(req.details->pointer, "continuationToken");
	ck_assert_int_eq(page.nkey, 0);
}
END_TEST

START_TEST(page_begin_refuses_an_expired_token)
{
	struct gw_page	 page;
	char		*tok;

	tok = page_end_token(NOW, 1);
	req.now = HOUR + TTL + 1;
	query("continuationToken", tok);
	ck_assert_int_eq(gw_page_begin(&req, &page),
	    GW_ERR_CONTINUATION_TOKEN_EXPIRED);
	ck_assert_str_eq(req.details->pointer, "continuationToken");
}
END_TEST

START_TEST(page_begin_refuses_an_empty_token)
{
	struct gw_page	 page;

	query("continuationToken", "");
	ck_assert_int_eq(gw_page_begin(&req, &page),
	    GW_ERR_INVALID_CONTINUATION_TOKEN);
}
END_TEST

static Suite *
page_suite(void)
{
	Suite	*s = suite_create("gw_page");
	TCase	*tc;

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip_with_0_to_4_keys);
	tcase_add_test(tc, more_than_4_keys_cannot_be_encoded);
	tcase_add_test(tc, every_character_change_is_refused);
	tcase_add_test(tc, every_bit_flip_is_refused);
	tcase_add_test(tc, truncated_token_is_refused);
	tcase_add_test(tc, token_of_another_server_key_is_refused);
	tcase_add_loop_test(tc, token_of_another_request_shape_is_refused, 0,
	    sizeof(mismatch) / sizeof(mismatch[0]));
	tcase_add_test(tc, binding_ignores_limit_token_and_parameter_order);
	tcase_add_test(tc, expired_at_exp_plus_1_valid_at_exp);
	tcase_add_test(tc, expiry_rounds_up_to_the_next_hour);
	tcase_add_test(tc, last_page_writes_null);
	tcase_add_test(tc, length_cap_is_1024_characters);
	tcase_add_test(tc, foreign_characters_are_refused);
	tcase_add_test(tc, signed_but_malformed_fields_are_refused);
	tcase_add_test(tc, random_key_sets_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, limit_is_an_integer_from_1_to_200, 0,
	    sizeof(limits) / sizeof(limits[0]));
	tcase_add_test(tc, page_begin_reads_the_token_of_page_end);
	tcase_add_test(tc, page_begin_refuses_a_mismatched_token);
	tcase_add_test(tc, page_begin_refuses_an_expired_token);
	tcase_add_test(tc, page_begin_refuses_an_empty_token);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(page_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
