/*
 * check_dpop.c: DPoP proofs (RFC 9449, SPEC §3) and their replay record.
 *
 * Proofs are made here with OpenSSL (ES256 on P-256, RS256 and PS256 on
 * RSA 2048 keys generated for the run), so gw_dpop.c is checked against
 * an independent signer; the RFC 9449 example proof, signed by the RFC's
 * authors, is checked too.  Every rule has an accepted and a refused case
 * with the exact reason; the request tests go through gw_auth_request with
 * a real SQLite store.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "extern.h"
#include "check_db.h"

#define NOW		1800000000LL
#define BASE		"https://gw.example.org"
#define PATH		"/jobengine/sources"
#define URL		BASE PATH
#define ISSUER		"https://authority.test"
#define OMIT		"\001"		/* leave the member out */

static struct gw_conf	 conf;
static struct gw_arena	*arena;
static EVP_PKEY		*ec, *ec2, *rsa, *rsa1024;
static char		 keydir[512];
static const char	*token = "header.payload.signature";

/* ---------------------------------------------------------------- */
/* The proof maker */

static const char *
b64(const void *p, size_t n)
{
	char	*s = gw_arena_alloc(arena, gw_b64url_enclen(n) + 1);

	s[gw_b64url_encode(p, n, s)] = '\0';
	return s;
}

static const char *
b64_bn(const BIGNUM *bn, int pad)
{
	unsigned char	 buf[1024];
	int		 n;

	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	ck_assert_int_gt(n, 0);
	return b64(buf, (size_t)n);
}

/* The public JWK of a key, members in the order a client might use. */
static const char *
jwk_of(EVP_PKEY *k)
{
	BIGNUM		*a = NULL, *b = NULL;
	const char	*s;

	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &a));
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &b));
		s = gw_arena_printf(arena, "{\"kty\":\"EC\",\"crv\":\"P-256\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", b64_bn(a, 32), b64_bn(b, 32));
	} else {
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &a));
		ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &b));
		s = gw_arena_printf(arena, "{\"kty\":\"RSA\",\"n\":\"%s\","
		    "\"e\":\"%s\"}", b64_bn(a, 0), b64_bn(b, 0));
	}
	BN_free(a);
	BN_free(b);
	return s;
}

static const char *
jkt_of(EVP_PKEY *k)
{
	const char	*j = jwk_of(k);
	char		*out = gw_arena_alloc(arena, 44);

	ck_assert_int_eq(gw_dpop_thumbprint(j, strlen(j), out), 0);
	return out;
}

/* JWS signature over in (RFC 7518 §3.3-3.5), base64url. */
static const char *
sign(EVP_PKEY *k, const char *alg, const char *in)
{
	EVP_MD_CTX	*md = EVP_MD_CTX_new();
	EVP_PKEY_CTX	*pctx;
	unsigned char	*sig, raw[64];
	const unsigned char *p;
	ECDSA_SIG	*es;
	size_t		 len;
	const char	*out;

	ck_assert_int_eq(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k),
	    1);
	if (strcmp(alg, "PS256") == 0) {
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ck_assert_int_eq(EVP_DigestSign(md, NULL, &len,
	    (const unsigned char *)in, strlen(in)), 1);
	sig = malloc(len);
	ck_assert_int_eq(EVP_DigestSign(md, sig, &len,
	    (const unsigned char *)in, strlen(in)), 1);
	if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
		p = sig;
		ck_assert_ptr_nonnull(es = d2i_ECDSA_SIG(NULL, &p, (long)len));
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
		ECDSA_SIG_free(es);
		out = b64(raw, sizeof(raw));
	} else
		out = b64(sig, len);
	free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

struct pf {
	EVP_PKEY	*key;		/* NULL: ec */
	EVP_PKEY	*signer;	/* NULL: key */
	const char	*alg;		/* NULL: ES256 or RS256 by key */
	const char	*typ;		/* NULL: "dpop+jwt" as a string */
	const char	*jwk;		/* NULL: key's; raw JSON */
	const char	*hdr_extra;	/* raw members after the others */
	const char	*jti;		/* NULL: a fresh one */
	const char	*htm;		/* NULL: GET */
	const char	*htu;		/* NULL: URL */
	int64_t		 iat;		/* offset from NOW */
	const char	*iat_raw;	/* raw JSON instead */
	const char	*ath;		/* NULL: of token */
	const char	*tok;		/* NULL: token */
	const char	*pl_extra;
	int		 bad_sig;
};

static void
member(struct gw_buf *b, const char *name, const char *val, const char *dflt)
{
	if (val == NULL)
		val = dflt;
	if (strcmp(val, OMIT) != 0)
		gw_buf_printf(b, ",\"%s\":\"%s\"", name, val);
}

static const char *
proof(const struct pf *p)
{
	static unsigned	 seq;
	EVP_PKEY	*k = p->key != NULL ? p->key : ec;
	const char	*alg, *in, *s;
	struct gw_buf	 h, pl;
	char		 ath[44], jti[32];

	alg = p->alg != NULL ? p->alg :
	    EVP_PKEY_get_base_id(k) == EVP_PKEY_EC ? "ES256" : "RS256";
	gw_buf_init(&h);
	gw_buf_printf(&h, "{\"alg\":\"%s\"", alg);
	if (p->typ == NULL)
		gw_buf_puts(&h, ",\"typ\":\"dpop+jwt\"");
	else if (strcmp(p->typ, OMIT) != 0)
		gw_buf_printf(&h, ",\"typ\":%s", p->typ);
	if (p->jwk == NULL)
		gw_buf_printf(&h, ",\"jwk\":%s", jwk_of(k));
	else if (strcmp(p->jwk, OMIT) != 0)
		gw_buf_printf(&h, ",\"jwk\":%s", p->jwk);
	if (p->hdr_extra != NULL)
		gw_buf_puts(&h, p->hdr_extra);
	gw_buf_putc(&h, '}');

	gw_buf_init(&pl);
	snprintf(jti, sizeof(jti), "jti-%u-%d", ++seq, (int)getpid());
	gw_buf_puts(&pl, "{\"v\":1");
	member(&pl, "jti", p->jti, jti);
	member(&pl, "htm", p->htm, "GET");
	member(&pl, "htu", p->htu, URL);
	if (p->iat_raw == NULL)
		gw_buf_printf(&pl, ",\"iat\":%lld", (long long)(NOW + p->iat));
	else if (strcmp(p->iat_raw, OMIT) != 0)
		gw_buf_printf(&pl, ",\"iat\":%s", p->iat_raw);
	gw_dpop_ath(p->tok != NULL ? p->tok : token, ath);
	member(&pl, "ath", p->ath, ath);
	if (p->pl_extra != NULL)
		gw_buf_puts(&pl, p->pl_extra);
	gw_buf_putc(&pl, '}');

	in = gw_arena_printf(arena, "%s.%s", b64(h.data, h.len),
	    b64(pl.data, pl.len));
	gw_buf_free(&h);
	gw_buf_free(&pl);
	s = sign(p->signer != NULL ? p->signer : k, alg, in);
	if (p->bad_sig) {
		char	*t = gw_arena_strdup(arena, s);

		t[0] = t[0] == 'A' ? 'B' : 'A';
		s = t;
	}
	return gw_arena_printf(arena, "%s.%s", in, s);
}

