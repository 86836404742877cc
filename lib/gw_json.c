/*
 * gw_json.c: deterministic JSON output and strict JSON input.
 *
 * Output is a streaming writer: the bytes are exactly the calls made, in
 * order, so identical data written by the same handler gives identical
 * bytes (SPEC §9), which is what makes a body hash a usable ETag.
 *
 * Input is checked against RFC 8259 here first (syntax, UTF-8, depth,
 * trailing data, duplicate member names: json-c keeps the last of
 * `{"a":1,"a":2}` without a word, so a client and the gateway could
 * disagree about what a body says); json-c then builds the tree.
 *
 * libjansson (under cjose) also exports json_object_get() and
 * json_object_iter_next(), with other meanings; whichever library the
 * dynamic linker finds first wins, so this file calls neither.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "extern.h"

/*
 * Nesting depth as counted here and in SPEC §7: the top-level value is at
 * depth 1 when it is an object or array, and every object or array inside
 * adds one.  `{}` has depth 1, `{"a":{"b":[1]}}` depth 3; scalars add
 * nothing.  The scan below enforces it; json_tokener_new_ex(n), used as a
 * second guard, accepts exactly depth <= n too (json-c 0.16: 16 nested
 * arrays parse, 17 fail with json_tokener_error_depth).
 */
#define JSON_MAXDEPTH	16

/* ---------------------------------------------------------------- */
/* Output */

void
gw_json_init(struct gw_json *j, struct gw_buf *buf)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->first[0] = 1;
}

/*
 * Bytes a string must escape (RFC 8259 §7: '"', '\\' and U+0000-U+001F),
 * the NUL that ends it among them, so one scan finds both the end of a
 * plain string and the first byte that needs an escape.
 */
static const unsigned char json_special[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* '"' */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,	/* '\\' */
};

/*
 * Room for n more bytes, with the separator a value or a key needs at
 * the current position already written.  Returns where to write.
 */
static char *
json_sep_reserve(struct gw_json *j, size_t n)
{
	struct gw_buf	*b = j->buf;
	char		*o;

	gw_buf_reserve(b, n + 1);
	o = b->data + b->len;
	if (j->after_key)
		j->after_key = 0;
	else {
		if (!j->first[j->depth])
			*o++ = ',';
		j->first[j->depth] = 0;
	}
	return o;
}

/* Ends a write that json_sep_reserve began: o is one past the last byte. */
static void
json_commit(struct gw_json *j, char *o)
{
	struct gw_buf	*b = j->buf;

	*o = '\0';
	b->len = (size_t)(o - b->data);
}

/* The separator a value or a key needs at the current position. */
static void
json_sep(struct gw_json *j)
{
	json_commit(j, json_sep_reserve(j, 0));
}

/* The escaped form of a string that has a byte to escape at s[n]. */
static void
json_string_slow(struct gw_buf *b, const char *s, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run;
	unsigned char		 c;

	gw_buf_putc(b, '"');
	gw_buf_add(b, s, n);
	for (s += n, run = s; (c = (unsigned char)*s) != '\0'; s++) {
		if (!json_special[c])
			continue;
		gw_buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		gw_buf_putc(b, '\\');
		switch (c) {
		case '"':
		case '\\':
			gw_buf_putc(b, (char)c);
			break;
		case '\b':
			gw_buf_putc(b, 'b');
			break;
		case '\f':
			gw_buf_putc(b, 'f');
			break;
		case '\n':
			gw_buf_putc(b, 'n');
			break;
		case '\r':
			gw_buf_putc(b, 'r');
			break;
		case '\t':
			gw_buf_putc(b, 't');
			break;
		default:
			gw_buf_puts(b, "u00");
			gw_buf_putc(b, hex[c >> 4]);
			gw_buf_putc(b, hex[c & 0xf]);
			break;
		}
	}
	gw_buf_add(b, run, (size_t)(s - run));
	gw_buf_putc(b, '"');
}

