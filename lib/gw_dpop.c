/*
 * gw_dpop.c: DPoP proofs (RFC 9449, SPEC §3).
 *
 * A proof passes one fixed sequence of checks and is refused at the first
 * failure: the header field, the compact form, the JOSE header (typ, alg,
 * a public jwk that fits alg), the claims, the binding to the access token
 * (ath, cnf.jkt), the signature, and last the replay record.  Writing the
 * record last means a refused proof never uses up its jti and junk never
 * reaches the store; the record is the only write a GET makes.
 *
 * The proof's key comes from the proof itself, so its algorithm is taken
 * from a fixed table and the key must fit it (RFC 8725 §3.1): ES256 only
 * with an EC P-256 point that is on the curve, RS256 and PS256 only with
 * an RSA key of at least 2048 bits.  Keys are built with OpenSSL from the
 * JWK members directly, so no JOSE library decides what a key may do.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "extern.h"

#define DPOP_MAXJTI	128		/* bytes, SPEC §3 */
#define DPOP_MINRSA	2048		/* bits, RFC 7518 §3.3 */
#define DPOP_MAXRSA	8192
#define DPOP_P256	32		/* bytes of a P-256 coordinate */
/* NumericDate bounds: 0 to 9999-12-31T23:59:59Z. */
#define DPOP_MAXTIME	253402300799LL

enum dpop_kty {
	DPOP_KTY_EC,
	DPOP_KTY_RSA,
};

struct dpop_alg {
	const char	*name;
	enum dpop_kty	 kty;
	int		 pss;
};

/* The algs the WWW-Authenticate challenge advertises (gw_err.c). */
static const struct dpop_alg dpop_algs[] = {
	{ "ES256", DPOP_KTY_EC, 0 },
	{ "RS256", DPOP_KTY_RSA, 0 },
	{ "PS256", DPOP_KTY_RSA, 1 },
};

/* RFC 7518 §6.2.2, §6.3.2, §6.4: members only a private or symmetric key has. */
static const char *const dpop_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/*
 * A string member: 1 and *out when present, 0 when absent, -1 when of
 * another type or holding a NUL.
 */
static int
dpop_str(json_object *o, const char *name, const char **out, size_t *len)
{
	json_object	*v;
	const char	*s;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return -1;
	*out = s;
	if (len != NULL)
		*len = strlen(s);
	return 1;
}

/* Strict base64url of one segment or member into the arena, or NULL. */
static unsigned char *
dpop_b64(struct gw_arena *arena, const char *s, size_t n, size_t *outlen)
{
	unsigned char	*d;
	long		 r;

	if (n == 0)
		return NULL;
	d = gw_arena_alloc(arena, gw_b64url_declen(n) + 1);
	if ((r = gw_b64url_decode(s, n, d)) < 0)
		return NULL;
	d[r] = '\0';
	*outlen = (size_t)r;
	return d;
}

void
gw_dpop_ath(const char *token, char out[44])
{
	unsigned char	 h[32];

	gw_sha256(token, strlen(token), h);
	out[gw_b64url_encode(h, sizeof(h), out)] = '\0';
}

/* ---------------------------------------------------------------- */
/* The jwk */

struct dpop_jwk {
	enum dpop_kty	 kty;
	const char	*m[4];		/* the RFC 7638 members, in order */
	unsigned char	*raw[2];	/* x, y or n, e decoded */
	size_t		 rawlen[2];
};

/*
 * Read a public JWK into k: kty, then the members RFC 7638 §3.2 hashes,
 * each checked for its form.  A private or symmetric member anywhere
 * refuses the key (RFC 9449 §4.3 check 7): a client that leaks its
 * private key in every request has no key to prove possession of.
 */
