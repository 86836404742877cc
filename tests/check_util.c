/*
 * check_util.c: bounded numbers, base64url, hashes, identifiers, time and
 * character sets (lib/gw_util.c, contract in gateway.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "extern.h"

static const struct {
	const char	*in;
	long long	 min, max;
	long long	 value;
	const char	*err;		/* NULL: accepted */
} numbers[] = {
	{ "0", 0, 200, 0, NULL },
	{ "1", 1, 200, 1, NULL },
	{ "200", 1, 200, 200, NULL },
	{ "201", 1, 200, 0, "too large" },
	{ "0", 1, 200, 0, "too small" },
	{ "abc", 1, 200, 0, "invalid" },
	{ "1e2", 1, 200, 0, "invalid" },
	{ "+5", 1, 200, 0, "invalid" },
	{ "-1", 1, 200, 0, "invalid" },
	{ " 5", 1, 200, 0, "invalid" },
	{ "5 ", 1, 200, 0, "invalid" },
	{ "05", 1, 200, 0, "invalid" },
	{ "00", 0, 200, 0, "invalid" },
	{ "", 1, 200, 0, "invalid" },
	{ "-", -5, 5, 0, "invalid" },
	{ "5.0", 1, 200, 0, "invalid" },
	{ "0x10", 0, 200, 0, "invalid" },
	{ "99999999999999999999999", 1, 200, 0, "too large" },
	{ "99999999999999999999999", 0, 9223372036854775807LL, 0,
	    "too large" },
	{ "9223372036854775807", 0, 9223372036854775807LL,
	    9223372036854775807LL, NULL },
	{ "-5", -10, 10, -5, NULL },
	{ "-11", -10, 10, 0, "too small" },
	{ "-99999999999999999999999", -10, 10, 0, "too small" },
	{ "65536", 0, 65536, 65536, NULL },
};

START_TEST(strtonum_accepts_one_spelling_per_value)
{
	const char	*err = "unset";
	long long	 v;

	v = gw_strtonum(numbers[_i].in, numbers[_i].min, numbers[_i].max,
	    &err);
	ck_assert_msg(v == numbers[_i].value, "\"%s\": %lld",
	    numbers[_i].in, v);
	if (numbers[_i].err == NULL)
		ck_assert_msg(err == NULL, "\"%s\": %s", numbers[_i].in, err);
	else {
		ck_assert_msg(err != NULL, "\"%s\" accepted", numbers[_i].in);
		ck_assert_str_eq(err, numbers[_i].err);
	}
}
END_TEST

/* RFC 4648 §10 vectors, in the URL alphabet without padding. */
static const struct {
	const char	*raw;
	const char	*enc;
} b64[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
	{ "\xfb\xff", "-_8" },
	{ "\xfb\xef\xbe", "----" },
	{ "\xff\xff\xff", "____" },
};

START_TEST(base64url_rfc4648_vectors)
{
	unsigned char	 dec[64];
	char		 enc[64];
	size_t		 n = strlen(b64[_i].raw);
	long		 m;

	ck_assert_uint_eq(gw_b64url_enclen(n), strlen(b64[_i].enc));
	ck_assert_uint_eq(gw_b64url_encode(b64[_i].raw, n, enc),
	    strlen(b64[_i].enc));
	ck_assert_str_eq(enc, b64[_i].enc);
	ck_assert_uint_ge(gw_b64url_declen(strlen(b64[_i].enc)), n);
	m = gw_b64url_decode(b64[_i].enc, strlen(b64[_i].enc), dec);
	ck_assert_int_eq(m, (long)n);
	ck_assert_int_eq(memcmp(dec, b64[_i].raw, n), 0);
}
END_TEST

