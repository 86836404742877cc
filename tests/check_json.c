/*
 * check_json.c: the JSON writer (deterministic output, SPEC §9) and the
 * strict object parser (SPEC §7).
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <json-c/json.h>

#include "extern.h"

/* Run fn on a fresh writer and compare the whole output. */
#define WRITES(expect, body) do {					\
	struct gw_buf	 b_;						\
	struct gw_json	 j_, *j = &j_;					\
									\
	gw_buf_init(&b_);						\
	gw_json_init(j, &b_);						\
	body;								\
	ck_assert_str_eq(b_.data, (expect));				\
	gw_buf_free(&b_);						\
} while (0)

static const struct {
	const char	*in;
	const char	*out;
} escapes[] = {
	{ "", "\"\"" },
	{ "plain", "\"plain\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "a/b", "\"a/b\"" },
	{ "\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"" },
	{ "\x01", "\"\\u0001\"" },
	{ "\x1f", "\"\\u001f\"" },
	{ "x\x0by", "\"x\\u000by\"" },
	{ "\x7f", "\"\x7f\"" },
	{ " ", "\" \"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
	{ "</script>", "\"</script>\"" },
};

START_TEST(string_escaping_is_minimal)
{
	WRITES(escapes[_i].out, gw_json_str(j, escapes[_i].in));
}
END_TEST

START_TEST(escaped_output_parses_back_to_the_input)
{
	struct json_object	*o;
	struct gw_buf		 b;
	struct gw_json		 j;
	char			 err[128];
	size_t			 i;

	for (i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		gw_buf_init(&b);
		gw_json_init(&j, &b);
		gw_json_obj_open(&j);
		gw_json_kstr(&j, escapes[i].in, escapes[i].in);
		gw_json_obj_close(&j);
		o = gw_json_parse_object(b.data, b.len, err, sizeof(err));
		ck_assert_msg(o != NULL, "%s: %s", b.data, err);
		ck_assert_str_eq(json_object_get_string(
		    json_object_object_get(o, escapes[i].in)), escapes[i].in);
		json_object_put(o);
		gw_buf_free(&b);
	}
}
END_TEST

START_TEST(null_string_writes_null)
{
	WRITES("null", gw_json_str(j, NULL));
}
END_TEST

START_TEST(commas_between_members_and_elements)
{
	WRITES("{\"a\":1,\"b\":[true,false,null,\"x\",[],{}],"
	    "\"c\":{\"d\":-9223372036854775807},\"e\":null}", {
		gw_json_obj_open(j);
		gw_json_kint(j, "a", 1);
		gw_json_key(j, "b");
		gw_json_arr_open(j);
		gw_json_bool(j, 1);
		gw_json_bool(j, 0);
		gw_json_null(j);
		gw_json_str(j, "x");
		gw_json_arr_open(j);
		gw_json_arr_close(j);
		gw_json_obj_open(j);
		gw_json_obj_close(j);
		gw_json_arr_close(j);
		gw_json_key(j, "c");
		gw_json_obj_open(j);
		gw_json_kint(j, "d", -INT64_MAX);
		gw_json_obj_close(j);
		gw_json_knull(j, "e");
		gw_json_obj_close(j);
	});
}
END_TEST

/* An escaped key or value in any position keeps its comma and colon. */
START_TEST(escaped_members_keep_separators)
{
	WRITES("{\"a\":\"x\\ty\",\"k\\\"\":[\"\\n\",\"p\\u0001\","
	    "\"2026-01-02T01:01:01Z\"],\"\\\\\":null}", {
		gw_json_obj_open(j);
		gw_json_kstr(j, "a", "x\ty");
		gw_json_key(j, "k\"");
		gw_json_arr_open(j);
		gw_json_str(j, "\n");
		gw_json_str(j, "p\x01");
		gw_json_time(j, 1767315661);
		gw_json_arr_close(j);
		gw_json_knull(j, "\\");
		gw_json_obj_close(j);
	});
}
END_TEST

START_TEST(empty_containers)
{
	WRITES("{}", { gw_json_obj_open(j); gw_json_obj_close(j); });
	WRITES("[]", { gw_json_arr_open(j); gw_json_arr_close(j); });
	WRITES("[[],[]]", {
		gw_json_arr_open(j);
		gw_json_arr_open(j);
		gw_json_arr_close(j);
		gw_json_arr_open(j);
		gw_json_arr_close(j);
		gw_json_arr_close(j);
	});
}
END_TEST

START_TEST(members_keep_call_order)
{
	WRITES("{\"z\":1,\"a\":2,\"m\":true}", {
		gw_json_obj_open(j);
		gw_json_kint(j, "z", 1);
		gw_json_kint(j, "a", 2);
		gw_json_kbool(j, "m", 1);
		gw_json_obj_close(j);
	});
}
END_TEST

START_TEST(time_is_rfc3339_utc_or_null)
{
	WRITES("{\"t\":\"2026-11-27T09:58:45Z\",\"u\":null,"
	    "\"v\":\"1970-01-01T00:00:01Z\"}", {
		gw_json_obj_open(j);
		gw_json_ktime(j, "t", 1795773525);
		gw_json_ktime(j, "u", 0);
		gw_json_ktime(j, "v", 1);
		gw_json_obj_close(j);
	});
}
END_TEST

START_TEST(raw_is_copied_with_separators)
{
	WRITES("[{\"a\":[1]},2]", {
		gw_json_arr_open(j);
		gw_json_raw(j, "{\"a\":[1]}");
		gw_json_int(j, 2);
		gw_json_arr_close(j);
	});
}
END_TEST

static const struct {
	double		 in;
	const char	*out;
} fixed4[] = {
	{ 0.8, "0.8" },
	{ 1.0, "1" },
	{ 0.0, "0" },
	{ -0.0, "0" },
	{ -0.00001, "0" },
	{ 0.33333, "0.3333" },
	{ 2.0 / 3.0, "0.6667" },
	{ 1.0 / 3.0, "0.3333" },
	{ 0.5, "0.5" },
	{ 0.25, "0.25" },
	{ 0.125, "0.125" },
	{ 0.0001, "0.0001" },
	{ 0.00004, "0" },
	{ 12.5, "12.5" },
	{ 100, "100" },
	{ 1000000, "1000000" },
	{ -0.75, "-0.75" },
	{ 0.99999, "1" },
	{ 7.0 / 8.0, "0.875" },
};

START_TEST(fixed4_has_at_most_four_decimals)
{
	WRITES(fixed4[_i].out, gw_json_fixed4(j, fixed4[_i].in));
}
END_TEST

START_TEST(fixed4_non_finite_is_null)
{
	WRITES("[null,null]", {
		gw_json_arr_open(j);
		gw_json_fixed4(j, 1.0 / 0.0);
		gw_json_fixed4(j, 0.0 / 0.0);
		gw_json_arr_close(j);
	});
}
END_TEST

static void
write_resource(struct gw_buf *b)
{
	struct gw_json	 j;

	gw_json_init(&j, b);
	gw_json_obj_open(&j);
	gw_json_kstr(&j, "quotaId", "0190d5a0-0000-7000-8000-000000000001");
	gw_json_kint(&j, "maxActive", 10);
	gw_json_key(&j, "utilization");
	gw_json_fixed4(&j, 3.0 / 7.0);
	gw_json_ktime(&j, "createdAt", 1795773525);
	gw_json_kstr(&j, "pauseReason", NULL);
	gw_json_obj_close(&j);
}

START_TEST(identical_data_gives_identical_bytes)
{
	struct gw_buf	 a, b;

	gw_buf_init(&a);
	gw_buf_init(&b);
	write_resource(&a);
	write_resource(&b);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
	ck_assert_str_eq(a.data, "{\"quotaId\":\"0190d5a0-0000-7000-8000-"
	    "000000000001\",\"maxActive\":10,\"utilization\":0.4286,"
	    "\"createdAt\":\"2026-11-27T09:58:45Z\",\"pauseReason\":null}");
	gw_buf_free(&a);
	gw_buf_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Parser */

static char *
nested(int depth)
{
	char	*s;
	int	 i;

	/* {"a":{"a":...{}...}} : depth objects. */
	s = malloc((size_t)depth * 6 + 1);
	ck_assert_ptr_nonnull(s);
	s[0] = '\0';
	for (i = 0; i < depth - 1; i++)
		strcat(s, "{\"a\":");
	strcat(s, "{}");
	for (i = 0; i < depth - 1; i++)
		strcat(s, "}");
	return s;
}

static char *
nested_arrays(int depth)
{
	char	*s;
	int	 i, n = 0;

	/* {"a":[[...]]}: one object and depth - 1 arrays. */
	s = malloc((size_t)depth * 2 + 8);
	ck_assert_ptr_nonnull(s);
	n += sprintf(s, "{\"a\":");
	for (i = 0; i < depth - 1; i++)
		s[n++] = '[';
	for (i = 0; i < depth - 1; i++)
		s[n++] = ']';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static int
parses(const char *s, size_t len, char *err, size_t errlen)
{
	struct json_object	*o;

	err[0] = '\0';
	if ((o = gw_json_parse_object(s, len, err, errlen)) == NULL)
		return 0;
	json_object_put(o);
	return 1;
}

START_TEST(valid_object_is_accepted)
{
	struct json_object	*o;
	const char		*s = "{\"jobType\":\"scan\",\"maxActive\":5,"
	    "\"x\":[1,2.5,true,null,{\"y\":\"\\u00e9\"}]}";
	char			 err[128];

	o = gw_json_parse_object(s, strlen(s), err, sizeof(err));
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_object_get_int(
	    json_object_object_get(o, "maxActive")), 5);
	ck_assert_str_eq(json_object_get_string(
	    json_object_object_get(o, "jobType")), "scan");
	json_object_put(o);
}
END_TEST

START_TEST(depth_16_is_accepted)
{
	char	 err[128], *s;

	s = nested(16);
	ck_assert_msg(parses(s, strlen(s), err, sizeof(err)), "%s", err);
	free(s);
	s = nested_arrays(16);
	ck_assert_msg(parses(s, strlen(s), err, sizeof(err)), "%s", err);
	free(s);
}
END_TEST

START_TEST(depth_17_is_refused)
{
	char	 err[128], *s;

	s = nested(17);
	ck_assert(!parses(s, strlen(s), err, sizeof(err)));
	ck_assert_str_eq(err, "nesting deeper than 16");
	free(s);
	s = nested_arrays(17);
	ck_assert(!parses(s, strlen(s), err, sizeof(err)));
	ck_assert_str_eq(err, "nesting deeper than 16");
	free(s);
	s = nested(200);
	ck_assert(!parses(s, strlen(s), err, sizeof(err)));
	ck_assert_str_eq(err, "nesting deeper than 16");
	free(s);
}
END_TEST

static const struct {
	const char	*in;
	const char	*err;
} refused[] = {
	/* duplicate member names, compared decoded (RFC 8259 §8.3) */
	{ "{\"a\":1,\"a\":2}", "duplicate member \"a\"" },
	{ "{\"a\":1,\"b\":2,\"a\":1}", "duplicate member \"a\"" },
	{ "{\"a\":1,\"\\u0061\":2}", "duplicate member \"a\"" },
	{ "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "duplicate member \"??\"" },
	{ "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
	    "duplicate member \"????\"" },
	{ "{\"a\\/b\":1,\"a/b\":2}", "duplicate member \"a/b\"" },
	{ "{\"x\":{\"b\":1,\"b\":2}}", "duplicate member \"b\"" },
	{ "{\"x\":[{\"ok\":1},{\"c\":1,\"c\":1}]}", "duplicate member \"c\"" },
	{ "{\"\":1,\"\":2}", "duplicate member \"\"" },
	{ "{\"a\\u0000b\":1,\"a\\u0000c\":2}", "member name contains U+0000" },
	/* trailing data */
	{ "{} x", "trailing data after the object" },
	{ "{\"a\":1}{}", "trailing data after the object" },
	{ "{\"a\":1} 1", "trailing data after the object" },
	{ "{\"a\":1},", "trailing data after the object" },
	/* encoding */
	{ "{\"a\":\"\xff\"}", "not valid UTF-8" },
	{ "{\"a\":\"\xc3\"}", "not valid UTF-8" },
	{ "{\"a\":\"\xed\xa0\x80\"}", "not valid UTF-8" },
	{ "{\"\xc0\xaf\":1}", "not valid UTF-8" },
	/* top level */
	{ "[]", "body must be a JSON object" },
	{ "[{\"a\":1}]", "body must be a JSON object" },
	{ "\"str\"", "body must be a JSON object" },
	{ "5", "body must be a JSON object" },
	{ "null", "body must be a JSON object" },
	{ "", "empty body" },
	/* syntax */
	{ "   ", "not valid JSON: unexpected end of input" },
	{ "{", "not valid JSON: unexpected end of input" },
	{ "{\"a\":1", "not valid JSON: unexpected end of input" },
	{ "{\"a\":1,}", NULL },
	{ "{'a':1}", NULL },
	{ "{a:1}", NULL },
	{ "{\"a\":01}", NULL },
	{ "{\"a\":NaN}", NULL },
	{ "{\"a\":\"tab\tin string\"}", NULL },
	{ "{\"a\":tru}", NULL },
	{ "{\"a\":1.}", NULL },
	{ "{\"a\":-}", NULL },
	{ "{\"a\":1e}", NULL },
	{ "{\"a\":+1}", NULL },
	{ "{\"a\":[1,]}", NULL },
	{ "{\"a\" 1}", NULL },
	{ "{\"a\":\"\\x\"}", NULL },
	{ "{\"a\":\"\\u12\"}", NULL },
	{ "{\"a\":\"\\ud800\"}", "unpaired surrogate escape" },
	{ "{\"a\":\"\\udc00\\ud800\"}", "unpaired surrogate escape" },
	{ "{\"a\":\"\\ud800\\u0041\"}", "unpaired surrogate escape" },
};

START_TEST(bad_bodies_are_refused)
{
	char	 err[128];

	ck_assert_msg(!parses(refused[_i].in, strlen(refused[_i].in), err,
	    sizeof(err)), "accepted: %s", refused[_i].in);
	ck_assert_str_ne(err, "");
	if (refused[_i].err != NULL)
		ck_assert_str_eq(err, refused[_i].err);
}
END_TEST

START_TEST(trailing_whitespace_is_allowed)
{
	static const char	*ok[] = {
		"{}\n", "{\"a\":1} \t\r\n", "  {\"a\":1}", "\n{ \"a\" : [ 1 , 2 ] }\n",
	};
	char			 err[128];
	size_t			 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(parses(ok[i], strlen(ok[i]), err, sizeof(err)),
		    "%s: %s", ok[i], err);
}
END_TEST

START_TEST(distinct_names_are_not_duplicates)
{
	static const char	*ok[] = {
		"{\"a\":1,\"A\":2,\"aa\":3,\"b\":{\"a\":4}}",
		"{\"x\":{\"a\":1},\"y\":{\"a\":1}}",
		"{\"a\":[{\"a\":1},{\"a\":2}]}",
		"{\"a\\\"\":1,\"a\\\\\":2,\"a\":3}",
		"{\"s\":\"a,\\\"b\\\":1,\\\"s\\\":\"}",
	};
	char			 err[128];
	size_t			 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(parses(ok[i], strlen(ok[i]), err, sizeof(err)),
		    "%s: %s", ok[i], err);
}
END_TEST

START_TEST(length_is_honoured_not_the_nul)
{
	char	 err[128];

	/* The parser reads len bytes, however the buffer continues. */
	ck_assert(parses("{\"a\":1}garbage", 7, err, sizeof(err)));
	ck_assert(!parses("{\"a\":1}\0{}", 10, err, sizeof(err)));
	ck_assert(!parses("{\"a\":\"x\0y\"}", 11, err, sizeof(err)));
}
END_TEST

START_TEST(canonical_text_is_compact)
{
	struct gw_arena	*a = gw_arena_new();
	static const struct {
		const char	*in;
		const char	*out;
	} t[] = {
		{ "{ \"b\" : 1 , \"a\" : [ 1 , 2 ] }", "{\"b\":1,\"a\":[1,2]}" },
		{ "[ ]", "[]" },
		{ "\"a/b\"", "\"a/b\"" },
		{ "  42 ", "42" },
		{ "true", "true" },
		{ "null", "null" },
		{ "{\"u\":\"\\u00e9\\/\"}", "{\"u\":\"\xc3\xa9/\"}" },
	};
	size_t		 i;
	char		*s;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		s = gw_json_canonical(t[i].in, strlen(t[i].in), a);
		ck_assert_msg(s != NULL, "%s", t[i].in);
		ck_assert_str_eq(s, t[i].out);
	}
	ck_assert_ptr_null(gw_json_canonical("{\"a\":1,\"a\":2}", 13, a));
	ck_assert_ptr_null(gw_json_canonical("[1] 2", 5, a));
	ck_assert_ptr_null(gw_json_canonical("", 0, a));
	ck_assert_ptr_null(gw_json_canonical("\"\xff\"", 3, a));
	gw_arena_free(a);
}
END_TEST

START_TEST(random_text_never_crashes)
{
	static const char	 alpha[] = "{}[]\",:01-e.Etrueflsn \\u/a\t";
	struct json_object	*o, *o2;
	const char		*out;
	char			 text[24], err[128];
	unsigned		 seed = 20261127;
	int			 i, k, n;

	for (i = 0; i < 200000; i++) {
		n = rand_r(&seed) % (int)sizeof(text);
		for (k = 0; k < n; k++)
			text[k] = alpha[rand_r(&seed) %
			    (int)(sizeof(alpha) - 1)];
		if ((o = gw_json_parse_object(text, (size_t)n, err,
		    sizeof(err))) == NULL) {
			ck_assert_str_ne(err, "");
			continue;
		}
		/* What was accepted re-serialises to an accepted body. */
		out = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN);
		o2 = gw_json_parse_object(out, strlen(out), err, sizeof(err));
		ck_assert_msg(o2 != NULL, "%.*s -> %s: %s", n, text, out, err);
		json_object_put(o2);
		json_object_put(o);
	}
}
END_TEST

static Suite *
json_suite(void)
{
	Suite	*s = suite_create("gw_json");
	TCase	*tc;

	tc = tcase_create("writer");
	tcase_add_loop_test(tc, string_escaping_is_minimal, 0,
	    sizeof(escapes) / sizeof(escapes[0]));
	tcase_add_test(tc, escaped_output_parses_back_to_the_input);
	tcase_add_test(tc, null_string_writes_null);
	tcase_add_test(tc, commas_between_members_and_elements);
	tcase_add_test(tc, escaped_members_keep_separators);
	tcase_add_test(tc, empty_containers);
	tcase_add_test(tc, members_keep_call_order);
	tcase_add_test(tc, time_is_rfc3339_utc_or_null);
	tcase_add_test(tc, raw_is_copied_with_separators);
	tcase_add_loop_test(tc, fixed4_has_at_most_four_decimals, 0,
	    sizeof(fixed4) / sizeof(fixed4[0]));
	tcase_add_test(tc, fixed4_non_finite_is_null);
	tcase_add_test(tc, identical_data_gives_identical_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("parser");
	tcase_add_test(tc, valid_object_is_accepted);
	tcase_add_test(tc, depth_16_is_accepted);
	tcase_add_test(tc, depth_17_is_refused);
	tcase_add_loop_test(tc, bad_bodies_are_refused, 0,
	    sizeof(refused) / sizeof(refused[0]));
	tcase_add_test(tc, trailing_whitespace_is_allowed);
	tcase_add_test(tc, distinct_names_are_not_duplicates);
	tcase_add_test(tc, length_is_honoured_not_the_nul);
	tcase_add_test(tc, canonical_text_is_compact);
	tcase_add_test(tc, random_text_never_crashes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(json_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