static const char *
dpop_jwk_read(json_object *jwk, struct gw_arena *arena, struct dpop_jwk *k)
{
	const char	*kty, *crv, *names[2];
	size_t		 i, len;

	if (!json_object_is_type(jwk, json_type_object))
		return "jwk must be an object";
	for (i = 0; i < sizeof(dpop_private_members) /
	    sizeof(dpop_private_members[0]); i++)
		if (json_object_object_get_ex(jwk, dpop_private_members[i],
		    NULL))
			return "jwk holds a private key";
	if (dpop_str(jwk, "kty", &kty, NULL) != 1)
		return "jwk has no kty string";
	memset(k, 0, sizeof(*k));
	if (strcmp(kty, "EC") == 0) {
		if (dpop_str(jwk, "crv", &crv, NULL) != 1 ||
		    strcmp(crv, "P-256") != 0)
			return "jwk curve must be P-256";
		k->kty = DPOP_KTY_EC;
		k->m[0] = "P-256";
		k->m[1] = "EC";
		names[0] = "x";
		names[1] = "y";
	} else if (strcmp(kty, "RSA") == 0) {
		k->kty = DPOP_KTY_RSA;
		k->m[1] = "RSA";
		names[0] = "n";
		names[1] = "e";
	} else
		return "jwk kty must be EC or RSA";
	for (i = 0; i < 2; i++) {
		const char	*s;

		if (dpop_str(jwk, names[i], &s, &len) != 1 ||
		    (k->raw[i] = dpop_b64(arena, s, len, &k->rawlen[i])) ==
		    NULL)
			return "jwk member is not base64url";
		/* RFC 7638 §3.2 order: crv, kty, x, y; e, kty, n. */
		if (k->kty == DPOP_KTY_EC)
			k->m[2 + i] = s;
		else
			k->m[i == 0 ? 2 : 0] = s;
	}
	/* RFC 7518 §6.2.1.2-3: coordinates are full-length octet strings. */
	if (k->kty == DPOP_KTY_EC &&
	    (k->rawlen[0] != DPOP_P256 || k->rawlen[1] != DPOP_P256))
		return "jwk coordinates must be 32 bytes";
	/* An even exponent, or 1, is no RSA key; over 64 bits is abuse. */
	if (k->kty == DPOP_KTY_RSA) {
		for (i = 0; i + 1 < k->rawlen[1] && k->raw[1][i] == 0; i++)
			;
		if (k->rawlen[1] - i > 8 ||
		    (k->raw[1][k->rawlen[1] - 1] & 1) == 0 ||
		    (i + 1 == k->rawlen[1] && k->raw[1][i] < 3))
			return "jwk exponent is not a valid RSA exponent";
	}
	return NULL;
}

/*
 * RFC 7638 §3: SHA-256 over the required members in lexicographic order,
 * no whitespace.  Every value here is "P-256", "EC", "RSA" or checked
 * base64url, none of which JSON escapes, so the text is built directly.
 */
static void
dpop_jwk_thumbprint(const struct dpop_jwk *k, char out[44])
{
	static const char *const ec[] = { "{\"crv\":\"", "\",\"kty\":\"",
	    "\",\"x\":\"", "\",\"y\":\"", "\"}" };
	static const char *const rsa[] = { "{\"e\":\"", "\",\"kty\":\"",
	    "\",\"n\":\"", "\"}" };
	const char *const *name = k->kty == DPOP_KTY_EC ? ec : rsa;
	const void	*p[9];
	size_t		 n[9], i, np = 0, nm = k->kty == DPOP_KTY_EC ? 4 : 3;
	unsigned char	 h[32];

	/* Hashed in pieces: a request computes one per proof. */
	for (i = 0; i < nm; i++) {
		p[np] = name[i];
		n[np++] = strlen(name[i]);
		p[np] = k->m[i];
		n[np++] = strlen(k->m[i]);
	}
	p[np] = name[nm];
	n[np++] = strlen(name[nm]);
	gw_sha256_parts(p, n, np, h);
	out[gw_b64url_encode(h, sizeof(h), out)] = '\0';
}

int
gw_dpop_thumbprint(const char *jwk, size_t len, char out[44])
{
	struct gw_arena	*arena;
	struct dpop_jwk	 k;
	json_object	*o;
	char		 err[128];
	int		 rc = -1;

	out[0] = '\0';
	if ((o = gw_json_parse_object(jwk, len, err, sizeof(err))) == NULL)
		return -1;
	arena = gw_arena_new();
	if (dpop_jwk_read(o, arena, &k) == NULL) {
		dpop_jwk_thumbprint(&k, out);
		rc = 0;
	}
	gw_arena_free(arena);
	json_object_put(o);
	return rc;
}