/* gw_dpop_check of a GET on PATH at NOW with token and no cnf.jkt. */
static const char *
check(const char *prf)
{
	struct gw_dpop	 d;

	return gw_dpop_check(&conf, arena, prf, "GET", PATH, token, NULL, NOW,
	    &d);
}

#define ACCEPT(p)	ck_assert_ptr_null(check(p))
#define REFUSE(p, why)	do {						\
	const char *w_ = check(p);					\
	ck_assert_ptr_nonnull(w_);					\
	ck_assert_str_eq(w_, why);					\
} while (0)

/* ---------------------------------------------------------------- */

static EVP_PKEY *
rsa_gen(unsigned bits)
{
	EVP_PKEY	*k = EVP_RSA_gen(bits);

	ck_assert_ptr_nonnull(k);
	return k;
}

static void
global_setup(void)
{
	const char	*top = getenv("top_srcdir");

	snprintf(keydir, sizeof(keydir), "%s/tests/keys",
	    top != NULL ? top : ".");
	ec = EVP_EC_gen("P-256");
	ec2 = EVP_EC_gen("P-256");
	rsa = rsa_gen(2048);
	rsa1024 = rsa_gen(1024);
}

static void
global_teardown(void)
{
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec2);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(rsa1024);
}

static void
setup(void)
{
	static char	*aud[] = { "stellaops-gateway" };
	static char	*tc[] = { "stellaops:tenant" };

	memset(&conf, 0, sizeof(conf));
	conf.public_base_url = BASE;
	conf.issuer = ISSUER;
	conf.audiences[0] = aud[0];
	conf.naudiences = 1;
	conf.tenant_claims[0] = tc[0];
	conf.ntenant_claims = 1;
	conf.leeway = 60;
	conf.max_token_lifetime = 86400;
	conf.dpop_max_age = 60;
	conf.busy_timeout_ms = 200;
	arena = gw_arena_new();
}

static void
teardown(void)
{
	gw_arena_free(arena);
	arena = NULL;
}

/* ---------------------------------------------------------------- */
/* Vectors */

