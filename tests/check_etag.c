/*
 * check_etag.c: body validators and the If-None-Match / If-Match
 * comparisons (RFC 9110 §8.8.3, §13.1.1, §13.1.2).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "extern.h"

#define TAG	"\"abc\""

START_TEST(body_etag_is_22_base64url_chars_in_quotes)
{
	unsigned char	 md[32];
	char		 etag[25], b64[64];
	const char	*in = "t1\0/jobengine/sources\0{\"items\":[]}";

	gw_etag_body("t1", "/jobengine/sources", "{\"items\":[]}", 12, etag);
	ck_assert_uint_eq(strlen(etag), 24);
	ck_assert_int_eq(etag[0], '"');
	ck_assert_int_eq(etag[23], '"');
	ck_assert_uint_eq(strspn(etag + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_"), 22);
	/* SHA-256(tenant NUL route NUL body), first 22 characters. */
	gw_sha256(in, 2 + 1 + 18 + 1 + 12, md);
	gw_b64url_encode(md, sizeof(md), b64);
	ck_assert_int_eq(memcmp(etag + 1, b64, 22), 0);
}
END_TEST

START_TEST(body_etag_depends_on_tenant_route_and_every_byte)
{
	char	 a[25], b[25];

	gw_etag_body("t1", "/r", "{}", 2, a);
	gw_etag_body("t1", "/r", "{}", 2, b);
	ck_assert_str_eq(a, b);
	gw_etag_body("t2", "/r", "{}", 2, b);
	ck_assert_str_ne(a, b);
	gw_etag_body("t1", "/s", "{}", 2, b);
	ck_assert_str_ne(a, b);
	gw_etag_body("t1", "/r", "{ }", 3, b);
	ck_assert_str_ne(a, b);
	/* The NUL separators keep "t1"+"/r" apart from "t1/"+"r". */
	gw_etag_body("t1/", "r", "{}", 2, b);
	ck_assert_str_ne(a, b);
	gw_etag_body("t1", "/r", "{}x", 2, b);
	ck_assert_str_eq(a, b);
}
END_TEST

static const struct {
	const char	*field;
	const char	*etag;
	int		 none_match;	/* weak comparison */
	int		 match;		/* strong comparison */
} cases[] = {
	{ "*", TAG, 1, 1 },
	{ " * ", TAG, 1, 1 },
	{ "*", NULL, 0, 0 },
	{ TAG, TAG, 1, 1 },
	{ "W/" TAG, TAG, 1, 0 },
	{ TAG, "W/" TAG, 1, 0 },
	{ "W/" TAG, "W/" TAG, 1, 0 },
	{ "\"abd\"", TAG, 0, 0 },
	{ "\"ABC\"", TAG, 0, 0 },
	{ "\"ab\"", TAG, 0, 0 },
	{ "\"xyz\", " TAG, TAG, 1, 1 },
	{ "\"xyz\",W/" TAG, TAG, 1, 0 },
	{ "W/\"xyz\" , " TAG " , \"q\"", TAG, 1, 1 },
	{ "\"xyz\",\t" TAG, TAG, 1, 1 },
	{ ", ," TAG ",,", TAG, 1, 1 },
	{ "\"xyz\", \"q\"", TAG, 0, 0 },
	{ "\"\"", "\"\"", 1, 1 },
	{ "\"\"", TAG, 0, 0 },
	{ "\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", 1, 1 },
	/* malformed fields never match, even where a tag would */
	{ "", TAG, 0, 0 },
	{ "   ", TAG, 0, 0 },
	{ "abc", TAG, 0, 0 },
	{ "abc, " TAG, TAG, 0, 0 },
	{ TAG ", abc", TAG, 0, 0 },
	{ "\"unterminated", TAG, 0, 0 },
	{ TAG ", \"unterminated", TAG, 0, 0 },
	{ "\"abc", TAG, 0, 0 },
	{ "w/" TAG, TAG, 0, 0 },
	{ "W/ " TAG, TAG, 0, 0 },
	{ "W" TAG, TAG, 0, 0 },
	{ "\"a bc\"", "\"a bc\"", 0, 0 },
	{ "\"a\"bc\"", TAG, 0, 0 },
	{ TAG TAG, TAG, 0, 0 },
	{ TAG " " TAG, TAG, 0, 0 },
	{ "*, " TAG, TAG, 0, 0 },
	{ TAG ", *", TAG, 0, 0 },
	{ "**", TAG, 0, 0 },
	{ "\"a\x7f\"", "\"a\x7f\"", 0, 0 },
	{ "\"a\tb\"", "\"a\tb\"", 0, 0 },
	{ "W/", TAG, 0, 0 },
	{ ",", TAG, 0, 0 },
	{ NULL, TAG, 0, 0 },
	/* a malformed current tag never matches either */
	{ TAG, "abc", 0, 0 },
};

START_TEST(if_none_match_uses_weak_comparison)
{
	ck_assert_msg(gw_etag_none_match(cases[_i].field, cases[_i].etag) ==
	    cases[_i].none_match, "If-None-Match: [%s] vs %s",
	    cases[_i].field ? cases[_i].field : "(null)",
	    cases[_i].etag ? cases[_i].etag : "(null)");
}
END_TEST

START_TEST(if_match_uses_strong_comparison)
{
	ck_assert_msg(gw_etag_match(cases[_i].field, cases[_i].etag) ==
	    cases[_i].match, "If-Match: [%s] vs %s",
	    cases[_i].field ? cases[_i].field : "(null)",
	    cases[_i].etag ? cases[_i].etag : "(null)");
}
END_TEST

START_TEST(random_fields_never_crash)
{
	static const char	 alpha[] = "\"W/*, \t\x7f\x80" "abc\\";
	char			 field[16];
	unsigned		 seed = 20261127;
	int			 i, k, n, r;

	for (i = 0; i < 100000; i++) {
		n = rand_r(&seed) % (int)sizeof(field);
		for (k = 0; k < n; k++)
			field[k] = alpha[rand_r(&seed) %
			    (int)(sizeof(alpha) - 1)];
		field[n] = '\0';
		r = gw_etag_none_match(field, TAG);
		ck_assert(r == 0 || r == 1);
		/* A strong match is always a weak match too. */
		ck_assert(!gw_etag_match(field, TAG) || r);
	}
}
END_TEST

static Suite *
etag_suite(void)
{
	Suite	*s = suite_create("gw_etag");
	TCase	*tc;

	tc = tcase_create("etag");
	tcase_add_test(tc, body_etag_is_22_base64url_chars_in_quotes);
	tcase_add_test(tc, body_etag_depends_on_tenant_route_and_every_byte);
	tcase_add_loop_test(tc, if_none_match_uses_weak_comparison, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, if_match_uses_strong_comparison, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, random_fields_never_crash);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(etag_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