/*
 * The OpenSSL key of a checked jwk.  Building an EC key from a point
 * checks that the point is on the curve (RFC 8725 §3.4: invalid-curve
 * attacks).
 */
static EVP_PKEY *
dpop_jwk_key(const struct dpop_jwk *k)
{
	OSSL_PARAM_BLD	*bld;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pk = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	unsigned char	 pt[1 + 2 * DPOP_P256];
	int		 ok;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (k->kty == DPOP_KTY_EC) {
		pt[0] = POINT_CONVERSION_UNCOMPRESSED;
		memcpy(pt + 1, k->raw[0], DPOP_P256);
		memcpy(pt + 1 + DPOP_P256, k->raw[1], DPOP_P256);
		ok = OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	} else {
		n = BN_bin2bn(k->raw[0], (int)k->rawlen[0], NULL);
		e = BN_bin2bn(k->raw[1], (int)k->rawlen[1], NULL);
		ok = n != NULL && e != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	}
	if (!ok || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, k->kty == DPOP_KTY_EC ?
	    "EC" : "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		pk = NULL;
		goto out;
	}
	if (k->kty == DPOP_KTY_RSA && (EVP_PKEY_get_bits(pk) < DPOP_MINRSA ||
	    EVP_PKEY_get_bits(pk) > DPOP_MAXRSA)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pk;
}

/*
 * Verifiers of recently seen keys, per process.  A client signs every
 * request with the same key, and building an OpenSSL key and verify
 * context from JWK members costs more than the verification itself.
 * The slot is found by the RFC 7638 thumbprint, a SHA-256 over exactly
 * the members that make the key, so an entry can only be found again by
 * the very same key; a refused key is never stored.
 *
 * An entry also keeps the protected header, as sent, of the last proof
 * that passed every check with its key.  A client sends the same header
 * with every proof (typ, alg and jwk; nothing in it changes per request),
 * and a header equal byte for byte to one that passed the header checks
 * passes them again with the same alg and thumbprint: a proof carrying
 * it skips decoding and parsing the header, never the payload's checks
 * or the signature.
 */
#define DPOP_NCACHE	16

struct dpop_verifier {
	char			 jkt[44];
	const struct dpop_alg	*alg;
	EVP_PKEY_CTX		*ctx;		/* verify_init'ed for alg */
	char			*hdr;		/* base64url, NULL: none yet */
	size_t			 hdrlen;
};

static struct dpop_verifier	dpop_cache[DPOP_NCACHE];
static size_t			dpop_cache_next;

static void
dpop_cache_free(void)
{
	size_t	 i;

	for (i = 0; i < DPOP_NCACHE; i++) {
		EVP_PKEY_CTX_free(dpop_cache[i].ctx);
		free(dpop_cache[i].hdr);
	}
	memset(dpop_cache, 0, sizeof(dpop_cache));
}

/* The entry whose header is this protected header segment, or NULL. */
static struct dpop_verifier *
dpop_cache_header(const char *seg, size_t len)
{
	size_t	 i;

	for (i = 0; i < DPOP_NCACHE; i++)
		if (dpop_cache[i].hdr != NULL && dpop_cache[i].hdrlen == len &&
		    memcmp(dpop_cache[i].hdr, seg, len) == 0)
			return &dpop_cache[i];
	return NULL;
}

/* After a proof passed every check: its header, for the next ones. */
static void
dpop_cache_remember(const char *jkt, const struct dpop_alg *a,
    const char *seg, size_t len)
{
	char	*copy;
	size_t	 i;

	for (i = 0; i < DPOP_NCACHE; i++)
		if (dpop_cache[i].ctx != NULL && dpop_cache[i].alg == a &&
		    strcmp(dpop_cache[i].jkt, jkt) == 0)
			break;
	if (i == DPOP_NCACHE || (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, seg, len);
	free(dpop_cache[i].hdr);
	dpop_cache[i].hdr = copy;
	dpop_cache[i].hdrlen = len;
}

/* RFC 7518 §3.3-3.5: SHA-256 with PKCS #1 v1.5, or PSS with MGF1-SHA-256
 * and a 32-byte salt. */
static EVP_PKEY_CTX *
dpop_verifier(const struct dpop_jwk *k, const char *jkt,
    const struct dpop_alg *a)
{
	static int		 registered;
	struct dpop_verifier	*v;
	EVP_PKEY		*pk;
	EVP_PKEY_CTX		*ctx;
	size_t			 i;

	for (i = 0; i < DPOP_NCACHE; i++)
		if (dpop_cache[i].ctx != NULL && dpop_cache[i].alg == a &&
		    strcmp(dpop_cache[i].jkt, jkt) == 0)
			return dpop_cache[i].ctx;
	if ((pk = dpop_jwk_key(k)) == NULL)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	EVP_PKEY_free(pk);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    (a->kty == DPOP_KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(ctx,
	    a->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1) ||
	    (a->pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
	    RSA_PSS_SALTLEN_DIGEST) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1))) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	if (!registered) {
		atexit(dpop_cache_free);
		registered = 1;
	}
	v = &dpop_cache[dpop_cache_next++ % DPOP_NCACHE];
	EVP_PKEY_CTX_free(v->ctx);
	free(v->hdr);
	memcpy(v->jkt, jkt, sizeof(v->jkt));
	v->alg = a;
	v->ctx = ctx;
	v->hdr = NULL;
	v->hdrlen = 0;
	return ctx;
}