/*
 * A separator, then s as a JSON string, then the colon of a member name
 * when colon is set.  Nearly every string has nothing to escape: those
 * are one scan and one copy.
 */
static void
json_sep_string(struct gw_json *j, const char *s, int colon)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;
	char			*o;

	while (!json_special[*p])
		p++;
	n = (size_t)((const char *)p - s);
	if (*p != '\0') {
		json_sep(j);
		json_string_slow(j->buf, s, n);
		if (colon)
			gw_buf_putc(j->buf, ':');
		return;
	}
	o = json_sep_reserve(j, n + 3);
	*o++ = '"';
	memcpy(o, s, n);
	o += n;
	*o++ = '"';
	if (colon)
		*o++ = ':';
	json_commit(j, o);
}

/* A separator, then n bytes of literal JSON. */
static void
json_sep_raw(struct gw_json *j, const char *text, size_t n)
{
	char	*o;

	o = json_sep_reserve(j, n);
	memcpy(o, text, n);
	json_commit(j, o + n);
}

static void
json_open(struct gw_json *j, char c)
{
	/* A handler nesting this deep is a bug, not a request to serve. */
	if (j->depth + 1 >= GW_JSON_MAXDEPTH)
		abort();
	json_sep_raw(j, &c, 1);
	j->first[++j->depth] = 1;
}

static void
json_close(struct gw_json *j, char c)
{
	if (j->depth == 0)
		abort();
	gw_buf_putc(j->buf, c);
	j->depth--;
}

void
gw_json_obj_open(struct gw_json *j)
{
	json_open(j, '{');
}

void
gw_json_obj_close(struct gw_json *j)
{
	json_close(j, '}');
}

void
gw_json_arr_open(struct gw_json *j)
{
	json_open(j, '[');
}

void
gw_json_arr_close(struct gw_json *j)
{
	json_close(j, ']');
}

void
gw_json_key(struct gw_json *j, const char *key)
{
	json_sep_string(j, key, 1);
	j->after_key = 1;
}

void
gw_json_str(struct gw_json *j, const char *s)
{
	if (s == NULL) {
		gw_json_null(j);
		return;
	}
	json_sep_string(j, s, 0);
}

void
gw_json_int(struct gw_json *j, int64_t v)
{
	char	 s[24];
	int	 n;

	n = snprintf(s, sizeof(s), "%" PRId64, v);
	json_sep_raw(j, s, (size_t)n);
}

void
gw_json_bool(struct gw_json *j, int v)
{
	if (v)
		json_sep_raw(j, "true", 4);
	else
		json_sep_raw(j, "false", 5);
}

void
gw_json_null(struct gw_json *j)
{
	json_sep_raw(j, "null", 4);
}

void
gw_json_time(struct gw_json *j, int64_t t)
{
	char	*o;

	if (t == 0) {
		gw_json_null(j);
		return;
	}
	/* Formatted in place: the 20 characters need no escape. */
	o = json_sep_reserve(j, 22);
	*o++ = '"';
	gw_time_format(t, o);
	o += 20;
	*o++ = '"';
	json_commit(j, o);
}

/*
 * A ratio such as utilization: rounded to 4 decimals by printf, then
 * trailing zeros and a bare '.' dropped, so 0.8 is "0.8", 1.0 is "1" and
 * 2/3 is "0.6667".  -0.00001 rounds to "-0.0000", written "0": "-0" is
 * valid JSON but two spellings of one value would break byte equality.
 * JSON has no NaN or infinity; they are written as null.
 */
void
gw_json_fixed4(struct gw_json *j, double v)
{
	char	 s[400];
	size_t	 n;

	if (!isfinite(v) || fabs(v) >= 1e300) {
		gw_json_null(j);
		return;
	}
	n = (size_t)snprintf(s, sizeof(s), "%.4f", v);
	while (n > 0 && s[n - 1] == '0')
		n--;
	if (n > 0 && s[n - 1] == '.')
		n--;
	s[n] = '\0';
	json_sep(j);
	gw_buf_puts(j->buf, strcmp(s, "-0") == 0 ? "0" : s);
}