START_TEST(base64url_decoding_is_strict)
{
	static const char	*bad[] = {
		"Zg==", "Zg=", "Zm9v=", "+/8", "-/8", "+_8", "Zm9vY",
		"Z", "Zh", "Zm9", "Zm9vYmF", "Zm 9v", "Zm9v\n", "Zm.v",
	};
	unsigned char		 dec[64];
	size_t			 i;

	/* "Zh" and "Zm9" leave non-zero bits after the last byte
	 * (RFC 4648 §3.5): accepting them would give one value two
	 * spellings. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(gw_b64url_decode(bad[i], strlen(bad[i]), dec) ==
		    -1, "accepted \"%s\"", bad[i]);
}
END_TEST

static void
hex(const unsigned char *p, size_t n, char *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

START_TEST(sha256_and_hmac_vectors)
{
	unsigned char	 md[32];
	char		 h[65];

	gw_sha256("abc", 3, md);
	hex(md, 32, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* RFC 4231 §4.3, test case 2. */
	gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, md);
	hex(md, 32, h);
	ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}
END_TEST

/*
 * The HMAC keeps the padded states of the last key: another key must
 * replace them, a key longer than a block is hashed first (RFC 2104 §3),
 * and returning to an earlier key gives its MACs again.
 */
START_TEST(hmac_follows_its_key)
{
	static const struct {
		size_t		 keylen;
		unsigned char	 keybyte;
		const char	*msg;
		const char	*want;
	} v[] = {
		/* RFC 4231 §4.2, §4.7: test cases 1 and 6. */
		{ 20, 0x0b, "Hi There", "b0344c61d8db38535ca8afceaf0bf12b"
		    "881dc200c9833da726e9376c2e32cff7" },
		{ 131, 0xaa, "Test Using Larger Than Block-Size Key - Hash Key"
		    " First", "60e431591ee0b67f0d8a26aacbf5b77f"
		    "8e0bc6213728c5140546040f0ee37f54" },
	};
	static const size_t	 order[] = { 0, 0, 1, 0, 1, 1, 0 };
	unsigned char		 key[131], md[32];
	char			 h[65];
	size_t			 i, k;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		k = order[i];
		memset(key, v[k].keybyte, v[k].keylen);
		gw_hmac_sha256(key, v[k].keylen, v[k].msg, strlen(v[k].msg),
		    md);
		hex(md, 32, h);
		ck_assert_str_eq(h, v[k].want);
		/* RFC 4231 §4.3 between them: "Jefe". */
		gw_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28,
		    md);
		hex(md, 32, h);
		ck_assert_str_eq(h, "5bdcc146bf60754e6a042426089575c7"
		    "5a003f089d2739839dec58b964ec3843");
	}
}
END_TEST