/*
 * RFC 7515 §5.2 over "header.payload".  ES256 signatures are R || S, 32
 * bytes each (RFC 7518 §3.4), which OpenSSL wants as DER.
 */
static int
dpop_sig_ok(EVP_PKEY_CTX *ctx, const struct dpop_alg *a, const char *in,
    size_t inlen, const unsigned char *sig, size_t siglen)
{
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r, *s;
	unsigned char	*der = NULL, h[32];
	int		 derlen, ok = 0;

	if (a->kty == DPOP_KTY_EC) {
		if (siglen != 2 * DPOP_P256)
			return 0;
		r = BN_bin2bn(sig, DPOP_P256, NULL);
		s = BN_bin2bn(sig + DPOP_P256, DPOP_P256, NULL);
		if ((es = ECDSA_SIG_new()) == NULL || r == NULL || s == NULL ||
		    !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			goto out;
		}
		if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
			goto out;
		sig = der;
		siglen = (size_t)derlen;
	} else if (siglen != (size_t)EVP_PKEY_get_size(
	    EVP_PKEY_CTX_get0_pkey(ctx)))
		return 0;
	gw_sha256(in, inlen, h);
	ok = EVP_PKEY_verify(ctx, sig, siglen, h, sizeof(h)) == 1;
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return ok;
}

/* ---------------------------------------------------------------- */
/* htu */

/*
 * An http(s) URI in the form RFC 9449 §4.3 check 9 compares (RFC 3986
 * §6.2.2-6.2.3): scheme and host in lower case, the default port dropped
 * (":443" for https, ":80" for http, and an empty port), an empty path as
 * "/", query and fragment cut.  The path is compared as sent: front ends
 * pass REQUEST_URI undecoded.  "HTTPS://GW.Example.org:443/a?b" becomes
 * "https://gw.example.org/a".
 */