void
gw_json_raw(struct gw_json *j, const char *text)
{
	json_sep(j);
	gw_buf_puts(j->buf, text);
}

void
gw_json_kstr(struct gw_json *j, const char *key, const char *s)
{
	gw_json_key(j, key);
	gw_json_str(j, s);
}

void
gw_json_kint(struct gw_json *j, const char *key, int64_t v)
{
	gw_json_key(j, key);
	gw_json_int(j, v);
}

void
gw_json_kbool(struct gw_json *j, const char *key, int v)
{
	gw_json_key(j, key);
	gw_json_bool(j, v);
}

void
gw_json_ktime(struct gw_json *j, const char *key, int64_t t)
{
	gw_json_key(j, key);
	gw_json_time(j, t);
}

void
gw_json_knull(struct gw_json *j, const char *key)
{
	gw_json_key(j, key);
	gw_json_null(j);
}

/* ---------------------------------------------------------------- */
/* Input */

/*
 * json-c 0.16's "strict" tokener still accepts single quotes, NaN, raw
 * control characters in strings and overlong or surrogate UTF-8, and it
 * keeps the last of two equal member names.  So a body is first checked
 * here against RFC 8259 itself, and json-c only builds the tree of text
 * already known to be good.
 *
 * Member names are compared decoded (RFC 8259 §8.3): "a" and "\u0061" are
 * the same member.  A \u escape of an unpaired surrogate is refused, as
 * I-JSON (RFC 7493 §2.1) asks: json-c would turn every one into U+FFFD and
 * so merge names that differ in the text.
 */
struct scan {
	const char	*start;
	const char	*p;
	const char	*end;
	char		*err;
	size_t		 errlen;
};

struct name {
	size_t		 off;
	size_t		 len;
	const char	*s;
};

static int	scan_value(struct scan *, int depth);

static int
scan_error(struct scan *sc, const char *what)
{
	if (what != NULL)
		snprintf(sc->err, sc->errlen, "%s", what);
	else if (sc->p >= sc->end)
		snprintf(sc->err, sc->errlen,
		    "not valid JSON: unexpected end of input");
	else
		snprintf(sc->err, sc->errlen, "not valid JSON at byte %zu",
		    (size_t)(sc->p - sc->start));
	return -1;
}