/* RFC 7638 §3.1. */
START_TEST(rfc7638_thumbprint_vector)
{
	static const char jwk[] = "{\"kty\":\"RSA\",\"n\":\"0vx7agoebGcQSuuPiLJ"
	    "XZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
	    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5"
	    "w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu"
	    "6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr"
	    "3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\","
	    "\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}";
	char	 out[44];

	ck_assert_int_eq(gw_dpop_thumbprint(jwk, strlen(jwk), out), 0);
	ck_assert_str_eq(out, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}
END_TEST

/* RFC 9449 §6.1 (Figure 9): the thumbprint of the §4.2 example key,
 * whatever the member order and extra members. */
START_TEST(rfc9449_jkt_vector)
{
	static const char jwk[] = "{\"y\":\"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVr"
	    "U0CdvGRDA\",\"kty\":\"EC\",\"use\":\"sig\",\"x\":\"l8tFrhx-34tV3hRI"
	    "CRDY9zCkDlpBhF42UQUfWVAWBFs\",\"crv\":\"P-256\"}";
	char	 out[44];

	ck_assert_int_eq(gw_dpop_thumbprint(jwk, strlen(jwk), out), 0);
	ck_assert_str_eq(out, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
	ck_assert_int_eq(gw_dpop_thumbprint("{\"kty\":\"EC\"}", 12, out), -1);
	ck_assert_int_eq(gw_dpop_thumbprint("{\"kty\":\"oct\",\"k\":\"AA\"}",
	    22, out), -1);
}
END_TEST

/* RFC 9449 §7.1 (Figure 13). */
START_TEST(rfc9449_ath_vector)
{
	char	 out[44];

	gw_dpop_ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", out);
	ck_assert_str_eq(out, "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo");
}
END_TEST

/* RFC 9449 §4.2 (Figure 2): the RFC's own proof, for a POST to
 * https://server.example.com/token, verifies, and one flipped signature
 * bit does not. */
START_TEST(rfc9449_example_proof_verifies)
{
	static const char prf[] = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2Iiwi"
	    "andrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJo"
	    "RjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5"
	    "VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2M"
	    "ybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29"
	    "tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8ig"
	    "iMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
	struct gw_dpop	 d;
	char		*bad;

	conf.public_base_url = "https://server.example.com";
	ck_assert_ptr_null(gw_dpop_check(&conf, arena, prf, "POST", "/token",
	    NULL, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", 1562262616,
	    &d));
	ck_assert_str_eq(d.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
	ck_assert_str_eq(d.jti, "-BwC3ESc6acc2lTc");
	ck_assert_int_eq(d.iat, 1562262616);
	bad = gw_arena_strdup(arena, prf);
	bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'Z' ? 'Y' : 'Z';
	ck_assert_str_eq(gw_dpop_check(&conf, arena, bad, "POST", "/token",
	    NULL, NULL, 1562262616, &d), "proof signature does not verify");
	/* With an access token, ath becomes required (RFC 9449 §7.1). */
	ck_assert_str_eq(gw_dpop_check(&conf, arena, prf, "POST", "/token",
	    token, NULL, 1562262616, &d), "ath must be a string");
}
END_TEST

/* ---------------------------------------------------------------- */
/* The rules, one by one */

START_TEST(algorithms_es256_rs256_ps256_are_accepted)
{
	struct gw_dpop	 d;
	const char	*p;

	ACCEPT(proof(&(struct pf){ .key = ec }));
	ACCEPT(proof(&(struct pf){ .key = rsa, .alg = "RS256" }));
	ACCEPT(proof(&(struct pf){ .key = rsa, .alg = "PS256" }));
	p = proof(&(struct pf){ .key = ec, .jti = "fixed-jti" });
	ck_assert_ptr_null(gw_dpop_check(&conf, arena, p, "GET", PATH, token,
	    NULL, NOW, &d));
	ck_assert_str_eq(d.jkt, jkt_of(ec));
	ck_assert_str_eq(d.jti, "fixed-jti");
	ck_assert_int_eq(d.iat, NOW);
}
END_TEST

START_TEST(typ_must_be_dpop_jwt)
{
	static const char *const bad[] = {
		OMIT, "\"JWT\"", "\"at+jwt\"", "\"DPOP+JWT\"",
		"\"application/dpop+jwt\"", "true", "null",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		REFUSE(proof(&(struct pf){ .typ = bad[i] }),
		    "typ must be dpop+jwt");
	ACCEPT(proof(&(struct pf){ .typ = "\"dpop+jwt\"" }));
}
END_TEST

START_TEST(alg_must_be_allowed_and_fit_the_jwk)
{
	static const char *const bad[] = {
		"none", "HS256", "ES384", "ES512", "RS384", "RS512", "PS512",
		"EdDSA", "es256",
	};
	char		 hs[128];
	size_t		 i;
	const char	*p;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* The signature does not matter: alg is refused first. */
		p = proof(&(struct pf){ .key = rsa, .alg = "RS256" });
		snprintf(hs, sizeof(hs), "{\"alg\":\"%s\",\"typ\":\"dpop+jwt\","
		    "\"jwk\":{\"kty\":\"oct\"}}", bad[i]);
		p = gw_arena_printf(arena, "%s%s", b64(hs, strlen(hs)),
		    strchr(p, '.'));
		REFUSE(p, "alg must be ES256, RS256 or PS256");
	}
	REFUSE(proof(&(struct pf){ .key = ec, .alg = "RS256",
	    .signer = rsa }), "alg does not fit the jwk");
	REFUSE(proof(&(struct pf){ .key = rsa, .alg = "ES256", .signer = ec }),
	    "alg does not fit the jwk");
	REFUSE(proof(&(struct pf){ .key = ec, .alg = "PS256",
	    .signer = rsa }), "alg does not fit the jwk");
}
END_TEST

START_TEST(jwk_must_be_a_public_key)
{
	static const char *const priv[] = {
		"d", "p", "q", "dp", "dq", "qi", "k", "oth",
	};
	/* 1, 2, 0x0001, 0, 65536 and a 9-byte exponent. */
	static const char *const bad_e[] = {
		"AQ", "Ag", "AAE", "AA", "AQAA", "AQAAAAAAAAAB",
	};
	const char	*pub = jwk_of(ec);
	size_t		 i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		REFUSE(proof(&(struct pf){ .jwk = gw_arena_printf(arena,
		    "{\"%s\":\"AQAB\",%s", priv[i], pub + 1) }),
		    "jwk holds a private key");
	REFUSE(proof(&(struct pf){ .jwk = OMIT }), "jwk is missing");
	REFUSE(proof(&(struct pf){ .jwk = "\"key\"" }), "jwk must be an object");
	REFUSE(proof(&(struct pf){ .jwk = "{\"kty\":\"oct\"}" }),
	    "jwk kty must be EC or RSA");
	REFUSE(proof(&(struct pf){ .jwk = "{\"crv\":\"P-256\"}" }),
	    "jwk has no kty string");
	REFUSE(proof(&(struct pf){ .jwk = "{\"kty\":\"EC\",\"crv\":\"P-384\","
	    "\"x\":\"AA\",\"y\":\"AA\"}" }), "jwk curve must be P-256");
	REFUSE(proof(&(struct pf){ .jwk = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AA\",\"y\":\"AA\"}" }), "jwk coordinates must be 32 bytes");
	REFUSE(proof(&(struct pf){ .jwk = "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"AA==\",\"y\":\"AA\"}" }), "jwk member is not base64url");
	for (i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++)
		REFUSE(proof(&(struct pf){ .jwk = gw_arena_printf(arena,
		    "{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"%s\"}", bad_e[i]),
		    .key = rsa }), "jwk exponent is not a valid RSA exponent");
	/* Extra public members (kid, use, alg) are fine. */
	ACCEPT(proof(&(struct pf){ .jwk = gw_arena_printf(arena,
	    "{\"kid\":\"k1\",\"use\":\"sig\",%s", pub + 1) }));
}
END_TEST

/* RFC 8725 §3.4: a point off the curve is no key; an RSA key under 2048
 * bits is too weak (RFC 7518 §3.3). */
START_TEST(jwk_must_be_a_usable_key)
{
	BIGNUM		*x = NULL, *y = NULL;
	const char	*j;

	ck_assert(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_X, &x));
	ck_assert(EVP_PKEY_get_bn_param(ec, OSSL_PKEY_PARAM_EC_PUB_Y, &y));
	BN_add_word(y, 1);
	j = gw_arena_printf(arena, "{\"kty\":\"EC\",\"crv\":\"P-256\","
	    "\"x\":\"%s\",\"y\":\"%s\"}", b64_bn(x, 32), b64_bn(y, 32));
	BN_free(x);
	BN_free(y);
	REFUSE(proof(&(struct pf){ .jwk = j }),
	    "jwk is not a usable public key");
	REFUSE(proof(&(struct pf){ .key = rsa1024 }),
	    "jwk is not a usable public key");
}
END_TEST

START_TEST(signature_must_verify_with_the_jwk)
{
	REFUSE(proof(&(struct pf){ .key = ec, .signer = ec2 }),
	    "proof signature does not verify");
	REFUSE(proof(&(struct pf){ .bad_sig = 1 }),
	    "proof signature does not verify");
	REFUSE(proof(&(struct pf){ .key = rsa, .bad_sig = 1 }),
	    "proof signature does not verify");
	/* RS256 and PS256 are not interchangeable. */
	REFUSE(proof(&(struct pf){ .key = rsa, .alg = "PS256",
	    .hdr_extra = NULL, .signer = NULL, .bad_sig = 1 }),
	    "proof signature does not verify");
	ACCEPT(proof(&(struct pf){ .key = ec }));
}
END_TEST

/*
 * A proof whose header is byte for byte one that passed before skips the
 * header's parsing (gw_dpop.c), never the rest: its payload's rules and
 * its own signature are checked as for any proof, and a header whose
 * proof failed is not remembered.
 */
START_TEST(known_header_still_checks_payload_and_signature)
{
	const char	*bad = proof(&(struct pf){ .key = ec2, .bad_sig = 1 });
	const char	*good = proof(&(struct pf){ .key = ec2 });
	const char	*post = proof(&(struct pf){ .key = ec2, .htm = "POST" });
	const char	*other = proof(&(struct pf){ .key = ec2, .jti = "o" });

	REFUSE(bad, "proof signature does not verify");
	/* Same header as bad's: the failure left nothing behind. */
	ck_assert_int_eq(strncmp(bad, good, (size_t)(strchr(good, '.') -
	    good)), 0);
	ACCEPT(good);
	ACCEPT(good);		/* replay is the store's business */
	REFUSE(post, "htm does not match the request method");
	/* good's header and payload with other's signature. */
	REFUSE(gw_arena_printf(arena, "%.*s%s", (int)(strrchr(good, '.') -
	    good), good, strrchr(other, '.')),
	    "proof signature does not verify");
	ACCEPT(other);
}
END_TEST

START_TEST(crit_is_refused)
{
	REFUSE(proof(&(struct pf){ .hdr_extra = ",\"crit\":[\"exp\"]" }),
	    "crit is not supported");
}
END_TEST

/* Swap the signature of an RS256 proof into a PS256 header. */
START_TEST(rs256_signature_is_not_a_ps256_signature)
{
	const char	*a = proof(&(struct pf){ .key = rsa, .alg = "RS256",
	    .jti = "same" });
	const char	*b = proof(&(struct pf){ .key = rsa, .alg = "PS256",
	    .jti = "same" });
	const char	*p;

	p = gw_arena_printf(arena, "%.*s%s", (int)(strrchr(b, '.') - b), b,
	    strrchr(a, '.'));
	REFUSE(p, "proof signature does not verify");
}
END_TEST

START_TEST(compact_form_is_strict)
{
	const char	*good = proof(&(struct pf){ 0 });
	const char	*sig = strrchr(good, '.');
	size_t		 hl = (size_t)(strchr(good, '.') - good);

	REFUSE("", "proof is not a compact JWS");
	REFUSE("abc", "proof is not a compact JWS");
	REFUSE("a.b", "proof is not a compact JWS");
	REFUSE(gw_arena_printf(arena, "%s.x", good),
	    "proof is not a compact JWS");
	REFUSE(gw_arena_printf(arena, ".%s", strchr(good, '.') + 1),
	    "proof segment is not base64url without padding");
	REFUSE(gw_arena_printf(arena, "%.*s.", (int)(sig - good), good),
	    "proof segment is not base64url without padding");
	REFUSE(gw_arena_printf(arena, "%s=", good),
	    "proof segment is not base64url without padding");
	REFUSE(gw_arena_printf(arena, "%.*s+%s", (int)hl, good, good + hl),
	    "proof segment is not base64url without padding");
	REFUSE(gw_arena_printf(arena, "%s.%s", b64("[1]", 3), strchr(good,
	    '.') + 1), "proof header is not a JSON object");
	/* A duplicate member is refused by the strict parser. */
	REFUSE(proof(&(struct pf){ .hdr_extra = ",\"typ\":\"dpop+jwt\"" }),
	    "proof header is not a JSON object");
	REFUSE(proof(&(struct pf){ .pl_extra = ",\"v\":2" }),
	    "proof payload is not a JSON object");
	ACCEPT(good);
}
END_TEST

/* SPEC §3: at most 4096 bytes, tested at 4096 and 4097. */
START_TEST(proof_size_cap_is_4096)
{
	char		 pad[4096];
	const char	*p;
	size_t		 n, len, hp;
	int		 at = 0, over = 0;

	/* base64url lengths skip 1 mod 4, so pad the header too. */
	for (hp = 0; hp < 4 && !(at && over); hp++)
		for (n = 2600; n < 3000 && !(at && over); n++) {
			memset(pad, 'a', n);
			pad[n] = '\0';
			p = proof(&(struct pf){
			    .hdr_extra = gw_arena_printf(arena,
			    ",\"h\":\"%.*s\"", (int)hp, "hhh"),
			    .pl_extra = gw_arena_printf(arena,
			    ",\"pad\":\"%s\"", pad) });
			len = strlen(p);
			if (len == GW_DPOP_MAXPROOF && !at) {
				ACCEPT(p);
				at = 1;
			} else if (len == GW_DPOP_MAXPROOF + 1 && !over) {
				REFUSE(p, "proof over 4096 bytes");
				over = 1;
			}
		}
	ck_assert(at && over);
}
END_TEST

START_TEST(jti_is_a_string_of_1_to_128_bytes)
{
	char	 j[130];

	memset(j, 'j', 128);
	j[128] = '\0';
	ACCEPT(proof(&(struct pf){ .jti = j }));
	ACCEPT(proof(&(struct pf){ .jti = "1" }));
	j[128] = 'j';
	j[129] = '\0';
	REFUSE(proof(&(struct pf){ .jti = j }),
	    "jti must be a string of 1-128 bytes");
	REFUSE(proof(&(struct pf){ .jti = "" }),
	    "jti must be a string of 1-128 bytes");
	REFUSE(proof(&(struct pf){ .jti = OMIT }),
	    "jti must be a string of 1-128 bytes");
	REFUSE(proof(&(struct pf){ .jti = OMIT, .pl_extra = ",\"jti\":42" }),
	    "jti must be a string of 1-128 bytes");
	REFUSE(proof(&(struct pf){ .jti = "a\\u0000b" }),
	    "jti must be a string of 1-128 bytes");
}
END_TEST

START_TEST(htm_equals_the_request_method)
{
	struct gw_dpop	 d;
	const char	*post = proof(&(struct pf){ .htm = "POST" });

	ACCEPT(proof(&(struct pf){ .htm = "GET" }));
	REFUSE(post, "htm does not match the request method");
	ck_assert_ptr_null(gw_dpop_check(&conf, arena, post, "POST", PATH,
	    token, NULL, NOW, &d));
	REFUSE(proof(&(struct pf){ .htm = "get" }),
	    "htm does not match the request method");
	REFUSE(proof(&(struct pf){ .htm = OMIT }), "htm must be a string");
}
END_TEST

START_TEST(htu_equals_public_base_url_and_path)
{
	static const struct {
		const char	*htu;
		int		 ok;
	} cases[] = {
		{ URL, 1 },
		{ "HTTPS://GW.EXAMPLE.ORG" PATH, 1 },
		{ "https://gw.example.org:443" PATH, 1 },
		{ "https://gw.example.org:0443" PATH, 1 },
		{ "https://gw.example.org:" PATH, 1 },
		{ URL "?limit=50", 1 },
		{ URL "#frag", 1 },
		{ URL "?a=1#frag", 1 },
		{ "http://gw.example.org" PATH, 0 },
		{ "https://gw.example.org:8443" PATH, 0 },
		{ "https://gw.example.org:80" PATH, 0 },
		{ "https://other.example.org" PATH, 0 },
		{ "https://user@gw.example.org" PATH, 0 },
		{ "https://gw.example.org/jobengine/Sources", 0 },
		{ "https://gw.example.org/jobengine/sources/", 0 },
		{ "https://gw.example.org/jobengine/%73ources", 0 },
		{ "https://gw.example.org/jobengine/quotas", 0 },
		{ "https://gw.example.org", 0 },
		{ PATH, 0 },
		{ "ftp://gw.example.org" PATH, 0 },
		{ "", 0 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char	*w = check(proof(&(struct pf){
		    .htu = cases[i].htu }));

		if (cases[i].ok)
			ck_assert_msg(w == NULL, "%s: %s", cases[i].htu, w);
		else
			ck_assert_msg(w != NULL && strcmp(w,
			    "htu does not match the request URI") == 0,
			    "%s: %s", cases[i].htu, w != NULL ? w : "accepted");
	}
	REFUSE(proof(&(struct pf){ .htu = OMIT }), "htu must be a string");
	/* The configured side is normalised too. */
	conf.public_base_url = "https://GW.example.org:443";
	ACCEPT(proof(&(struct pf){ 0 }));
	conf.public_base_url = "http://127.0.0.1:8080";
	ACCEPT(proof(&(struct pf){ .htu = "http://127.0.0.1:8080" PATH }));
	REFUSE(proof(&(struct pf){ .htu = "http://127.0.0.1" PATH }),
	    "htu does not match the request URI");
	conf.public_base_url = "http://[::1]:8080";
	ACCEPT(proof(&(struct pf){ .htu = "http://[::1]:8080" PATH }));
	REFUSE(proof(&(struct pf){ .htu = "http://[::2]:8080" PATH }),
	    "htu does not match the request URI");
}
END_TEST

/* auth.dpop_max_age_seconds (60) back, auth.leeway_seconds (60) ahead,
 * both inclusive. */
START_TEST(iat_window_boundaries)
{
	ACCEPT(proof(&(struct pf){ .iat = 0 }));
	ACCEPT(proof(&(struct pf){ .iat = -60 }));
	REFUSE(proof(&(struct pf){ .iat = -61 }),
	    "iat is older than auth.dpop_max_age_seconds");
	ACCEPT(proof(&(struct pf){ .iat = 60 }));
	REFUSE(proof(&(struct pf){ .iat = 61 }), "iat is in the future");
	conf.dpop_max_age = 10;
	conf.leeway = 0;
	ACCEPT(proof(&(struct pf){ .iat = -10 }));
	REFUSE(proof(&(struct pf){ .iat = -11 }),
	    "iat is older than auth.dpop_max_age_seconds");
	ACCEPT(proof(&(struct pf){ .iat = 0 }));
	REFUSE(proof(&(struct pf){ .iat = 1 }), "iat is in the future");
}
END_TEST

START_TEST(iat_is_a_json_integer)
{
	static const char *const bad[] = {
		OMIT, "\"1800000000\"", "1800000000.0", "1.8e9", "null",
		"-1", "99999999999999999999",
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		REFUSE(proof(&(struct pf){ .iat_raw = bad[i] }),
		    "iat must be a JSON integer");
	ACCEPT(proof(&(struct pf){ .iat_raw = "1800000000" }));
}
END_TEST

START_TEST(ath_is_the_hash_of_the_access_token)
{
	ACCEPT(proof(&(struct pf){ .tok = token }));
	REFUSE(proof(&(struct pf){ .tok = "another.access.token" }),
	    "ath does not match the access token");
	REFUSE(proof(&(struct pf){ .ath = OMIT }), "ath must be a string");
	REFUSE(proof(&(struct pf){ .ath = "" }),
	    "ath does not match the access token");
	REFUSE(proof(&(struct pf){ .ath = OMIT, .pl_extra = ",\"ath\":1" }),
	    "ath must be a string");
}
END_TEST

START_TEST(cnf_jkt_is_the_thumbprint_of_the_jwk)
{
	struct gw_dpop	 d;
	const char	*p = proof(&(struct pf){ .key = ec });
	const char	*rp = proof(&(struct pf){ .key = rsa });

	ck_assert_ptr_null(gw_dpop_check(&conf, arena, p, "GET", PATH, token,
	    jkt_of(ec), NOW, &d));
	ck_assert_str_eq(gw_dpop_check(&conf, arena, p, "GET", PATH, token,
	    jkt_of(ec2), NOW, &d),
	    "jwk thumbprint does not match the token's cnf.jkt");
	ck_assert_ptr_null(gw_dpop_check(&conf, arena, rp, "GET", PATH, token,
	    jkt_of(rsa), NOW, &d));
	ck_assert_str_eq(gw_dpop_check(&conf, arena, rp, "GET", PATH, token,
	    "short", NOW, &d),
	    "jwk thumbprint does not match the token's cnf.jkt");
}
END_TEST

/* ---------------------------------------------------------------- */
/* The request: gw_auth_request with a store */

static int		 pg;	/* the tests run on PostgreSQL */
static struct gw_app	 app;
static struct gw_req	 req;
static struct gw_keyset	*keys;

static const char *
keypath(const char *name)
{
	return gw_arena_printf(arena, "%s/%s", keydir, name);
}

static void
store_setup(void)
{
	struct gw_db	*db;
	char		 err[256];
	int		 from, to;

	setup();
	pg = test_store_begin(&conf, "check_dpop");
	ck_assert_int_eq(gw_db_open(&conf, &db, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_schema_migrate(db, &from, &to), GW_OK);
	gw_db_close(db);
	memset(&app, 0, sizeof(app));
	app.conf = conf;
	ck_assert_msg(gw_store_open(&app.conf, &app.store, err,
	    sizeof(err)) == GW_OK, "%s", err);
	ck_assert_msg(gw_auth_load_jwks(keypath("jwks.json"), &keys, err,
	    sizeof(err)) == 0, "%s", err);
	app.keys = keys;
}

static void
store_teardown(void)
{
	gw_store_close(app.store);
	app.store = NULL;
	gw_auth_free_jwks(keys);
	test_store_end();
	teardown();
}

/* An access token from tests/keys/ec.pem, bound to jkt when not NULL. */
static const char *
mint(const char *jkt)
{
	struct gw_mint	 m;
	char		*tok, err[256];
	const char	*s;

	memset(&m, 0, sizeof(m));
	m.key_file = keypath("ec.pem");
	m.kid = "ec-1";
	m.iss = ISSUER;
	m.sub = "user-1";
	m.tenant = "acme";
	m.scope = "orch:read";
	m.aud[0] = "stellaops-gateway";
	m.naud = 1;
	m.ttl = 600;
	m.now = NOW;
	m.cnf_jkt = jkt;
	ck_assert_msg(gw_mint_token(&m, &tok, err, sizeof(err)) == 0, "%s",
	    err);
	s = gw_arena_strdup(arena, tok);
	free(tok);
	return s;
}

/* Authenticate GET PATH with "scheme tok" and each proof as a DPoP
 * header (NULL-terminated). */
static enum gw_err
auth_with(struct gw_app *a, const char *scheme, const char *tok,
    const char *const *proofs)
{
	const char	*tenant;
	char		**envp;
	size_t		 n = 0, i;

	envp = gw_arena_alloc(arena, 16 * sizeof(*envp));
	envp[n++] = "REQUEST_METHOD=GET";
	envp[n++] = "REQUEST_URI=" PATH "?limit=50";
	envp[n++] = gw_arena_printf(arena, "HTTP_AUTHORIZATION=%s %s", scheme,
	    tok);
	for (i = 0; proofs != NULL && proofs[i] != NULL && n < 15; i++)
		envp[n++] = gw_arena_printf(arena, "HTTP_DPOP=%s", proofs[i]);
	envp[n] = NULL;
	gw_req_init(&req, a, arena, envp, NULL, NULL);
	req.now = NOW;
	return gw_auth_request(&req, a->keys, &tenant);
}

#define P1(p)	((const char *const[]){ (p), NULL })

/* Live replay records at NOW, in whichever form the store keeps them. */
static int64_t
live(struct gw_store *s)
{
	struct gw_replay_info	 info;

	ck_assert_int_ge(gw_store_dpop_info(s, NOW, &info), 0);
	return info.live;
}

START_TEST(bound_token_with_its_proof_is_accepted)
{
	const char	*tok = mint(jkt_of(ec));
	const char	*p = proof(&(struct pf){ .tok = tok, .jti = "one" });

	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(p)), GW_OK);
	ck_assert_int_eq(req.principal.dpop, 1);
	ck_assert_str_eq(req.principal.jkt, jkt_of(ec));
	ck_assert_str_eq(req.auth_scheme, "DPoP");
	/* The record: this key, this jti, until iat + 60 + 2 x 60. */
	ck_assert_int_eq(gw_store_dpop_expires(app.store, jkt_of(ec), "one",
	    NOW), NOW + 180);
	ck_assert_int_eq(live(app.store), 1);
}
END_TEST

START_TEST(replayed_proof_is_refused)
{
	const char	*tok = mint(jkt_of(ec));
	const char	*p = proof(&(struct pf){ .tok = tok, .jti = "j" });
	const char	*q = proof(&(struct pf){ .tok = tok, .jti = "j",
	    .iat = 1 });

	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(p)), GW_OK);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(p)),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.err_message,
	    "DPoP proof refused: jti already used with this key");
	/* A new signature over the same jti is the same proof (ECDSA
	 * signatures are malleable, the jti is not). */
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(q)),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(live(app.store),
	    1);
}
END_TEST