static int
dpop_url_norm(const char *u, struct gw_buf *out)
{
	const char	*p, *host, *hend, *end, *port = NULL, *errstr;
	char		 num[6];
	size_t		 n, i;
	long long	 v;
	int		 https;

	if (strncasecmp(u, "https://", 8) == 0) {
		https = 1;
		p = u + 8;
	} else if (strncasecmp(u, "http://", 7) == 0) {
		https = 0;
		p = u + 7;
	} else
		return -1;
	host = p;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return -1;
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(end - p))) == NULL)
			return -1;
		hend++;
	} else if ((hend = memchr(p, ':', (size_t)(end - p))) == NULL)
		hend = end;
	if (hend == host)
		return -1;
	if (hend < end) {
		if (*hend != ':')
			return -1;
		port = hend + 1;
	}
	gw_buf_puts(out, https ? "https://" : "http://");
	for (i = 0; host + i < hend; i++)
		gw_buf_putc(out, (char)(host[i] >= 'A' && host[i] <= 'Z' ?
		    host[i] - 'A' + 'a' : host[i]));
	if (port != NULL && (n = (size_t)(end - port)) > 0) {
		if (n >= sizeof(num) || strspn(port, "0123456789") < n)
			return -1;
		memcpy(num, port, n);
		num[n] = '\0';
		/* Leading zeros name the same port (RFC 3986 §3.2.3). */
		while (num[0] == '0' && num[1] != '\0')
			memmove(num, num + 1, strlen(num));
		v = gw_strtonum(num, 1, 65535, &errstr);
		if (errstr != NULL)
			return -1;
		if (v != (https ? 443 : 80))
			gw_buf_printf(out, ":%lld", v);
	}
	n = strcspn(end, "?#");
	if (n == 0)
		gw_buf_putc(out, '/');
	else
		gw_buf_add(out, end, n);
	return 0;
}

/* htu against public_base_url + path, never against the Host header. */
static int
dpop_htu_ok(const char *base, const char *path, const char *htu)
{
	struct gw_buf	 want, got, url;
	int		 ok;

	gw_buf_init(&want);
	gw_buf_init(&got);
	gw_buf_init(&url);
	gw_buf_puts(&url, base);
	gw_buf_puts(&url, path);
	ok = dpop_url_norm(url.data, &want) == 0 &&
	    dpop_url_norm(htu, &got) == 0 && want.len == got.len &&
	    memcmp(want.data, got.data, want.len) == 0;
	gw_buf_free(&url);
	gw_buf_free(&got);
	gw_buf_free(&want);
	return ok;
}

/* ---------------------------------------------------------------- */
/* The proof */

static const struct dpop_alg *
dpop_alg_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(dpop_algs) / sizeof(dpop_algs[0]); i++)
		if (strcmp(dpop_algs[i].name, name) == 0)
			return &dpop_algs[i];
	return NULL;
}

/* RFC 9449 §4.2-4.3: the claims, then the binding to the access token. */
static const char *
dpop_claims(const struct gw_conf *conf, json_object *pl, const char *method,
    const char *path, const char *token, int64_t now, struct gw_dpop *d)
{
	json_object	*v;
	const char	*s;
	char		 ath[44];
	size_t		 len;

	if (dpop_str(pl, "jti", &s, &len) != 1 || len == 0 ||
	    len > DPOP_MAXJTI)
		return "jti must be a string of 1-128 bytes";
	d->jti = s;
	if (dpop_str(pl, "htm", &s, NULL) != 1)
		return "htm must be a string";
	if (strcmp(s, method) != 0)
		return "htm does not match the request method";
	if (dpop_str(pl, "htu", &s, NULL) != 1)
		return "htu must be a string";
	if (conf->public_base_url == NULL ||
	    !dpop_htu_ok(conf->public_base_url, path, s))
		return "htu does not match the request URI";
	if (!json_object_object_get_ex(pl, "iat", &v) ||
	    !json_object_is_type(v, json_type_int))
		return "iat must be a JSON integer";
	d->iat = json_object_get_int64(v);
	if (d->iat < 0 || d->iat > DPOP_MAXTIME)
		return "iat must be a JSON integer";
	/* Compared as now - iat, never iat + max_age, which could overflow. */
	if (d->iat < now && now - d->iat > conf->dpop_max_age)
		return "iat is older than auth.dpop_max_age_seconds";
	if (d->iat > now && d->iat - now > conf->leeway)
		return "iat is in the future";
	/* RFC 9449 §4.3 check 11 and §7.1: ath is required with a token. */
	if (token != NULL) {
		if (dpop_str(pl, "ath", &s, &len) != 1)
			return "ath must be a string";
		gw_dpop_ath(token, ath);
		if (len != strlen(ath) || !gw_ct_equal(s, ath, len))
			return "ath does not match the access token";
	}
	return NULL;
}

