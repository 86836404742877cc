/*
 * gw_util.c: the small pieces every other file leans on: a per-request
 * arena, a growable buffer, bounded number parsing, base64url, hashes,
 * identifiers and time.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "extern.h"

/* ---------------------------------------------------------------- */
/* Arena */

#define ARENA_CHUNK	8192

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 size;
	size_t			 used;
	max_align_t		 data[];
};

struct gw_arena {
	struct arena_chunk	*head;
};

static void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n)) == NULL) {
		/* See gateway.h: a worker without memory is restarted. */
		fputs("libgateway: out of memory\n", stderr);
		abort();
	}
	return p;
}

struct gw_arena *
gw_arena_new(void)
{
	struct gw_arena	*a;

	a = xmalloc(sizeof(*a));
	a->head = NULL;
	return a;
}

static void
arena_free_chunks(struct arena_chunk *c)
{
	struct arena_chunk	*next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

void
gw_arena_free(struct gw_arena *a)
{
	if (a == NULL)
		return;
	arena_free_chunks(a->head);
	free(a);
}

/*
 * Keep the first chunk for the next request (a FastCGI worker serves
 * thousands) and release the rest.
 */
void
gw_arena_reset(struct gw_arena *a)
{
	struct arena_chunk	*c;

	if ((c = a->head) == NULL)
		return;
	while (c->next != NULL) {
		a->head = c->next;
		free(c);
		c = a->head;
	}
	c->used = 0;
}

void *
gw_arena_alloc(struct gw_arena *a, size_t n)
{
	struct arena_chunk	*c;
	size_t			 align = sizeof(max_align_t), size;
	void			*p;

	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		if (a->head != NULL && n > ARENA_CHUNK) {
			/* A big one-off: keep the current chunk in front. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

char *
gw_arena_strndup(struct gw_arena *a, const char *s, size_t n)
{
	char	*p;

	p = gw_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
gw_arena_strdup(struct gw_arena *a, const char *s)
{
	return s == NULL ? NULL : gw_arena_strndup(a, s, strlen(s));
}

char *
gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;
	char	*p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	p = gw_arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* ---------------------------------------------------------------- */
/* Buffer */

void
gw_buf_init(struct gw_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
gw_buf_free(struct gw_buf *b)
{
	free(b->data);
	gw_buf_init(b);
}

void
gw_buf_reset(struct gw_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Out of line: the common case, room to spare, is the test in
 * buf_reserve, which callers in this file inline.  The first allocation
 * is 1 KiB, not less: every response body starts here, and a list page
 * would otherwise grow through six reallocations.
 */
static void
buf_grow(struct gw_buf *b, size_t n)
{
	size_t	 cap;
	char	*p;

	cap = b->cap ? b->cap : 1024;
	while (cap - b->len <= n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		fputs("libgateway: out of memory\n", stderr);
		abort();
	}
	b->data = p;
	b->cap = cap;
}

static inline void
buf_reserve(struct gw_buf *b, size_t n)
{
	if (b->cap - b->len <= n)
		buf_grow(b, n);
}

void
gw_buf_reserve(struct gw_buf *b, size_t n)
{
	buf_reserve(b, n);
}

void
gw_buf_add(struct gw_buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
gw_buf_puts(struct gw_buf *b, const char *s)
{
	gw_buf_add(b, s, strlen(s));
}

void
gw_buf_putc(struct gw_buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
gw_buf_printf(struct gw_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room;
	int	 n;

	/* Straight into the free space when it fits, which it nearly
	 * always does: one formatting pass instead of two. */
	if (b->data != NULL) {
		room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->data + b->len, room, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->data[b->len] = '\0';
	} else {
		va_start(ap, fmt);
		n = vsnprintf(NULL, 0, fmt, ap);
		va_end(ap);
	}
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---------------------------------------------------------------- */
/* Numbers */

/*
 * strtonum(3) with the stricter syntax of an HTTP API: "+5", " 5", "05"
 * and "1e2" are all invalid, so a value has exactly one spelling.
 */
long long
gw_strtonum(const char *s, long long minval, long long maxval,
    const char **errstr)
{
	const char	*p = s;
	long long	 v;
	char		*end;

	*errstr = "invalid";
	if (s == NULL || minval > maxval)
		return 0;
	if (*p == '-') {
		if (minval >= 0)
			return 0;
		p++;
	}
	if (*p < '0' || *p > '9')
		return 0;
	if (*p == '0' && p[1] != '\0')
		return 0;
	if (p != s && *p == '0')
		return 0;	/* "-0" */
	for (end = (char *)p; *end != '\0'; end++)
		if (*end < '0' || *end > '9')
			return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < minval || v > maxval) {
		*errstr = (errno == ERANGE && *s != '-') || v > maxval ?
		    "too large" : "too small";
		return 0;
	}
	*errstr = NULL;
	return v;
}

/* ---------------------------------------------------------------- */
/* base64url (RFC 4648 §5), no padding */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
gw_b64url_enclen(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t
gw_b64url_declen(size_t n)
{
	return n / 4 * 3 + 3;
}

size_t
gw_b64url_encode(const void *in, size_t n, char *out)
{
	const unsigned char	*p = in;
	size_t			 i, o = 0;
	unsigned long		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned long)p[i] << 16 | p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		v = (unsigned long)p[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (unsigned long)p[i] << 16 | p[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

/* Decoding table: the value of each base64url character, 64 for others. */
static const unsigned char b64url_val[256] = {
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64,
	64,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
	64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
	64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

/*
 * Strict decoding: besides the alphabet, the unused low bits of the last
 * character must be zero, so every byte string has exactly one encoding
 * (RFC 4648 §3.5) and a signature segment cannot be made malleable.
 */
long
gw_b64url_decode(const char *in, size_t n, unsigned char *out)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i, o = 0;
	unsigned long		 v = 0;
	unsigned		 a, b, c, d;
	int			 bits = 0;

	if (n % 4 == 1)
		return -1;
	/* Whole quanta of four characters, then the one to three left. */
	for (i = 0; i + 4 <= n; i += 4) {
		a = b64url_val[p[i]];
		b = b64url_val[p[i + 1]];
		c = b64url_val[p[i + 2]];
		d = b64url_val[p[i + 3]];
		if ((a | b | c | d) & 64)
			return -1;
		v = (unsigned long)a << 18 | b << 12 | c << 6 | d;
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	for (v = 0; i < n; i++) {
		if ((a = b64url_val[p[i]]) & 64)
			return -1;
		v = (v << 6 | a) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits & 0xff);
		}
	}
	if (bits > 0 && (v & ((1UL << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

int
gw_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * SHA-256 through one digest fetched once and one context reused.
 * EVP_sha256() with EVP_Digest() or HMAC() looks the algorithm up in the
 * provider tables and builds a context on every call (OpenSSL 3), which
 * cost more than hashing a whole list page; a request hashes three to
 * five times.  The process is single-threaded (one FastCGI request at a
 * time), so one context is enough.
 */
static EVP_MD		*util_md;
static EVP_MD_CTX	*util_mdctx;

static EVP_MD_CTX *
util_sha256_begin(void)
{
	if (util_md == NULL &&
	    (util_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
	if (util_mdctx == NULL && (util_mdctx = EVP_MD_CTX_new()) == NULL)
		abort();
	if (!EVP_DigestInit_ex2(util_mdctx, util_md, NULL))
		abort();
	return util_mdctx;
}

static void
util_sha256_end(EVP_MD_CTX *ctx, unsigned char out[32])
{
	unsigned int	 len = 32;

	if (!EVP_DigestFinal_ex(ctx, out, &len))
		abort();
}

void
gw_sha256(const void *p, size_t n, unsigned char out[32])
{
	EVP_MD_CTX	*ctx = util_sha256_begin();

	if (!EVP_DigestUpdate(ctx, p, n))
		abort();
	util_sha256_end(ctx, out);
}

void
gw_sha256_parts(const void *const *p, const size_t *n, size_t nparts,
    unsigned char out[32])
{
	EVP_MD_CTX	*ctx = util_sha256_begin();
	size_t		 i;

	for (i = 0; i < nparts; i++)
		if (!EVP_DigestUpdate(ctx, p[i], n[i]))
			abort();
	util_sha256_end(ctx, out);
}

/*
 * HMAC (RFC 2104) over the digest above.  The key is nearly always the
 * same one (the server key), so the two padded key blocks are hashed once
 * and their states kept; a MAC then costs copying two states and hashing
 * the message and one inner digest.  Another key simply replaces them.
 */
#define UTIL_HMAC_BLOCK	64

static struct {
	unsigned char	 key[UTIL_HMAC_BLOCK];	/* as given, when it fits */
	size_t		 keylen;
	int		 valid;
	EVP_MD_CTX	*inner;
	EVP_MD_CTX	*outer;
	EVP_MD_CTX	*work;
} util_hmac;

static void
util_hmac_key(const void *key, size_t keylen)
{
	unsigned char	 k[UTIL_HMAC_BLOCK], pad[UTIL_HMAC_BLOCK];
	size_t		 i;

	if (util_hmac.valid && keylen == util_hmac.keylen &&
	    keylen <= UTIL_HMAC_BLOCK &&
	    memcmp(key, util_hmac.key, keylen) == 0)
		return;
	util_hmac.valid = 0;
	memset(k, 0, sizeof(k));
	if (keylen > UTIL_HMAC_BLOCK)
		gw_sha256(key, keylen, k);	/* RFC 2104 §3 */
	else
		memcpy(k, key, keylen);
	if ((util_hmac.inner == NULL &&
	    (util_hmac.inner = EVP_MD_CTX_new()) == NULL) ||
	    (util_hmac.outer == NULL &&
	    (util_hmac.outer = EVP_MD_CTX_new()) == NULL) ||
	    (util_hmac.work == NULL &&
	    (util_hmac.work = EVP_MD_CTX_new()) == NULL))
		abort();
	(void)util_sha256_begin();	/* fetches the digest */
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	if (!EVP_DigestInit_ex2(util_hmac.inner, util_md, NULL) ||
	    !EVP_DigestUpdate(util_hmac.inner, pad, sizeof(pad)))
		abort();
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	if (!EVP_DigestInit_ex2(util_hmac.outer, util_md, NULL) ||
	    !EVP_DigestUpdate(util_hmac.outer, pad, sizeof(pad)))
		abort();
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	/* A long key is not kept: it is rehashed on every call. */
	if (keylen <= UTIL_HMAC_BLOCK) {
		memcpy(util_hmac.key, key, keylen);
		util_hmac.keylen = keylen;
		util_hmac.valid = 1;
	}
}

void
gw_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    unsigned char out[32])
{
	unsigned char	 ih[32];
	unsigned int	 len = 32;

	util_hmac_key(key, keylen);
	if (!EVP_MD_CTX_copy_ex(util_hmac.work, util_hmac.inner) ||
	    !EVP_DigestUpdate(util_hmac.work, p, n) ||
	    !EVP_DigestFinal_ex(util_hmac.work, ih, &len) ||
	    !EVP_MD_CTX_copy_ex(util_hmac.work, util_hmac.outer) ||
	    !EVP_DigestUpdate(util_hmac.work, ih, sizeof(ih)) ||
	    !EVP_DigestFinal_ex(util_hmac.work, out, &len))
		abort();
}

/* ---------------------------------------------------------------- */
/* Identifiers */

/*
 * Random bytes for identifiers come from a pool filled by RAND_bytes()
 * 512 bytes at a time: one call costs as much as the rest of a small
 * request (OpenSSL 3 looks up its DRBG and checks for a fork each time),
 * and every request needs ten bytes for its trace id.  A child of fork()
 * must not hand out its parent's bytes again, so the pool is emptied in
 * the child.
 */
#define UTIL_POOL	512

static unsigned char	 util_pool[UTIL_POOL];
static size_t		 util_pool_left;
static int		 util_pool_atfork;

static void
util_pool_forget(void)
{
	util_pool_left = 0;
}

static void
random_bytes(unsigned char *p, size_t n)
{
	if (!util_pool_atfork) {
		if (pthread_atfork(NULL, NULL, util_pool_forget) != 0)
			abort();
		util_pool_atfork = 1;
	}
	if (n > UTIL_POOL / 4) {
		if (RAND_bytes(p, (int)n) != 1)
			abort();
		return;
	}
	if (util_pool_left < n) {
		if (RAND_bytes(util_pool, UTIL_POOL) != 1)
			abort();
		util_pool_left = UTIL_POOL;
	}
	/* Bytes are taken from the end and wiped as they go. */
	util_pool_left -= n;
	memcpy(p, util_pool + util_pool_left, n);
	OPENSSL_cleanse(util_pool + util_pool_left, n);
}

static uint64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * RFC 9562 §5.7: 48-bit Unix milliseconds, version 7, then random bits.
 * Within one process ids are strictly increasing (§6.2 method 3: when the
 * millisecond repeats, the 12-bit rand_a field counts up).
 */
void
gw_uuidv7(char out[37])
{
	static uint64_t	 last_ms;
	static unsigned	 seq;
	unsigned char	 b[16];
	uint64_t	 ms;
	size_t		 i, o = 0;
	static const char hex[] = "0123456789abcdef";

	random_bytes(b, sizeof(b));
	ms = now_ms();
	if (ms <= last_ms) {
		ms = last_ms;
		if (++seq > 0xfff) {
			ms = ++last_ms;
			seq = 0;
		}
	} else {
		last_ms = ms;
		seq = (b[6] << 8 | b[7]) & 0x7ff;	/* leave room to count */
	}
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (seq >> 8 & 0x0f));
	b[7] = (unsigned char)(seq & 0xff);
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

/* ULID: 48-bit milliseconds and 80 random bits in Crockford base32. */
void
gw_ulid(char out[27])
{
	static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	unsigned char	 r[10];
	uint64_t	 ms = now_ms();
	int		 i, bit;

	for (i = 9; i >= 0; i--) {
		out[i] = crockford[ms & 31];
		ms >>= 5;
	}
	random_bytes(r, sizeof(r));
	for (i = 0; i < 16; i++) {
		bit = i * 5;
		out[10 + i] = crockford[((r[bit / 8] << 8 |
		    (bit / 8 + 1 < 10 ? r[bit / 8 + 1] : 0)) >>
		    (11 - bit % 8)) & 31];
	}
	out[26] = '\0';
}

/* ---------------------------------------------------------------- */
/* Time */

int64_t
gw_now(void)
{
	return (int64_t)time(NULL);
}

static void
time_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Written by hand rather than with gmtime_r and strftime: a list page
 * formats a hundred timestamps, and strftime's locale machinery made it
 * a tenth of the page's cost.  Days to civil date as in days_from_civil
 * below, inverted (proleptic Gregorian, eras of 400 years).  The dates
 * of the last two days formatted are kept: the timestamps of a page
 * mostly fall on a few days (a row's createdAt and updatedAt, two), and
 * the divisions are in the date.
 */
void
gw_time_format(int64_t t, char out[21])
{
	static int64_t	 cday[2] = { INT64_MIN, INT64_MIN };
	static char	 cdate[2][11];
	static int	 cnext;
	int64_t		 days, secs, era, y;
	unsigned	 doe, yoe, doy, mp, m, d;
	int		 c;

	days = t / 86400;
	secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	if (days == cday[0])
		c = 0;
	else if (days == cday[1])
		c = 1;
	else {
		days += 719468;
		era = (days >= 0 ? days : days - 146096) / 146097;
		doe = (unsigned)(days - era * 146097);
		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		mp = (5 * doy + 2) / 153;
		d = doy - (153 * mp + 2) / 5 + 1;
		m = mp < 10 ? mp + 3 : mp - 9;
		y = (int64_t)yoe + era * 400 + (m <= 2);
		if (y < 0 || y > 9999) {
			strcpy(out, "1970-01-01T00:00:00Z");
			return;
		}
		c = cnext;
		cnext = !cnext;
		time_digits(cdate[c], (unsigned)y, 4);
		cdate[c][4] = '-';
		time_digits(cdate[c] + 5, m, 2);
		cdate[c][7] = '-';
		time_digits(cdate[c] + 8, d, 2);
		cdate[c][10] = 'T';
		cday[c] = days - 719468;
	}
	memcpy(out, cdate[c], 11);
	time_digits(out + 11, (unsigned)(secs / 3600), 2);
	out[13] = ':';
	time_digits(out + 14, (unsigned)(secs / 60 % 60), 2);
	out[16] = ':';
	time_digits(out + 17, (unsigned)(secs % 60), 2);
	out[19] = 'Z';
	out[20] = '\0';
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly "YYYY-MM-DDTHH:MM:SSZ": the one form the API writes. */
int
gw_time_parse(const char *s, int64_t *out)
{
	static const unsigned char mdays[] =
	    { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int		 f[6], i, y;

	if (s == NULL || strlen(s) != 20)
		return -1;
	for (i = 0; i < 20; i++) {
		if (shape[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return -1;
		} else if (s[i] != shape[i])
			return -1;
	}
	f[0] = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	for (i = 1; i < 6; i++)
		f[i] = (s[2 + 3 * i] - '0') * 10 + (s[3 + 3 * i] - '0');
	y = f[0];
	if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > mdays[f[1] - 1] ||
	    f[3] > 23 || f[4] > 59 || f[5] > 59)
		return -1;
	if (f[1] == 2 && f[2] == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, (unsigned)f[1], (unsigned)f[2]) * 86400 +
	    f[3] * 3600 + f[4] * 60 + f[5];
	return 0;
}

/* ---------------------------------------------------------------- */
/* Character sets */

static int
valid_charset(const char *s, size_t max, const char *extra)
{
	size_t	 n = 0;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++, n++) {
		if (n >= max)
			return 0;
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9'))
			continue;
		if (strchr(extra, *s) == NULL)
			return 0;
	}
	return n > 0;
}

int
gw_valid_id(const char *s)
{
	return valid_charset(s, 128, "._:-");
}

int
gw_valid_tenant(const char *s)
{
	return valid_charset(s, 64, "._-");
}

/* RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF. */
int
gw_valid_utf8(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, len, k;
	uint32_t		 cp;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}