START_TEST(replay_is_per_key)
{
	const char	*tok = mint(NULL);

	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .key = ec, .tok = tok, .jti = "shared" }))), GW_OK);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .key = ec2, .tok = tok, .jti = "shared" }))), GW_OK);
	ck_assert_int_eq(live(app.store),
	    2);
}
END_TEST

/* A refused proof does not use up its jti. */
START_TEST(refused_proof_writes_no_record)
{
	const char	*tok = mint(jkt_of(ec));

	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok, .jti = "k", .htm = "POST" }))),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(live(app.store),
	    0);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok, .jti = "k" }))), GW_OK);
}
END_TEST

/* RFC 9449 §7.1 and §7.2. */
START_TEST(scheme_rules)
{
	const char	*bound = mint(jkt_of(ec)), *plain = mint(NULL);

	/* A bound token under Bearer is a downgrade: invalid_token. */
	ck_assert_int_eq(auth_with(&app, "Bearer", bound, NULL),
	    GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(auth_with(&app, "Bearer", bound, P1(proof(&(struct pf){
	    .tok = bound }))), GW_ERR_INVALID_TOKEN);
	/* The DPoP scheme needs a proof, bound token or not. */
	ck_assert_int_eq(auth_with(&app, "DPoP", bound, NULL),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.err_message, "a DPoP proof is required");
	ck_assert_int_eq(auth_with(&app, "DPoP", plain, NULL),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(auth_with(&app, "DPoP", plain, P1(proof(&(struct pf){
	    .tok = plain }))), GW_OK);
	ck_assert_ptr_null(req.principal.jkt);
	/* A bound token with another key's proof. */
	ck_assert_int_eq(auth_with(&app, "DPoP", bound, P1(proof(&(struct pf){
	    .key = ec2, .tok = bound }))), GW_ERR_INVALID_DPOP_PROOF);
	/* A token failure under DPoP stays a token failure. */
	ck_assert_int_eq(auth_with(&app, "DPoP", "a.b.c", P1(proof(&(struct pf){
	    .tok = "a.b.c" }))), GW_ERR_INVALID_TOKEN);
	ck_assert_str_eq(req.auth_scheme, "DPoP");
	/* A DPoP header is verified whenever it is present. */
	ck_assert_int_eq(auth_with(&app, "Bearer", plain, P1("x.y.z")),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(auth_with(&app, "Bearer", plain, NULL), GW_OK);
}
END_TEST

START_TEST(require_dpop_demands_a_proof)
{
	const char	*plain = mint(NULL);

	app.conf.require_dpop = 1;
	ck_assert_int_eq(auth_with(&app, "Bearer", plain, NULL),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(auth_with(&app, "DPoP", plain, NULL),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(auth_with(&app, "DPoP", plain, P1(proof(&(struct pf){
	    .tok = plain }))), GW_OK);
}
END_TEST

START_TEST(exactly_one_dpop_header)
{
	const char	*tok = mint(jkt_of(ec));
	const char	*a = proof(&(struct pf){ .tok = tok });
	const char	*b = proof(&(struct pf){ .tok = tok });

	ck_assert_int_eq(auth_with(&app, "DPoP", tok,
	    (const char *const[]){ a, b, NULL }), GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.err_message, "exactly one DPoP header is allowed");
	ck_assert_int_eq(auth_with(&app, "DPoP", tok,
	    P1(gw_arena_printf(arena, "%s, %s", a, b))),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.err_message, "exactly one DPoP header is allowed");
	ck_assert_int_eq(live(app.store),
	    0);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(a)), GW_OK);
}
END_TEST

/* Another FastCGI process on the same database file.  The child answers
 * through a pipe: under valgrind its exit status is valgrind's. */
START_TEST(replay_to_a_second_process_is_refused)
{
	const char	*tok = mint(jkt_of(ec));
	const char	*p = proof(&(struct pf){ .tok = tok });
	pid_t		 pid;
	int		 fd[2], status, got = -1;

	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(p)), GW_OK);
	ck_assert_int_eq(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		struct gw_app	 a2 = app;
		char		 err[256];
		int		 e = 100;

		close(fd[0]);
		if (gw_store_open(&a2.conf, &a2.store, err, sizeof(err)) ==
		    GW_OK) {
			e = auth_with(&a2, "DPoP", tok, P1(p));
			gw_store_close(a2.store);
		}
		(void)write(fd[1], &e, sizeof(e));
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(fd[1]);
	ck_assert_int_eq(read(fd[0], &got, sizeof(got)), sizeof(got));
	close(fd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(got, GW_ERR_INVALID_DPOP_PROOF);
}
END_TEST

/* A second gateway (its own store handle) first, then this one. */
START_TEST(replay_to_a_second_server_is_refused)
{
	const char	*tok = mint(jkt_of(ec));
	const char	*p = proof(&(struct pf){ .tok = tok });
	struct gw_app	 a2 = app;
	char		 err[256];

	ck_assert_int_eq(gw_store_open(&a2.conf, &a2.store, err, sizeof(err)),
	    GW_OK);
	ck_assert_int_eq(auth_with(&a2, "DPoP", tok, P1(p)), GW_OK);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(p)),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_int_eq(auth_with(&a2, "DPoP", tok, P1(p)),
	    GW_ERR_INVALID_DPOP_PROOF);
	gw_store_close(a2.store);
}
END_TEST

/* A store opened with a2's configuration refuses a fresh proof: 503. */
static void
refused_unavailable(struct gw_app *a2, const char *tok)
{
	char	 err[256];

	ck_assert_int_eq(gw_store_open(&a2->conf, &a2->store, err,
	    sizeof(err)), GW_OK);
	ck_assert_int_eq(auth_with(a2, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok }))), GW_ERR_UNAVAILABLE);
	ck_assert_str_eq(req.err_message,
	    "the DPoP replay record could not be written");
	gw_store_close(a2->store);
}