const char *
gw_dpop_check(const struct gw_conf *conf, struct gw_arena *arena,
    const char *proof, const char *method, const char *path,
    const char *token, const char *token_jkt, int64_t now, struct gw_dpop *d)
{
	const char		*dot1, *dot2, *s, *why = NULL;
	const struct dpop_alg	*a;
	struct dpop_verifier	*seen;
	struct dpop_jwk		 k;
	unsigned char		*hdr = NULL, *pay, *sig;
	size_t			 len, hseg, hlen = 0, plen, slen;
	json_object		*h = NULL, *pl = NULL, *jwk;
	EVP_PKEY_CTX		*vctx;
	char			 jerr[128];

	memset(d, 0, sizeof(*d));
	if (proof == NULL || conf == NULL || method == NULL || path == NULL)
		return "no proof";
	len = strnlen(proof, GW_DPOP_MAXPROOF + 1);
	if (len > GW_DPOP_MAXPROOF)
		return "proof over 4096 bytes";
	/* RFC 7515 §7.1: exactly three segments, none empty. */
	if ((dot1 = strchr(proof, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return "proof is not a compact JWS";
	hseg = (size_t)(dot1 - proof);
	seen = dpop_cache_header(proof, hseg);
	if ((seen == NULL && (hdr = dpop_b64(arena, proof, hseg, &hlen)) ==
	    NULL) ||
	    (pay = dpop_b64(arena, dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    &plen)) == NULL ||
	    (sig = dpop_b64(arena, dot2 + 1, len - (size_t)(dot2 + 1 - proof),
	    &slen)) == NULL)
		return "proof segment is not base64url without padding";

	if (seen != NULL) {
		a = seen->alg;
		memcpy(d->jkt, seen->jkt, sizeof(d->jkt));
		goto payload;
	}
	/* RFC 9449 §4.3 checks 4-7: the JOSE header. */
	if ((h = gw_json_parse_object((char *)hdr, hlen, jerr,
	    sizeof(jerr))) == NULL) {
		why = "proof header is not a JSON object";
		goto out;
	}
	if (dpop_str(h, "typ", &s, NULL) != 1 || strcmp(s, "dpop+jwt") != 0) {
		why = "typ must be dpop+jwt";
		goto out;
	}
	if (dpop_str(h, "alg", &s, NULL) != 1 || (a = dpop_alg_find(s)) ==
	    NULL) {
		why = "alg must be ES256, RS256 or PS256";
		goto out;
	}
	/* RFC 7515 §4.1.11: we understand no extension. */
	if (json_object_object_get_ex(h, "crit", NULL)) {
		why = "crit is not supported";
		goto out;
	}
	if (!json_object_object_get_ex(h, "jwk", &jwk)) {
		why = "jwk is missing";
		goto out;
	}
	if ((why = dpop_jwk_read(jwk, arena, &k)) != NULL)
		goto out;
	if (k.kty != a->kty) {
		why = "alg does not fit the jwk";
		goto out;
	}
	dpop_jwk_thumbprint(&k, d->jkt);

payload:
	if ((pl = gw_json_parse_object((char *)pay, plen, jerr,
	    sizeof(jerr))) == NULL) {
		why = "proof payload is not a JSON object";
		goto out;
	}
	if ((why = dpop_claims(conf, pl, method, path, token, now, d)) !=
	    NULL)
		goto out;
	d->jti = gw_arena_strdup(arena, d->jti);
	/* RFC 9449 §6.1: the token is bound to this very key. */
	if (token_jkt != NULL && (strlen(token_jkt) != strlen(d->jkt) ||
	    !gw_ct_equal(token_jkt, d->jkt, strlen(d->jkt)))) {
		why = "jwk thumbprint does not match the token's cnf.jkt";
		goto out;
	}

	/* RFC 9449 §4.3 check 8: last, because it is the expensive step. */
	if ((vctx = seen != NULL ? seen->ctx : dpop_verifier(&k, d->jkt, a)) ==
	    NULL) {
		why = "jwk is not a usable public key";
		goto out;
	}
	if (!dpop_sig_ok(vctx, a, proof, (size_t)(dot2 - proof), sig, slen))
		why = "proof signature does not verify";
	else if (seen == NULL)
		dpop_cache_remember(d->jkt, a, proof, hseg);
out:
	if (pl != NULL)
		json_object_put(pl);
	if (h != NULL)
		json_object_put(h);
	if (why != NULL)
		memset(d, 0, sizeof(*d));
	return why;
}

/* ---------------------------------------------------------------- */
/* The request */

/*
 * The replay record is kept until iat + max_age + 2 x leeway: a proof is
 * acceptable until iat + max_age on the clock of the process that checks
 * it, and a process whose clock runs up to leeway ahead may purge the
 * record while one that runs up to leeway behind still accepts the proof
 * (Duende's clock_skew_should_extend_replay_cache).
 */
enum gw_err
gw_dpop_request(struct gw_req *req, const char *token_jkt)
{
	const struct gw_conf	*conf = gw_req_conf(req);
	struct gw_store		*store = gw_req_store(req);
	struct gw_dpop		 d;
	const char		*v, *why;
	enum gw_err		 e;
	int			 n;

	if (conf == NULL)
		return gw_fail(req, GW_ERR_INTERNAL, NULL, "no configuration");
	/* RFC 9449 §4.3 check 1: one field, one JWS.  A comma means the
	 * front end folded two DPoP fields into one. */
	if ((n = gw_req_env_count(req, "HTTP_DPOP")) == 0)
		return gw_fail(req, GW_ERR_INVALID_DPOP_PROOF, NULL,
		    "a DPoP proof is required");
	if (n > 1 || (v = gw_req_env(req, "HTTP_DPOP")) == NULL ||
	    strchr(v, ',') != NULL)
		return gw_fail(req, GW_ERR_INVALID_DPOP_PROOF, NULL,
		    "exactly one DPoP header is allowed");
	if ((why = gw_dpop_check(conf, req->arena, v, req->method_str,
	    req->path, req->token, token_jkt, req->now, &d)) != NULL) {
		gw_log(GW_LOG_INFO, req->trace_id, "DPoP proof refused: %s",
		    why);
		return gw_fail(req, GW_ERR_INVALID_DPOP_PROOF, NULL,
		    "DPoP proof refused: %s", why);
	}
	/* A replay table made anew may lack records of proofs issued
	 * before it (gw_replay.c): such a proof is refused like a used one,
	 * and the client's next, fresh proof passes. */
	if (store != NULL && d.iat < gw_store_dpop_since(store)) {
		gw_log(GW_LOG_INFO, req->trace_id, "DPoP proof refused: "
		    "issued before the replay records began");
		return gw_fail(req, GW_ERR_INVALID_DPOP_PROOF, NULL,
		    "DPoP proof refused: issued before the replay records "
		    "began");
	}
	e = store != NULL ? gw_store_dpop_record(store, d.jkt, d.jti,
	    d.iat + conf->dpop_max_age + 2 * (int64_t)conf->leeway,
	    req->now) : GW_ERR_UNAVAILABLE;
	if (e == GW_ERR_CONFLICT) {
		gw_log(GW_LOG_INFO, req->trace_id,
		    "DPoP proof refused: jti replayed");
		return gw_fail(req, GW_ERR_INVALID_DPOP_PROOF, NULL,
		    "DPoP proof refused: jti already used with this key");
	}
	/* Fail closed: a proof we cannot record could be replayed.  503
	 * with Retry-After, like every other store outage: the client may
	 * retry with a fresh proof. */
	if (e != GW_OK) {
		gw_log(GW_LOG_WARN, req->trace_id,
		    "DPoP replay record not written: request refused");
		return gw_fail(req, GW_ERR_UNAVAILABLE, NULL,
		    "the DPoP replay record could not be written");
	}
	return GW_OK;
}