static void
scan_ws(struct scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' ||
	    *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

static int
scan_char(struct scan *sc, char c)
{
	if (sc->p >= sc->end || *sc->p != c)
		return 0;
	sc->p++;
	return 1;
}

static int
scan_digits(struct scan *sc)
{
	const char	*p = sc->p;

	while (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
		sc->p++;
	return sc->p > p;
}

/* Four hex digits of a \u escape, or -1. */
static long
scan_hex4(struct scan *sc)
{
	long	 v = 0;
	int	 i;
	char	 c;

	if (sc->end - sc->p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = *sc->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static void
put_utf8(struct gw_buf *b, unsigned long cp)
{
	char	 u[4];

	if (cp < 0x80) {
		u[0] = (char)cp;
		gw_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		gw_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		gw_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		gw_buf_add(b, u, 4);
	}
}

/* A string at sc->p; decoded into out unless out is NULL. */
static int
scan_string(struct scan *sc, struct gw_buf *out)
{
	const char	*run;
	unsigned char	 c;
	long		 cp, lo;

	if (!scan_char(sc, '"'))
		return scan_error(sc, NULL);
	for (run = sc->p; sc->p < sc->end; ) {
		c = (unsigned char)*sc->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return scan_error(sc, NULL);
		if (c != '\\') {
			sc->p++;
			continue;
		}
		if (out != NULL)
			gw_buf_add(out, run, (size_t)(sc->p - run));
		if (++sc->p >= sc->end)
			return scan_error(sc, NULL);
		switch (*sc->p++) {
		case '"':
			cp = '"';
			break;
		case '\\':
			cp = '\\';
			break;
		case '/':
			cp = '/';
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if ((cp = scan_hex4(sc)) == -1)
				return scan_error(sc, NULL);
			if (cp >= 0xdc00 && cp < 0xe000)
				return scan_error(sc, "unpaired surrogate escape");
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (!scan_char(sc, '\\') || !scan_char(sc, 'u') ||
				    (lo = scan_hex4(sc)) < 0xdc00 || lo >= 0xe000)
					return scan_error(sc,
					    "unpaired surrogate escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			break;
		default:
			sc->p--;
			return scan_error(sc, NULL);
		}
		if (out != NULL)
			put_utf8(out, (unsigned long)cp);
		run = sc->p;
	}
	if (out != NULL)
		gw_buf_add(out, run, (size_t)(sc->p - run));
	if (!scan_char(sc, '"'))
		return scan_error(sc, NULL);
	return 0;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static int
scan_number(struct scan *sc)
{
	scan_char(sc, '-');
	if (scan_char(sc, '0')) {
		if (sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9')
			return scan_error(sc, NULL);
	} else if (!scan_digits(sc))
		return scan_error(sc, NULL);
	if (scan_char(sc, '.') && !scan_digits(sc))
		return scan_error(sc, NULL);
	if (scan_char(sc, 'e') || scan_char(sc, 'E')) {
		if (!scan_char(sc, '+'))
			scan_char(sc, '-');
		if (!scan_digits(sc))
			return scan_error(sc, NULL);
	}
	return 0;
}

static int
scan_literal(struct scan *sc, const char *lit)
{
	size_t	 n = strlen(lit);

	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return scan_error(sc, NULL);
	sc->p += n;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	const struct name	*x = a, *y = b;
	int			 c;

	c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
	if (c != 0)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* A member name fit for an error message: short, printable ASCII. */
static int
scan_dup_error(struct scan *sc, const struct name *n)
{
	char	 s[48];
	size_t	 i;

	for (i = 0; i < n->len && i < sizeof(s) - 4; i++)
		s[i] = n->s[i] >= 0x20 && n->s[i] < 0x7f &&
		    n->s[i] != '"' && n->s[i] != '\\' ? n->s[i] : '?';
	if (i < n->len) {
		memcpy(s + i, "...", 3);
		i += 3;
	}
	s[i] = '\0';
	snprintf(sc->err, sc->errlen, "duplicate member \"%s\"", s);
	return -1;
}

/* An object at sc->p ('{'), which is at the given depth. */
static int
scan_object(struct scan *sc, int depth)
{
	struct gw_buf	 names;
	struct name	*v = NULL, *nv;
	size_t		 n = 0, cap = 0, i;
	int		 rc = -1;

	gw_buf_init(&names);
	sc->p++;
	scan_ws(sc);
	if (scan_char(sc, '}'))
		goto done;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL)
				abort();
			v = nv;
		}
		v[n].off = names.len;
		if (scan_string(sc, &names) == -1)
			goto fail;
		v[n].len = names.len - v[n].off;
		/* json-c keeps names as C strings: "a\u0000b" would be "a". */
		if (memchr(names.data + v[n].off, '\0', v[n].len) != NULL) {
			scan_error(sc, "member name contains U+0000");
			goto fail;
		}
		n++;
		scan_ws(sc);
		if (!scan_char(sc, ':')) {
			scan_error(sc, NULL);
			goto fail;
		}
		scan_ws(sc);
		if (scan_value(sc, depth) == -1)
			goto fail;
		scan_ws(sc);
		if (scan_char(sc, '}'))
			break;
		if (!scan_char(sc, ',')) {
			scan_error(sc, NULL);
			goto fail;
		}
		scan_ws(sc);
	}
	for (i = 0; i < n; i++)
		v[i].s = names.data + v[i].off;
	qsort(v, n, sizeof(*v), name_cmp);
	for (i = 1; i < n; i++)
		if (name_cmp(&v[i - 1], &v[i]) == 0) {
			scan_dup_error(sc, &v[i]);
			goto fail;
		}
done:
	rc = 0;
fail:
	free(v);
	gw_buf_free(&names);
	return rc;
}

/* An array at sc->p ('['), which is at the given depth. */
static int
scan_array(struct scan *sc, int depth)
{
	sc->p++;
	scan_ws(sc);
	if (scan_char(sc, ']'))
		return 0;
	for (;;) {
		if (scan_value(sc, depth) == -1)
			return -1;
		scan_ws(sc);
		if (scan_char(sc, ']'))
			return 0;
		if (!scan_char(sc, ','))
			return scan_error(sc, NULL);
		scan_ws(sc);
	}
}

/* A value inside a container at the given depth (0: the top level). */
static int
scan_value(struct scan *sc, int depth)
{
	if (sc->p >= sc->end)
		return scan_error(sc, NULL);
	switch (*sc->p) {
	case '{':
	case '[':
		if (depth + 1 > JSON_MAXDEPTH) {
			snprintf(sc->err, sc->errlen, "nesting deeper than %d",
			    JSON_MAXDEPTH);
			return -1;
		}
		return *sc->p == '{' ? scan_object(sc, depth + 1) :
		    scan_array(sc, depth + 1);
	case '"':
		return scan_string(sc, NULL);
	case 't':
		return scan_literal(sc, "true");
	case 'f':
		return scan_literal(sc, "false");
	case 'n':
		return scan_literal(sc, "null");
	default:
		return scan_number(sc);
	}
}

/*
 * Parse any JSON value with the rules of SPEC §7: RFC 8259 syntax, valid
 * UTF-8, depth <= 16, unique member names, nothing after the value but
 * whitespace.  Returns 0 and the value (NULL for JSON null), or -1 with a
 * message in err.
 */
static int
json_parse(const char *text, size_t len, struct json_object **out,
    char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct scan		 sc;
	const char		*top;

	*out = NULL;
	if (len == 0) {
		snprintf(err, errlen, "empty body");
		return -1;
	}
	if (len > INT32_MAX) {
		snprintf(err, errlen, "body too large");
		return -1;
	}
	/* A raw NUL is never valid JSON, and json-c would read it as EOF. */
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "not valid JSON: NUL byte");
		return -1;
	}
	if (!gw_valid_utf8(text, len)) {
		snprintf(err, errlen, "not valid UTF-8");
		return -1;
	}
	memset(&sc, 0, sizeof(sc));
	sc.start = sc.p = text;
	sc.end = text + len;
	sc.err = err;
	sc.errlen = errlen;
	scan_ws(&sc);
	top = sc.p;
	if (scan_value(&sc, 0) == -1)
		return -1;
	scan_ws(&sc);
	if (sc.p != sc.end) {
		snprintf(err, errlen, "trailing data after the %s",
		    *top == '{' ? "object" : "value");
		return -1;
	}

	if ((tok = json_tokener_new_ex(JSON_MAXDEPTH)) == NULL)
		abort();
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*out = json_tokener_parse_ex(tok, text, (int)len);
	/* A bare number or literal ends only at the end of input. */
	if (*out == NULL && json_tokener_get_error(tok) ==
	    json_tokener_continue)
		*out = json_tokener_parse_ex(tok, "", 1);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(*out);
		*out = NULL;
		json_tokener_free(tok);
		snprintf(err, errlen, "not valid JSON");
		return -1;
	}
	json_tokener_free(tok);
	return 0;
}

void *
gw_json_parse_object(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_object	*o;

	if (json_parse(text, len, &o, err, errlen) == -1)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "body must be a JSON object");
		return NULL;
	}
	return o;
}

char *
gw_json_canonical(const char *text, size_t len, struct gw_arena *a)
{
	struct json_object	*o;
	char			 err[128];
	char			*s;

	if (json_parse(text, len, &o, err, sizeof(err)) == -1)
		return NULL;
	/* json-c represents JSON null as a NULL object. */
	s = gw_arena_strdup(a, o == NULL ? "null" :
	    json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}