/*
 * Fail closed: every way the record cannot be written is a 503.  On
 * PostgreSQL: a lock held past statement_timeout_ms, a read-only
 * connection, the table gone.  On SQLite: a replay file that cannot be
 * opened, and a full table.  Either way: no store at all.
 */
START_TEST(store_unavailable_is_refused)
{
	const char	*tok = mint(jkt_of(ec));
	struct gw_app	 a2 = app;
	struct gw_store	*holder;
	char		 err[256], fn[4096], jti[16];
	int		 i;

	if (pg) {
		ck_assert_int_eq(gw_store_open(&app.conf, &holder, err,
		    sizeof(err)), GW_OK);
		ck_assert_int_eq(gw_db_begin(holder->db, 1), GW_OK);
		ck_assert_int_eq(gw_db_exec(holder->db, "LOCK TABLE "
		    "dpop_replay IN ACCESS EXCLUSIVE MODE"), GW_OK);
		a2.conf.statement_timeout_ms = 300;
		refused_unavailable(&a2, tok);
		a2 = app;
		gw_db_rollback(holder->db);
		gw_store_close(holder);

		ck_assert_int_eq(gw_db_exec(app.store->db,
		    "SET default_transaction_read_only = on"), GW_OK);
		ck_assert_int_eq(auth_with(&app, "DPoP", tok,
		    P1(proof(&(struct pf){ .tok = tok }))), GW_ERR_UNAVAILABLE);
		ck_assert_int_eq(gw_db_exec(app.store->db,
		    "SET default_transaction_read_only = off"), GW_OK);

		ck_assert_int_eq(gw_db_exec(app.store->db,
		    "DROP TABLE dpop_replay"), GW_OK);
		ck_assert_int_eq(auth_with(&app, "DPoP", tok,
		    P1(proof(&(struct pf){ .tok = tok }))), GW_ERR_UNAVAILABLE);
	} else {
		/* A replay file in a folder that does not exist. */
		snprintf(fn, sizeof(fn), "%s/missing/replay", test_dir);
		a2.conf.dpop_replay_file = fn;
		refused_unavailable(&a2, tok);
		a2 = app;

		/*
		 * A full table: one of 16 slots (it keeps the size it was
		 * made with), each holding a live record.
		 */
		snprintf(fn, sizeof(fn), "%s/small-replay", test_dir);
		a2.conf.dpop_replay_file = fn;
		{
			struct gw_replay	*r;

			ck_assert_int_eq(gw_replay_open(fn, NULL, 16,
			    conf.leeway, NOW - 100, &r, err, sizeof(err)),
			    GW_OK);
			gw_replay_close(r);
		}
		ck_assert_int_eq(gw_store_open(&a2.conf, &a2.store, err,
		    sizeof(err)), GW_OK);
		for (i = 0; i < 16; i++) {
			snprintf(jti, sizeof(jti), "fill-%d", i);
			ck_assert_int_eq(gw_store_dpop_record(a2.store, "k",
			    jti, NOW + 100, NOW), GW_OK);
		}
		ck_assert_int_eq(auth_with(&a2, "DPoP", tok,
		    P1(proof(&(struct pf){ .tok = tok }))), GW_ERR_UNAVAILABLE);
		ck_assert_int_eq(live(a2.store), 16);
		gw_store_close(a2.store);
		unlink(fn);
		a2 = app;
	}

	/* No store at all. */
	a2.store = NULL;
	ck_assert_int_eq(auth_with(&a2, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok }))), GW_ERR_UNAVAILABLE);
	/* None of it wrote a record where the store keeps them. */
	if (!pg)
		ck_assert_int_eq(live(app.store), 0);
}
END_TEST