START_TEST(sha256_parts_hash_their_concatenation)
{
	const void	*part[3] = { "a", "", "bc" };
	size_t		 len[3] = { 1, 0, 2 };
	unsigned char	 md[32];
	char		 h[65];

	gw_sha256_parts(part, len, 3, md);
	hex(md, 32, h);
	ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	gw_sha256_parts(part, len, 0, md);
	hex(md, 32, h);
	ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(ct_equal_compares_every_byte)
{
	ck_assert_int_eq(gw_ct_equal("abcd", "abcd", 4), 1);
	ck_assert_int_eq(gw_ct_equal("abcd", "abce", 4), 0);
	ck_assert_int_eq(gw_ct_equal("xbcd", "abcd", 4), 0);
	ck_assert_int_eq(gw_ct_equal("a\0c", "a\0d", 3), 0);
	ck_assert_int_eq(gw_ct_equal("", "", 0), 1);
}
END_TEST

static int
ishex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

START_TEST(uuidv7_is_lowercase_version_7_and_rfc_variant)
{
	char		 u[37];
	long long	 ms, now;
	int		 i;

	gw_uuidv7(u);
	ck_assert_uint_eq(strlen(u), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			ck_assert_int_eq(u[i], '-');
		else
			ck_assert_msg(ishex(u[i]), "%s", u);
	}
	ck_assert_int_eq(u[14], '7');
	ck_assert_ptr_nonnull(strchr("89ab", u[19]));
	/* RFC 9562 §5.7: the first 48 bits are Unix milliseconds. */
	ms = strtoll((char []){ u[0], u[1], u[2], u[3], u[4], u[5], u[6],
	    u[7], u[9], u[10], u[11], u[12], '\0' }, NULL, 16);
	now = (long long)time(NULL) * 1000;
	ck_assert_int_ge(ms, now - 5000);
	ck_assert_int_le(ms, now + 5000);
}
END_TEST

START_TEST(uuidv7_increases_within_a_process)
{
	char	 prev[37], u[37];
	int	 i;

	gw_uuidv7(prev);
	for (i = 0; i < 20000; i++) {
		gw_uuidv7(u);
		ck_assert_msg(strcmp(prev, u) < 0, "%s then %s", prev, u);
		ck_assert_int_eq(u[14], '7');
		ck_assert_ptr_nonnull(strchr("89ab", u[19]));
		memcpy(prev, u, sizeof(u));
	}
}
END_TEST

START_TEST(ulid_is_26_crockford_characters)
{
	static const char	 crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	char			 u[27], v[27];
	long long		 ms = 0, now;
	int			 i;

	gw_ulid(u);
	ck_assert_uint_eq(strlen(u), 26);
	ck_assert_uint_eq(strspn(u, crockford), 26);
	ck_assert_int_le(u[0], '7');
	for (i = 0; i < 10; i++)
		ms = ms * 32 + (strchr(crockford, u[i]) - crockford);
	now = (long long)time(NULL) * 1000;
	ck_assert_int_ge(ms, now - 5000);
	ck_assert_int_le(ms, now + 5000);
	gw_ulid(v);
	ck_assert_str_ne(u, v);
}
END_TEST

static const struct {
	int64_t		 t;
	const char	*s;
} times[] = {
	{ 1795773525, "2026-11-27T09:58:45Z" },
	{ 1, "1970-01-01T00:00:01Z" },
	{ 951782400, "2000-02-29T00:00:00Z" },
	{ 4102444799LL, "2099-12-31T23:59:59Z" },
	{ 1709164800, "2024-02-29T00:00:00Z" },
	{ 253402300799LL, "9999-12-31T23:59:59Z" },
};

START_TEST(time_formats_and_parses_rfc3339_utc)
{
	char	 s[21];
	int64_t	 t = -1;

	gw_time_format(times[_i].t, s);
	ck_assert_str_eq(s, times[_i].s);
	ck_assert_int_eq(gw_time_parse(times[_i].s, &t), 0);
	ck_assert_int_eq(t, times[_i].t);
}
END_TEST

START_TEST(time_round_trips)
{
	unsigned	 seed = 20261127;
	char		 s[21], want[32];
	int64_t		 t, u;
	time_t		 tt;
	struct tm	 tm;
	int		 i;

	for (i = 0; i < 100000; i++) {
		t = ((int64_t)rand_r(&seed) << 20 ^ rand_r(&seed)) %
		    253402300800LL;
		gw_time_format(t, s);
		/* The C library's calendar as an independent oracle. */
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ck_assert_str_eq(s, want);
		ck_assert_int_eq(gw_time_parse(s, &u), 0);
		ck_assert_msg(u == t, "%lld -> %s -> %lld", (long long)t, s,
		    (long long)u);
	}
}
END_TEST

/* The formatter keeps the dates of the last two days: alternate them. */
START_TEST(time_format_alternates_days)
{
	static const int64_t	 t[] = {
		1767225600,	/* 2026-01-01T00:00:00Z */
		1767315661,	/* 2026-01-02T01:01:01Z */
		1767225659,
		1767315600,
		1767398399,	/* 2026-01-02T23:59:59Z, again */
		1767398400,	/* 2026-01-03T00:00:00Z */
		1767225601,
		-1,		/* 1969-12-31T23:59:59Z */
		1767398401,
		0,
		-86400,
	};
	char		 s[21], want[32];
	time_t		 tt;
	struct tm	 tm;
	size_t		 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		gw_time_format(t[i], s);
		tt = (time_t)t[i];
		gmtime_r(&tt, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ck_assert_str_eq(s, want);
	}
}
END_TEST

START_TEST(time_parse_refuses_other_forms)
{
	static const char	*bad[] = {
		"2026-11-27T09:58:45", "2026-11-27T09:58:45.5Z",
		"2026-11-27T09:58:45.000Z", "2026-11-27T09:58:45+00:00",
		"2026-11-27T10:58:45+01:00", "2026-11-27t09:58:45Z",
		"2026-11-27T09:58:45z", "2026-11-27 09:58:45Z",
		"2026-11-27T09:58Z", "2026-11-27", "2026-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-11-31T00:00:00Z",
		"2026-11-00T00:00:00Z", "2026-11-27T24:00:00Z",
		"2026-11-27T09:60:00Z", "2026-12-31T23:59:60Z",
		"2026-11-27T09:58:45Z ", " 2026-11-27T09:58:45Z",
		"+2026-11-27T09:58:45Z", "26-11-27T09:58:45Z",
		"2026-1-27T09:58:45Z", "", "1795773525",
	};
	int64_t			 t;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(gw_time_parse(bad[i], &t) == -1, "accepted \"%s\"",
		    bad[i]);
	ck_assert_int_eq(gw_time_parse(NULL, &t), -1);
}
END_TEST

static char s128[129], s129[130], s64[65], s65[66];

static void
long_strings(void)
{
	memset(s128, 'a', 128);
	memset(s129, 'a', 129);
	memset(s64, 'b', 64);
	memset(s65, 'b', 65);
}

static const struct {
	const char	*s;
	int		 id, tenant;
} names[] = {
	{ "a", 1, 1 },
	{ "Tenant-01.prod_x", 1, 1 },
	{ "0190d5a0-0000-7000-8000-000000000001", 1, 1 },
	{ "urn:x:1", 1, 0 },
	{ s64, 1, 1 },
	{ s65, 1, 0 },
	{ s128, 1, 0 },
	{ s129, 0, 0 },
	{ "", 0, 0 },
	{ NULL, 0, 0 },
	{ "a b", 0, 0 },
	{ "a/b", 0, 0 },
	{ "a\\b", 0, 0 },
	{ "a%2F", 0, 0 },
	{ "caf\xc3\xa9", 0, 0 },
	{ "a\n", 0, 0 },
	{ "a#b", 0, 0 },
	{ "..", 1, 1 },
};

START_TEST(valid_id_and_tenant_tables)
{
	ck_assert_msg(gw_valid_id(names[_i].s) == names[_i].id,
	    "id \"%s\"", names[_i].s ? names[_i].s : "(null)");
	ck_assert_msg(gw_valid_tenant(names[_i].s) == names[_i].tenant,
	    "tenant \"%s\"", names[_i].s ? names[_i].s : "(null)");
}
END_TEST

static const struct {
	const char	*s;
	int		 ok;
} utf8[] = {
	{ "", 1 },
	{ "plain ascii", 1 },
	{ "caf\xc3\xa9", 1 },
	{ "\xe2\x82\xac", 1 },			/* U+20AC */
	{ "\xf0\x9f\x98\x80", 1 },		/* U+1F600 */
	{ "\xf4\x8f\xbf\xbf", 1 },		/* U+10FFFF */
	{ "\xef\xbf\xbd", 1 },			/* U+FFFD */
	{ "\xc0\xaf", 0 },			/* overlong '/' */
	{ "\xc1\xbf", 0 },
	{ "\xe0\x80\xaf", 0 },
	{ "\xf0\x80\x80\xaf", 0 },
	{ "\xed\xa0\x80", 0 },			/* U+D800 */
	{ "\xed\xbf\xbf", 0 },			/* U+DFFF */
	{ "\xf4\x90\x80\x80", 0 },		/* U+110000 */
	{ "\xc3", 0 },
	{ "\xe2\x82", 0 },
	{ "\x80", 0 },
	{ "a\xbf", 0 },
	{ "\xc3\x28", 0 },
	{ "\xf8\x88\x80\x80\x80", 0 },
	{ "\xfe", 0 },
	{ "\xff", 0 },
};

START_TEST(valid_utf8_table)
{
	ck_assert_msg(gw_valid_utf8(utf8[_i].s, strlen(utf8[_i].s)) ==
	    utf8[_i].ok, "case %d", _i);
}
END_TEST

START_TEST(valid_utf8_honours_the_length)
{
	ck_assert_int_eq(gw_valid_utf8("caf\xc3\xa9", 4), 0);
	ck_assert_int_eq(gw_valid_utf8("ab\xff", 2), 1);
}
END_TEST

START_TEST(buf_and_arena_basics)
{
	struct gw_arena	*a = gw_arena_new();
	struct gw_buf	 b;
	char		*s;
	int		 i;

	gw_buf_init(&b);
	for (i = 0; i < 1000; i++)
		gw_buf_printf(&b, "%d,", i % 10);
	ck_assert_uint_eq(b.len, 2000);
	ck_assert_uint_eq(strlen(b.data), 2000);
	gw_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	gw_buf_add(&b, "xy", 2);
	gw_buf_putc(&b, 'z');
	ck_assert_str_eq(b.data, "xyz");
	gw_buf_free(&b);

	/* printf into exactly the room left, one byte more, and none. */
	gw_buf_init(&b);
	gw_buf_reserve(&b, 10);
	ck_assert_uint_gt(b.cap, 10);
	gw_buf_add(&b, "", 0);
	for (i = 0; b.len + 1 < b.cap - 1; i++)
		gw_buf_putc(&b, 'a');
	gw_buf_printf(&b, "%s", "b");
	ck_assert_uint_eq(b.len + 1, b.cap);
	gw_buf_printf(&b, "%s", "cd");
	ck_assert_uint_eq(b.len, (size_t)i + 3);
	ck_assert_str_eq(b.data + i, "bcd");
	gw_buf_printf(&b, "%s", "");
	ck_assert_uint_eq(b.len, (size_t)i + 3);
	ck_assert_uint_eq(strlen(b.data), b.len);
	gw_buf_free(&b);

	s = gw_arena_printf(a, "%s-%d", "q", 7);
	ck_assert_str_eq(s, "q-7");
	ck_assert_str_eq(gw_arena_strndup(a, "abcdef", 3), "abc");
	for (i = 0; i < 10000; i++)
		memset(gw_arena_alloc(a, 100), 0xa5, 100);
	s = gw_arena_alloc(a, 1 << 20);
	memset(s, 0, 1 << 20);
	gw_arena_reset(a);
	ck_assert_str_eq(gw_arena_strdup(a, "again"), "again");
	gw_arena_free(a);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite	*s = suite_create("gw_util");
	TCase	*tc;

	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, strtonum_accepts_one_spelling_per_value, 0,
	    sizeof(numbers) / sizeof(numbers[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("encodings");
	tcase_add_loop_test(tc, base64url_rfc4648_vectors, 0,
	    sizeof(b64) / sizeof(b64[0]));
	tcase_add_test(tc, base64url_decoding_is_strict);
	tcase_add_test(tc, sha256_and_hmac_vectors);
	tcase_add_test(tc, hmac_follows_its_key);
	tcase_add_test(tc, sha256_parts_hash_their_concatenation);
	tcase_add_test(tc, ct_equal_compares_every_byte);
	suite_add_tcase(s, tc);

	tc = tcase_create("identifiers");
	tcase_add_test(tc, uuidv7_is_lowercase_version_7_and_rfc_variant);
	tcase_add_test(tc, uuidv7_increases_within_a_process);
	tcase_add_test(tc, ulid_is_26_crockford_characters);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	/* 100 000 round trips: seconds under ASan or valgrind on a busy
	 * machine, past Check's 4 s default. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, time_formats_and_parses_rfc3339_utc, 0,
	    sizeof(times) / sizeof(times[0]));
	tcase_add_test(tc, time_round_trips);
	tcase_add_test(tc, time_format_alternates_days);
	tcase_add_test(tc, time_parse_refuses_other_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("charsets");
	tcase_add_unchecked_fixture(tc, long_strings, NULL);
	tcase_add_loop_test(tc, valid_id_and_tenant_tables, 0,
	    sizeof(names) / sizeof(names[0]));
	tcase_add_loop_test(tc, valid_utf8_table, 0,
	    sizeof(utf8) / sizeof(utf8[0]));
	tcase_add_test(tc, valid_utf8_honours_the_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, buf_and_arena_basics);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(util_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