/*
 * SQLite: the record never touches the database (a write there would make
 * every other process drop its cached pages: PRAGMA data_version, read on
 * another connection, changes with every commit another makes).  It is in
 * the replay table at the documented place, which another process sees.
 */
START_TEST(sqlite_record_leaves_the_database_alone)
{
	const char	*tok = mint(jkt_of(ec));
	struct gw_store	*other;
	char		 err[256], fn[4096];
	int64_t		 data;

	if (pg)
		return;
	ck_assert_int_eq(gw_store_open(&app.conf, &other, err, sizeof(err)),
	    GW_OK);
	data = test_count(other->db, "PRAGMA main.data_version");
	ck_assert_int_eq(auth_with(&app, "DPoP", tok,
	    P1(proof(&(struct pf){ .tok = tok, .jti = "here" }))), GW_OK);
	ck_assert_int_eq(test_count(other->db,
	    "PRAGMA main.data_version"), data);
	ck_assert_int_eq(gw_store_dpop_expires(other, jkt_of(ec), "here", NOW),
	    NOW + 180);
	gw_store_close(other);
	ck_assert_int_eq(gw_replay_default_path(test_dbpath + 7, fn,
	    sizeof(fn)), 1);
	ck_assert_int_eq(access(fn, R_OK | W_OK), 0);
}
END_TEST

/*
 * A proof issued before the replay table's records begin is refused: the
 * table may lack its record (gw_replay.c).  Here a damaged table was made
 * anew at NOW - 30, so its records begin at NOW - 30 + leeway = NOW + 30;
 * a fresh proof from then on passes.
 */
START_TEST(sqlite_proof_older_than_the_replay_table_is_refused)
{
	const char		*tok = mint(jkt_of(ec));
	struct gw_replay	*r;
	char			 err[256], fn[4096];
	int			 fd;

	if (pg)
		return;
	ck_assert_int_eq(gw_replay_default_path(test_dbpath + 7, fn,
	    sizeof(fn)), 1);
	ck_assert_int_eq(gw_replay_open(fn, NULL, 4096, conf.leeway, NOW - 60,
	    &r, err, sizeof(err)), GW_OK);
	gw_replay_close(r);
	ck_assert_int_ge(fd = open(fn, O_WRONLY), 0);
	ck_assert_int_eq(pwrite(fd, "XXXX", 4, 0), 4);	/* the magic */
	close(fd);
	ck_assert_int_eq(gw_replay_open(fn, NULL, 4096, conf.leeway, NOW - 30,
	    &r, err, sizeof(err)), GW_OK);
	ck_assert_int_eq(gw_replay_since(r), NOW + 30);
	gw_replay_close(r);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok, .jti = "early", .iat = 29 }))),
	    GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.err_message,
	    "DPoP proof refused: issued before the replay records began");
	ck_assert_int_eq(live(app.store), 0);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok, .jti = "early", .iat = 30 }))), GW_OK);
}
END_TEST

/*
 * As root (CI runs as root), the replay file the serving process makes
 * belongs to the database file's owner and has its mode, or the web
 * server's processes could not use one made by jobengine-admin.
 */
START_TEST(sqlite_replay_file_belongs_to_the_database_owner)
{
	struct gw_conf		 c = app.conf;
	struct gw_db		*db;
	struct gw_replay	*r;
	struct stat		 sb;
	char			 err[256], fn[160], url[180], rf[4096];
	int			 fd;

	if (pg || geteuid() != 0)
		return;
	snprintf(fn, sizeof(fn), "%s/own.db", test_dir);
	ck_assert_int_ge(fd = open(fn, O_CREAT | O_WRONLY, 0640), 0);
	ck_assert_int_eq(fchown(fd, 65534, 65534), 0);
	ck_assert_int_eq(fchmod(fd, 0640), 0);
	close(fd);
	snprintf(url, sizeof(url), "sqlite:%s", fn);
	c.database = url;
	ck_assert_msg(gw_db_open(&c, &db, err, sizeof(err)) == GW_OK, "%s",
	    err);
	ck_assert_int_eq(gw_replay_default_path(fn, rf, sizeof(rf)), 1);
	/* Opening the database makes no replay file; the first record does. */
	ck_assert_int_eq(access(rf, F_OK), -1);
	ck_assert_int_eq(gw_db_replay(db, &r), 1);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(stat(rf, &sb), 0);
	ck_assert_int_eq(sb.st_uid, 65534);
	ck_assert_int_eq(sb.st_gid, 65534);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	gw_db_close(db);
	unlink(rf);
	unlink(fn);
}
END_TEST

/* SPEC §3 and §8: the challenges and the 503. */
START_TEST(errors_and_challenges)
{
	const char	*tok = mint(jkt_of(ec));
	struct gw_resp	 resp;
	size_t		 i;
	struct {
		enum gw_err	 e;
		const char	*scheme;
		int		 status;
		const char	*name, *value;
	} cases[] = {
		{ GW_ERR_INVALID_DPOP_PROOF, "DPoP", 401, "WWW-Authenticate",
		    "DPoP error=\"invalid_dpop_proof\", "
		    "algs=\"ES256 RS256 PS256\"" },
		{ GW_ERR_INVALID_TOKEN, "DPoP", 401, "WWW-Authenticate",
		    "DPoP error=\"invalid_token\"" },
		{ GW_ERR_INVALID_TOKEN, "Bearer", 401, "WWW-Authenticate",
		    "Bearer error=\"invalid_token\"" },
		{ GW_ERR_UNAVAILABLE, "DPoP", 503, "Retry-After", "1" },
	};

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t	 h;
		int	 found = 0;

		auth_with(&app, cases[i].scheme, tok, NULL);
		req.err = cases[i].e;
		gw_resp_init(&resp, arena);
		gw_err_respond(&req, &resp);
		ck_assert_int_eq(resp.status, cases[i].status);
		for (h = 0; h < resp.nhdr; h++)
			if (strcmp(resp.hdr_name[h], cases[i].name) == 0) {
				ck_assert_str_eq(resp.hdr_value[h],
				    cases[i].value);
				found = 1;
			}
		ck_assert_msg(found, "case %zu: no %s", i, cases[i].name);
		gw_resp_cleanup(&resp);
	}
}
END_TEST

/* An expired record is taken over in place; unexpired ones stay. */
START_TEST(expired_record_does_not_block_its_jti)
{
	const char	*tok = mint(jkt_of(ec));

	ck_assert_int_eq(gw_store_dpop_record(app.store, jkt_of(ec), "old",
	    NOW - 1, NOW - 200), GW_OK);
	ck_assert_int_eq(auth_with(&app, "DPoP", tok, P1(proof(&(struct pf){
	    .tok = tok, .jti = "old" }))), GW_OK);
	ck_assert_int_eq(gw_store_dpop_record(app.store, jkt_of(ec), "old",
	    NOW + 500, NOW + 100), GW_ERR_CONFLICT);
	ck_assert_int_eq(gw_store_dpop_record(app.store, jkt_of(ec), "old",
	    NOW + 500, NOW + 181), GW_OK);
}
END_TEST

/*
 * PostgreSQL: every GW_DPOP_PURGE_EVERY records, one range delete of
 * expired rows.  (A SQLite store's replay table overwrites expired records
 * in place and has nothing to purge: check_replay.c.)
 */
START_TEST(pg_expired_rows_are_purged)
{
	char		 jti[32];
	int		 i;

	if (!pg)
		return;
	for (i = 0; i < 10; i++) {
		snprintf(jti, sizeof(jti), "old-%d", i);
		ck_assert_int_eq(gw_store_dpop_record(app.store, "k", jti,
		    NOW - 10, NOW - 100), GW_OK);
	}
	ck_assert_int_eq(gw_store_dpop_record(app.store, "k", "live", NOW + 10,
	    NOW), GW_OK);
	for (i = 11; i < 2 * GW_DPOP_PURGE_EVERY; i++) {
		snprintf(jti, sizeof(jti), "new-%d", i);
		ck_assert_int_eq(gw_store_dpop_record(app.store, "k", jti,
		    NOW + 10, NOW), GW_OK);
	}
	ck_assert_int_eq(test_count(app.store->db,
	    "SELECT count(*) FROM dpop_replay WHERE expires_at < 1800000000"),
	    0);
	ck_assert_int_eq(test_count(app.store->db,
	    "SELECT count(*) FROM dpop_replay "
	    "WHERE jti = 'live'"), 1);
	ck_assert_int_eq(gw_store_dpop_purge(app.store, NOW + 11), GW_OK);
	ck_assert_int_eq(test_count(app.store->db,
	    "SELECT count(*) FROM dpop_replay"),
	    0);
}
END_TEST

static Suite *
dpop_suite(void)
{
	Suite	*s = suite_create("dpop");
	TCase	*tc;

	tc = tcase_create("vectors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rfc7638_thumbprint_vector);
	tcase_add_test(tc, rfc9449_jkt_vector);
	tcase_add_test(tc, rfc9449_ath_vector);
	tcase_add_test(tc, rfc9449_example_proof_verifies);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_unchecked_fixture(tc, global_setup, global_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, algorithms_es256_rs256_ps256_are_accepted);
	tcase_add_test(tc, typ_must_be_dpop_jwt);
	tcase_add_test(tc, alg_must_be_allowed_and_fit_the_jwk);
	tcase_add_test(tc, jwk_must_be_a_public_key);
	tcase_add_test(tc, jwk_must_be_a_usable_key);
	tcase_add_test(tc, signature_must_verify_with_the_jwk);
	tcase_add_test(tc, rs256_signature_is_not_a_ps256_signature);
	tcase_add_test(tc, crit_is_refused);
	tcase_add_test(tc, known_header_still_checks_payload_and_signature);
	tcase_add_test(tc, compact_form_is_strict);
	tcase_add_test(tc, proof_size_cap_is_4096);
	tcase_add_test(tc, jti_is_a_string_of_1_to_128_bytes);
	tcase_add_test(tc, htm_equals_the_request_method);
	tcase_add_test(tc, htu_equals_public_base_url_and_path);
	tcase_add_test(tc, iat_window_boundaries);
	tcase_add_test(tc, iat_is_a_json_integer);
	tcase_add_test(tc, ath_is_the_hash_of_the_access_token);
	tcase_add_test(tc, cnf_jkt_is_the_thumbprint_of_the_jwk);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_unchecked_fixture(tc, global_setup, global_teardown);
	tcase_add_checked_fixture(tc, store_setup, store_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, bound_token_with_its_proof_is_accepted);
	tcase_add_test(tc, replayed_proof_is_refused);
	tcase_add_test(tc, replay_is_per_key);
	tcase_add_test(tc, refused_proof_writes_no_record);
	tcase_add_test(tc, scheme_rules);
	tcase_add_test(tc, require_dpop_demands_a_proof);
	tcase_add_test(tc, exactly_one_dpop_header);
	tcase_add_test(tc, replay_to_a_second_process_is_refused);
	tcase_add_test(tc, replay_to_a_second_server_is_refused);
	tcase_add_test(tc, store_unavailable_is_refused);
	tcase_add_test(tc, sqlite_record_leaves_the_database_alone);
	tcase_add_test(tc, sqlite_proof_older_than_the_replay_table_is_refused);
	tcase_add_test(tc, sqlite_replay_file_belongs_to_the_database_owner);
	tcase_add_test(tc, errors_and_challenges);
	tcase_add_test(tc, expired_record_does_not_block_its_jti);
	tcase_add_test(tc, pg_expired_rows_are_purged);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dpop_suite());
	int	 nfail;

	srunner_run_all(sr, CK_ENV);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
