/*
 * check_auth: access tokens (SPEC §3), tenancy (§4), scopes (§5) and the
 * operator headers (§6).
 *
 * Malformed tokens are signed here with OpenSSL EVP directly, so each one
 * carries a valid signature and a refusal can only come from the one rule
 * the case breaks.  Every refused case has an accepted neighbour at the
 * boundary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>
#include <jwt.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "extern.h"

#define NOW		1800000000LL
#define ISSUER		"https://authority.example.org"

#define ISS		"\"iss\":\"" ISSUER "\""
#define SUB		"\"sub\":\"user-1\""
#define AUD		"\"aud\":\"stellaops-gateway\""
#define TEN		"\"stellaops:tenant\":\"acme\""
#define TIMES		"\"iat\":1799999990,\"exp\":1800000600"
#define BASE		ISS "," SUB "," AUD "," TEN
#define GOOD_PAY	"{" BASE "," TIMES ",\"scope\":\"orch:read\"}"
#define RSA_HDR		"{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"rsa-1\"}"
#define EC_HDR		"{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"ec-1\"}"

static EVP_PKEY		*rsa, *ec, *rsa2;
static char		*rsa_pub_pem;		/* the HS256 confusion secret */
static size_t		 rsa_pub_pemlen;
static struct gw_keyset	*keys;
static struct gw_conf	 conf;
static struct gw_arena	*arena;
static char		 keydir[1024];

static const char *
keypath(const char *name)
{
	return gw_arena_printf(arena, "%s/%s", keydir, name);
}

static EVP_PKEY *
load_pem(const char *name)
{
	char		 path[1200];
	FILE		*f;
	EVP_PKEY	*pk;

	/* Runs before the suite, so no ck_assert here. */
	snprintf(path, sizeof(path), "%s/%s", keydir, name);
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		fprintf(stderr, "%s: not a PEM private key\n", path);
		exit(EXIT_FAILURE);
	}
	return pk;
}

static char *
b64(const void *p, size_t n)
{
	char	*s = gw_arena_alloc(arena, gw_b64url_enclen(n) + 1);

	gw_b64url_encode(p, n, s);
	return s;
}

/*
 * A compact JWS of hdr and payload, signed for alg with pk (RS*, PS*, ES*)
 * or, for HS*, with the RSA public key PEM as the HMAC secret.  "none"
 * gets a signature segment anyway, so only the alg rule can refuse it.
 */
static char *
sign(const char *hdr, const char *pay, EVP_PKEY *pk, const char *alg)
{
	const EVP_MD	*md;
	EVP_MD_CTX	*ctx;
	EVP_PKEY_CTX	*pctx;
	unsigned char	 sig[1024], raw[132];
	size_t		 siglen = sizeof(sig), half;
	char		*input;
	ECDSA_SIG	*es;
	const BIGNUM	*r, *s;
	const unsigned char *p;
	unsigned int	 hlen;

	input = gw_arena_printf(arena, "%s.%s", b64(hdr, strlen(hdr)),
	    b64(pay, strlen(pay)));
	if (strcmp(alg, "none") == 0)
		return gw_arena_printf(arena, "%s.%s", input, b64("x", 1));
	md = strstr(alg, "256") ? EVP_sha256() : strstr(alg, "384") ?
	    EVP_sha384() : EVP_sha512();
	if (alg[0] == 'H') {
		HMAC(md, rsa_pub_pem, (int)rsa_pub_pemlen,
		    (unsigned char *)input, strlen(input), sig, &hlen);
		return gw_arena_printf(arena, "%s.%s", input, b64(sig, hlen));
	}
	ck_assert_ptr_nonnull(ctx = EVP_MD_CTX_new());
	ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, md, NULL, pk), 1);
	if (alg[0] == 'P') {
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx,
		    RSA_PKCS1_PSS_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
		    RSA_PSS_SALTLEN_DIGEST), 1);
	}
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen,
	    (unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (alg[0] == 'E') {
		/* RFC 7518 §3.4: raw R||S, not DER. */
		half = ((size_t)EVP_PKEY_get_bits(pk) + 7) / 8;
		p = sig;
		ck_assert_ptr_nonnull(es = d2i_ECDSA_SIG(NULL, &p,
		    (long)siglen));
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, raw, (int)half);
		BN_bn2binpad(s, raw + half, (int)half);
		ECDSA_SIG_free(es);
		return gw_arena_printf(arena, "%s.%s", input,
		    b64(raw, 2 * half));
	}
	return gw_arena_printf(arena, "%s.%s", input, b64(sig, siglen));
}

static char *
rsa_tok(const char *pay)
{
	return sign(RSA_HDR, pay, rsa, "RS256");
}

static enum gw_err
verify_with(const struct gw_keyset *ks, const char *tok, struct gw_claims *c)
{
	return gw_auth_verify_token(&conf, ks, arena, tok, NOW, c);
}

static enum gw_err
verify(const char *tok)
{
	struct gw_claims	 c;

	return verify_with(keys, tok, &c);
}

/* A one-key JWKS: key idx of tests/keys/jwks.json with member set to the
 * JSON value (NULL: removed). */
static struct gw_keyset *
jwks_variant(int idx, const char *member, const char *value, char *err,
    size_t errlen)
{
	struct gw_keyset	*ks = NULL;
	json_object		*root, *arr, *k, *out, *outarr;
	char			 path[] = "/tmp/check_auth_jwksXXXXXX";
	const char		*text;
	int			 fd;

	root = json_object_from_file(keypath("jwks.json"));
	ck_assert_ptr_nonnull(root);
	json_object_object_get_ex(root, "keys", &arr);
	k = json_object_get(json_object_array_get_idx(arr, idx));
	if (member != NULL) {
		if (value == NULL)
			json_object_object_del(k, member);
		else
			json_object_object_add(k, member,
			    json_tokener_parse(value));
	}
	out = json_object_new_object();
	outarr = json_object_new_array();
	json_object_array_add(outarr, k);
	json_object_object_add(out, "keys", outarr);
	text = json_object_to_json_string(out);
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	json_object_put(out);
	json_object_put(root);
	if (gw_auth_load_jwks(path, &ks, err, errlen) == -1)
		ks = NULL;
	unlink(path);
	return ks;
}

static struct gw_keyset *
jwks_text(const char *text, char *err, size_t errlen)
{
	struct gw_keyset	*ks = NULL;
	char			 path[] = "/tmp/check_auth_jwksXXXXXX";
	int			 fd;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (gw_auth_load_jwks(path, &ks, err, errlen) == -1)
		ks = NULL;
	unlink(path);
	return ks;
}

static void
global_setup(void)
{
	const char	*top = getenv("top_srcdir");
	char		 err[256];
	BIO		*bio;
	BUF_MEM		*mem;

	snprintf(keydir, sizeof(keydir), "%s/tests/keys",
	    top != NULL ? top : ".");
	arena = gw_arena_new();
	rsa = load_pem("rsa.pem");
	ec = load_pem("ec.pem");
	rsa2 = load_pem("rsa2.pem");
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, rsa);
	BIO_get_mem_ptr(bio, &mem);
	rsa_pub_pem = malloc(mem->length);
	memcpy(rsa_pub_pem, mem->data, mem->length);
	rsa_pub_pemlen = mem->length;
	BIO_free(bio);
	if (gw_auth_load_jwks(keypath("jwks.json"), &keys, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	gw_arena_free(arena);
	arena = NULL;
}

static void
global_teardown(void)
{
	gw_auth_free_jwks(keys);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa2);
	free(rsa_pub_pem);
}

static void
setup(void)
{
	static char	*aud[] = { "stellaops-gateway", "stellaops-web" };
	static char	*tc[] = { "stellaops:tenant", "tid", "ten" };

	memset(&conf, 0, sizeof(conf));
	conf.issuer = ISSUER;
	conf.audiences[0] = aud[0];
	conf.audiences[1] = aud[1];
	conf.naudiences = 2;
	conf.leeway = 60;
	conf.max_token_lifetime = 86400;
	conf.tenant_claims[0] = tc[0];
	conf.tenant_claims[1] = tc[1];
	conf.tenant_claims[2] = tc[2];
	conf.ntenant_claims = 3;
	conf.dpop_max_age = 60;
	arena = gw_arena_new();
}

static void
teardown(void)
{
	gw_arena_free(arena);
	arena = NULL;
}

struct tcase {
	const char	*name;
	const char	*text;		/* header or payload JSON */
	enum gw_err	 want;
};

/* ---------------------------------------------------------------- */
/* JWKS loading */

START_TEST(jwks_loads_public_signing_keys)
{
	struct gw_claims	 c;

	ck_assert_int_eq(verify_with(keys, rsa_tok(GOOD_PAY), &c), GW_OK);
	ck_assert_int_eq(verify(sign(EC_HDR, GOOD_PAY, ec, "ES256")), GW_OK);
}
END_TEST

static const struct {
	const char	*name;
	int		 idx;
	const char	*member;
	const char	*value;
	int		 ok;
} jwks_cases[] = {
	{ "as published", 0, NULL, NULL, 1 },
	{ "no kid", 0, "kid", NULL, 1 },
	{ "no use", 0, "use", NULL, 1 },
	{ "private d", 0, "d", "\"AQAB\"", 0 },
	{ "private p", 0, "p", "\"AQAB\"", 0 },
	{ "private qi", 0, "qi", "\"AQAB\"", 0 },
	{ "EC private d", 1, "d", "\"AQAB\"", 0 },
	{ "symmetric k", 0, "k", "\"AQAB\"", 0 },
	{ "kty oct", 0, "kty", "\"oct\"", 0 },
	{ "kty OKP", 0, "kty", "\"OKP\"", 0 },
	{ "use enc", 0, "use", "\"enc\"", 0 },
	{ "use not a string", 0, "use", "1", 0 },
	{ "RSA key pinned to ES256", 0, "alg", "\"ES256\"", 0 },
	{ "EC key pinned to RS256", 1, "alg", "\"RS256\"", 0 },
	{ "P-256 key pinned to ES384", 1, "alg", "\"ES384\"", 0 },
	{ "alg HS256", 0, "alg", "\"HS256\"", 0 },
	{ "alg none", 0, "alg", "\"none\"", 0 },
	{ "kid not a string", 0, "kid", "7", 0 },
	{ "kid empty", 0, "kid", "\"\"", 0 },
};

START_TEST(jwks_refuses_private_symmetric_and_misfit_keys)
{
	struct gw_keyset	*ks;
	char			 err[256] = "";

	ks = jwks_variant(jwks_cases[_i].idx, jwks_cases[_i].member,
	    jwks_cases[_i].value, err, sizeof(err));
	ck_assert_msg((ks != NULL) == jwks_cases[_i].ok, "%s: %s",
	    jwks_cases[_i].name, err);
	if (ks == NULL)
		ck_assert_msg(err[0] != '\0' && strchr(err, '\n') == NULL,
		    "%s: one clear line", jwks_cases[_i].name);
	gw_auth_free_jwks(ks);
}
END_TEST

START_TEST(jwks_refuses_malformed_sets)
{
	static const char *bad[] = {
		"", "[]", "{}", "{\"keys\":[]}", "{\"keys\":{}}",
		"{\"keys\":[1]}", "{\"keys\":[{}]}",
		"{\"keys\":[{\"kty\":\"RSA\"}]}",
	};
	struct gw_keyset	*ks;
	char			 err[256];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ks = jwks_text(bad[i], err, sizeof(err));
		ck_assert_msg(ks == NULL, "accepted %s", bad[i]);
	}
	ck_assert_int_eq(gw_auth_load_jwks("/nonexistent/jwks.json", &ks, err,
	    sizeof(err)), -1);
	ck_assert_ptr_null(ks);
}
END_TEST

START_TEST(jwks_refuses_repeated_kid)
{
	struct gw_keyset	*ks;
	json_object		*root, *arr;
	char			 err[256];

	root = json_object_from_file(keypath("jwks.json"));
	json_object_object_get_ex(root, "keys", &arr);
	json_object_array_add(arr,
	    json_object_get(json_object_array_get_idx(arr, 0)));
	ks = jwks_text(json_object_to_json_string(root), err, sizeof(err));
	json_object_put(root);
	ck_assert_ptr_null(ks);
	ck_assert_ptr_nonnull(strstr(err, "kid"));
}
END_TEST

/* ---------------------------------------------------------------- */
/* Compact form (RFC 7515 §7.1) */

START_TEST(token_size_at_most_8192_bytes)
{
	char		*pay, *tok, *last_ok = NULL, *first_bad = NULL;
	size_t		 fill;

	/* Grow a filler claim until the token crosses 8192 bytes. */
	for (fill = 5600; fill < 6400 && first_bad == NULL; fill++) {
		char	*f = gw_arena_alloc(arena, fill + 1);

		memset(f, 'a', fill);
		f[fill] = '\0';
		pay = gw_arena_printf(arena, "{" BASE "," TIMES
		    ",\"filler\":\"%s\"}", f);
		tok = rsa_tok(pay);
		if (strlen(tok) <= 8192)
			last_ok = tok;
		else
			first_bad = tok;
	}
	ck_assert_ptr_nonnull(last_ok);
	ck_assert_ptr_nonnull(first_bad);
	ck_assert_int_ge(strlen(last_ok), 8190);
	ck_assert_int_eq(verify(last_ok), GW_OK);
	ck_assert_int_eq(verify(first_bad), GW_ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(token_of_9_kib_refused)
{
	char	*f = gw_arena_alloc(arena, 7000);

	memset(f, 'b', 6999);
	f[6999] = '\0';
	ck_assert_int_eq(verify(rsa_tok(gw_arena_printf(arena,
	    "{" BASE "," TIMES ",\"filler\":\"%s\"}", f))),
	    GW_ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(token_three_strict_base64url_segments)
{
	const char	*good = rsa_tok(GOOD_PAY);
	const char	*d1 = strchr(good, '.'), *d2 = strrchr(good, '.');
	size_t		 hl = (size_t)(d1 - good);
	const char	*bad[12];
	size_t		 i, n = 0;
	char		*plus;

	ck_assert_int_eq(verify(good), GW_OK);
	/* "=" padding on the header segment. */
	bad[n++] = gw_arena_printf(arena, "%.*s=%s", (int)hl, good, d1);
	/* Padding on the signature. */
	bad[n++] = gw_arena_printf(arena, "%s==", good);
	/* '+' (the standard alphabet) in a segment. */
	plus = gw_arena_strdup(arena, good);
	plus[d2 - good + 1] = '+';
	bad[n++] = plus;
	plus = gw_arena_strdup(arena, good);
	plus[1] = '/';
	bad[n++] = plus;
	bad[n++] = gw_arena_printf(arena, "%s.", good);		/* 4 segments */
	bad[n++] = gw_arena_printf(arena, "%.*s", (int)(d2 - good), good);
	bad[n++] = gw_arena_printf(arena, "%.*s.%s", (int)hl, good, d2);
	bad[n++] = gw_arena_printf(arena, "%.*s.", (int)(d2 - good), good);
	bad[n++] = gw_arena_printf(arena, "%s\n", good);
	bad[n++] = gw_arena_printf(arena, " %s", good);
	bad[n++] = "";
	bad[n++] = gw_arena_printf(arena, "%sA", good);	/* remainder 1 */
	for (i = 0; i < n; i++)
		ck_assert_msg(verify(bad[i]) == GW_ERR_INVALID_TOKEN,
		    "case %zu accepted", i);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The JOSE header (RFC 7515 §4, RFC 8725 §3) */

static const struct tcase header_cases[] = {
	{ "typ at+jwt", RSA_HDR, GW_OK },
	{ "typ JWT", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}",
	    GW_OK },
	{ "typ jwt (case-insensitive)",
	    "{\"alg\":\"RS256\",\"typ\":\"jwt\",\"kid\":\"rsa-1\"}", GW_OK },
	{ "typ application/at+jwt", "{\"alg\":\"RS256\","
	    "\"typ\":\"application/at+jwt\",\"kid\":\"rsa-1\"}", GW_OK },
	{ "typ absent", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", GW_OK },
	{ "typ dpop+jwt", "{\"alg\":\"RS256\",\"typ\":\"dpop+jwt\","
	    "\"kid\":\"rsa-1\"}", GW_ERR_INVALID_TOKEN },
	{ "typ JOSE", "{\"alg\":\"RS256\",\"typ\":\"JOSE\",\"kid\":\"rsa-1\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "typ not a string", "{\"alg\":\"RS256\",\"typ\":1,"
	    "\"kid\":\"rsa-1\"}", GW_ERR_INVALID_TOKEN },
	{ "crit present", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\","
	    "\"crit\":[\"exp\"]}", GW_ERR_INVALID_TOKEN },
	{ "crit empty", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[]}",
	    GW_ERR_INVALID_TOKEN },
	{ "alg absent", "{\"kid\":\"rsa-1\"}", GW_ERR_INVALID_TOKEN },
	{ "alg not a string", "{\"alg\":256,\"kid\":\"rsa-1\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "alg lower case", "{\"alg\":\"rs256\",\"kid\":\"rsa-1\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "alg repeated", "{\"alg\":\"RS256\",\"alg\":\"RS256\","
	    "\"kid\":\"rsa-1\"}", GW_ERR_INVALID_TOKEN },
	{ "unknown kid", "{\"alg\":\"RS256\",\"kid\":\"rsa-9\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "kid missing with several keys", "{\"alg\":\"RS256\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "kid not a string", "{\"alg\":\"RS256\",\"kid\":1}",
	    GW_ERR_INVALID_TOKEN },
	{ "header not an object", "[\"RS256\"]", GW_ERR_INVALID_TOKEN },
	/* jku/x5u/jwk are ignored: the key still comes from the JWKS. */
	{ "jku ignored", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\","
	    "\"jku\":\"https://evil.example/jwks\"}", GW_OK },
};

START_TEST(header_rules)
{
	const struct tcase	*t = &header_cases[_i];

	ck_assert_msg(verify(sign(t->text, GOOD_PAY, rsa, "RS256")) ==
	    t->want, "%s", t->name);
}
END_TEST

START_TEST(alg_none_refused)
{
	ck_assert_int_eq(verify(sign("{\"alg\":\"none\",\"kid\":\"rsa-1\"}",
	    GOOD_PAY, NULL, "none")), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(sign("{\"alg\":\"none\"}", GOOD_PAY, NULL,
	    "none")), GW_ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(alg_hs256_with_rsa_public_key_refused)
{
	struct gw_keyset	*one;
	char			 err[256];

	/* The classic key confusion (libjwt #33): HMAC keyed with the
	 * public PEM.  Refused with a kid and on a one-key set without. */
	ck_assert_int_eq(verify(sign("{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}",
	    GOOD_PAY, NULL, "HS256")), GW_ERR_INVALID_TOKEN);
	ck_assert_ptr_nonnull(one = jwks_variant(0, "alg", NULL, err,
	    sizeof(err)));
	ck_assert_int_eq(verify_with(one, sign("{\"alg\":\"HS256\"}",
	    GOOD_PAY, NULL, "HS256"), &(struct gw_claims){ 0 }),
	    GW_ERR_INVALID_TOKEN);
	gw_auth_free_jwks(one);
}
END_TEST

START_TEST(kid_optional_with_one_key)
{
	struct gw_keyset	*one;
	struct gw_claims	 c;
	char			 err[256];

	ck_assert_ptr_nonnull(one = jwks_variant(0, NULL, NULL, err,
	    sizeof(err)));
	ck_assert_int_eq(verify_with(one, sign("{\"alg\":\"RS256\"}",
	    GOOD_PAY, rsa, "RS256"), &c), GW_OK);
	ck_assert_int_eq(verify_with(one, sign("{\"alg\":\"RS256\","
	    "\"kid\":\"other\"}", GOOD_PAY, rsa, "RS256"), &c),
	    GW_ERR_INVALID_TOKEN);
	gw_auth_free_jwks(one);
}
END_TEST

START_TEST(key_type_must_fit_alg)
{
	/* ES256 naming the RSA key, RS256 naming the EC key: each signed
	 * validly by a key of the type its alg names. */
	ck_assert_int_eq(verify(sign("{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}",
	    GOOD_PAY, ec, "ES256")), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(sign("{\"alg\":\"RS256\",\"kid\":\"ec-1\"}",
	    GOOD_PAY, rsa, "RS256")), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(sign("{\"alg\":\"ES384\",\"kid\":\"ec-1\"}",
	    GOOD_PAY, ec, "ES384")), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(sign(EC_HDR, GOOD_PAY, ec, "ES256")), GW_OK);
}
END_TEST

START_TEST(key_alg_member_pins_the_alg)
{
	struct gw_keyset	*any;
	struct gw_claims	 c;
	char			 err[256];

	/* rsa-1 is published with "alg":"RS256". */
	ck_assert_int_eq(verify(sign("{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}",
	    GOOD_PAY, rsa, "PS256")), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(verify(sign("{\"alg\":\"RS512\",\"kid\":\"rsa-1\"}",
	    GOOD_PAY, rsa, "RS512")), GW_ERR_INVALID_TOKEN);
	/* Without "alg" an RSA key allows RS* and PS*. */
	ck_assert_ptr_nonnull(any = jwks_variant(0, "alg", NULL, err,
	    sizeof(err)));
	ck_assert_int_eq(verify_with(any, sign("{\"alg\":\"PS256\","
	    "\"kid\":\"rsa-1\"}", GOOD_PAY, rsa, "PS256"), &c), GW_OK);
	ck_assert_int_eq(verify_with(any, sign("{\"alg\":\"PS512\","
	    "\"kid\":\"rsa-1\"}", GOOD_PAY, rsa, "PS512"), &c), GW_OK);
	ck_assert_int_eq(verify_with(any, sign("{\"alg\":\"RS384\","
	    "\"kid\":\"rsa-1\"}", GOOD_PAY, rsa, "RS384"), &c), GW_OK);
	ck_assert_int_eq(verify_with(any, sign("{\"alg\":\"ES256\","
	    "\"kid\":\"rsa-1\"}", GOOD_PAY, ec, "ES256"), &c),
	    GW_ERR_INVALID_TOKEN);
	gw_auth_free_jwks(any);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Signature (RFC 7515 §5.2) */

START_TEST(signature_must_verify_with_the_selected_key)
{
	const char	*good = rsa_tok(GOOD_PAY);
	char		*t;

	ck_assert_int_eq(verify(good), GW_OK);
	ck_assert_int_eq(verify(sign(RSA_HDR, GOOD_PAY, rsa2, "RS256")),
	    GW_ERR_INVALID_TOKEN);
	/* Payload of another token under this signature. */
	t = gw_arena_printf(arena, "%.*s%s",
	    (int)(strrchr(good, '.') - good),
	    rsa_tok("{" BASE "," TIMES ",\"scope\":\"orch:quota\"}"),
	    strrchr(good, '.'));
	ck_assert_int_eq(verify(t), GW_ERR_INVALID_TOKEN);
	/* An ES256 signature of the wrong length. */
	t = sign(EC_HDR, GOOD_PAY, ec, "ES256");
	ck_assert_int_eq(verify(gw_arena_printf(arena, "%.*s",
	    (int)strlen(t) - 3, t)), GW_ERR_INVALID_TOKEN);
	/* An attacker's embedded jwk is never used. */
	ck_assert_int_eq(verify(sign("{\"alg\":\"RS256\",\"kid\":\"rsa-1\","
	    "\"jwk\":{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}}",
	    GOOD_PAY, rsa2, "RS256")), GW_ERR_INVALID_TOKEN);
}
END_TEST

/*
 * A token whose signature verified is remembered (by its bytes) so that the
 * next request with it skips the RSA operation; that must not let anything
 * else through: not another signature on the same header and payload, not
 * the same token once its claims fail (here: expired), not the same bytes
 * against a key set that does not hold the key.
 */
START_TEST(verified_signature_cache_admits_only_those_bytes)
{
	const char		*good = rsa_tok(GOOD_PAY);
	struct gw_keyset	*other;
	struct gw_claims	 c;
	char			 err[256], *t;
	int			 i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(verify(good), GW_OK);
	t = gw_arena_printf(arena, "%.*sAAAA", (int)(strrchr(good, '.') -
	    good + 1), good);
	ck_assert_int_eq(verify(t), GW_ERR_INVALID_TOKEN);
	ck_assert_int_eq(gw_auth_verify_token(&conf, keys, arena, good,
	    NOW + 86400 * 2, &c), GW_ERR_INVALID_TOKEN);
	/* ec-1 alone: the same bytes meet a key set without rsa-1. */
	ck_assert_ptr_nonnull(other = jwks_variant(1, NULL, NULL, err,
	    sizeof(err)));
	ck_assert_int_eq(verify_with(other, good, &c), GW_ERR_INVALID_TOKEN);
	gw_auth_free_jwks(other);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Claims (RFC 7519 §4.1), leeway 60, max lifetime 86400, now NOW */

static const struct tcase claim_cases[] = {
	{ "baseline", GOOD_PAY, GW_OK },
	{ "payload not an object", "[1]", GW_ERR_INVALID_TOKEN },
	{ "payload repeats a member", "{" BASE "," TIMES ",\"sub\":\"x\"}",
	    GW_ERR_INVALID_TOKEN },
	/* exp */
	{ "exp missing", "{" BASE ",\"iat\":1799999990}",
	    GW_ERR_INVALID_TOKEN },
	{ "exp as a string", "{" BASE ",\"iat\":1799999990,"
	    "\"exp\":\"1800000600\"}", GW_ERR_INVALID_TOKEN },
	{ "exp as a float", "{" BASE ",\"iat\":1799999990,"
	    "\"exp\":1.8000006e9}", GW_ERR_INVALID_TOKEN },
	{ "exp as 1800000600.0", "{" BASE ",\"iat\":1799999990,"
	    "\"exp\":1800000600.0}", GW_ERR_INVALID_TOKEN },
	{ "exp null", "{" BASE ",\"iat\":1799999990,\"exp\":null}",
	    GW_ERR_INVALID_TOKEN },
	{ "exp negative", "{" BASE ",\"exp\":-1}", GW_ERR_INVALID_TOKEN },
	{ "exp huge", "{" BASE ",\"iat\":1799999990,"
	    "\"exp\":18446744073709551615}", GW_ERR_INVALID_TOKEN },
	{ "exp now-leeway accepted", "{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1799999940}", GW_OK },
	{ "exp now-leeway-1 refused", "{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1799999939}", GW_ERR_INVALID_TOKEN },
	/* nbf */
	{ "nbf now+leeway accepted", "{" BASE "," TIMES
	    ",\"nbf\":1800000060}", GW_OK },
	{ "nbf now+leeway+1 refused", "{" BASE "," TIMES
	    ",\"nbf\":1800000061}", GW_ERR_INVALID_TOKEN },
	{ "nbf as a string", "{" BASE "," TIMES ",\"nbf\":\"1\"}",
	    GW_ERR_INVALID_TOKEN },
	/* iat */
	{ "iat now+leeway accepted", "{" BASE ",\"iat\":1800000060,"
	    "\"exp\":1800000600}", GW_OK },
	{ "iat now+leeway+1 refused", "{" BASE ",\"iat\":1800000061,"
	    "\"exp\":1800000600}", GW_ERR_INVALID_TOKEN },
	{ "iat as a float", "{" BASE ",\"iat\":1799999990.5,"
	    "\"exp\":1800000600}", GW_ERR_INVALID_TOKEN },
	/* lifetime */
	{ "exp-iat = max accepted", "{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1800085400}", GW_OK },
	{ "exp-iat over max refused", "{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1800085401}", GW_ERR_INVALID_TOKEN },
	{ "no iat, exp-now = max accepted", "{" BASE ",\"exp\":1800086400}",
	    GW_OK },
	{ "no iat, exp-now over max refused", "{" BASE
	    ",\"exp\":1800086401}", GW_ERR_INVALID_TOKEN },
	/* iss */
	{ "iss with a trailing slash", "{\"iss\":\"" ISSUER "/\"," SUB ","
	    AUD "," TIMES "}", GW_ERR_INVALID_TOKEN },
	{ "iss upper case", "{\"iss\":\"HTTPS://authority.example.org\","
	    SUB "," AUD "," TIMES "}", GW_ERR_INVALID_TOKEN },
	{ "iss missing", "{" SUB "," AUD "," TIMES "}", GW_ERR_INVALID_TOKEN },
	{ "iss not a string", "{\"iss\":[\"" ISSUER "\"]," SUB "," AUD ","
	    TIMES "}", GW_ERR_INVALID_TOKEN },
	{ "iss with NUL", "{\"iss\":\"" ISSUER "\\u0000x\"," SUB "," AUD ","
	    TIMES "}", GW_ERR_INVALID_TOKEN },
	/* aud */
	{ "aud our second audience", "{" ISS "," SUB
	    ",\"aud\":\"stellaops-web\"," TIMES "}", GW_OK },
	{ "aud array with ours", "{" ISS "," SUB
	    ",\"aud\":[\"other\",\"stellaops-gateway\"]," TIMES "}", GW_OK },
	{ "aud array without ours", "{" ISS "," SUB
	    ",\"aud\":[\"other\",\"stellaops\"]," TIMES "}",
	    GW_ERR_INVALID_TOKEN },
	{ "aud empty array", "{" ISS "," SUB ",\"aud\":[]," TIMES "}",
	    GW_ERR_INVALID_TOKEN },
	{ "aud array with a number", "{" ISS "," SUB
	    ",\"aud\":[\"stellaops-gateway\",1]," TIMES "}",
	    GW_ERR_INVALID_TOKEN },
	{ "aud other string", "{" ISS "," SUB ",\"aud\":\"other\"," TIMES
	    "}", GW_ERR_INVALID_TOKEN },
	{ "aud missing", "{" ISS "," SUB "," TIMES "}", GW_ERR_INVALID_TOKEN },
	/* sub */
	{ "sub empty", "{" ISS ",\"sub\":\"\"," AUD "," TIMES "}",
	    GW_ERR_INVALID_TOKEN },
	{ "sub missing", "{" ISS "," AUD "," TIMES "}", GW_ERR_INVALID_TOKEN },
	{ "sub a number", "{" ISS ",\"sub\":1," AUD "," TIMES "}",
	    GW_ERR_INVALID_TOKEN },
	/* scope and scp (SPEC §5) */
	{ "scope absent", "{" BASE "," TIMES "}", GW_OK },
	{ "scp a string", "{" BASE "," TIMES ",\"scp\":\"orch:read\"}",
	    GW_OK },
	{ "scp an array", "{" BASE "," TIMES ",\"scp\":[\"orch:read\"]}",
	    GW_OK },
	{ "scope a number", "{" BASE "," TIMES ",\"scope\":1}",
	    GW_ERR_INVALID_TOKEN },
	{ "scope an array", "{" BASE "," TIMES ",\"scope\":[\"orch:read\"]}",
	    GW_ERR_INVALID_TOKEN },
	{ "scp an object", "{" BASE "," TIMES ",\"scp\":{\"a\":1}}",
	    GW_ERR_INVALID_TOKEN },
	{ "scp array with a number", "{" BASE "," TIMES
	    ",\"scp\":[\"orch:read\",1]}", GW_ERR_INVALID_TOKEN },
	{ "scope with a tab", "{" BASE "," TIMES
	    ",\"scope\":\"orch:read\\torch:quota\"}", GW_ERR_INVALID_TOKEN },
	/* tenant, client_id, cnf */
	{ "tenant claim a number", "{" ISS "," SUB "," AUD "," TIMES
	    ",\"stellaops:tenant\":1}", GW_ERR_INVALID_TOKEN },
	{ "tid a number when first present", "{" ISS "," SUB "," AUD ","
	    TIMES ",\"tid\":1,\"ten\":\"acme\"}", GW_ERR_INVALID_TOKEN },
	{ "tenant claim absent", "{" ISS "," SUB "," AUD "," TIMES "}",
	    GW_OK },
	{ "client_id a number", "{" BASE "," TIMES ",\"client_id\":1}",
	    GW_ERR_INVALID_TOKEN },
	{ "cnf not an object", "{" BASE "," TIMES ",\"cnf\":\"x\"}",
	    GW_ERR_INVALID_TOKEN },
	{ "cnf.jkt a number", "{" BASE "," TIMES ",\"cnf\":{\"jkt\":1}}",
	    GW_ERR_INVALID_TOKEN },
	{ "cnf.jkt not a thumbprint", "{" BASE "," TIMES
	    ",\"cnf\":{\"jkt\":\"abc\"}}", GW_ERR_INVALID_TOKEN },
	{ "cnf without jkt", "{" BASE "," TIMES ",\"cnf\":{}}", GW_OK },
};

START_TEST(claim_rules)
{
	const struct tcase	*t = &claim_cases[_i];

	ck_assert_msg(verify(rsa_tok(t->text)) == t->want, "%s", t->name);
}
END_TEST

START_TEST(claims_are_returned)
{
	struct gw_claims	 c;

	ck_assert_int_eq(verify_with(keys, rsa_tok("{" BASE "," TIMES
	    ",\"client_id\":\"cli\",\"cnf\":{\"jkt\":"
	    "\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}}"), &c), GW_OK);
	ck_assert_str_eq(c.sub, "user-1");
	ck_assert_str_eq(c.client_id, "cli");
	ck_assert_str_eq(c.tenant, "acme");
	ck_assert_str_eq(c.scopes, "");
	ck_assert_str_eq(c.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
	ck_assert_int_eq(c.exp, 1800000600);
	ck_assert_int_eq(c.iat, 1799999990);

	ck_assert_int_eq(verify_with(keys, rsa_tok(GOOD_PAY), &c), GW_OK);
	ck_assert_ptr_null(c.client_id);
	ck_assert_ptr_null(c.jkt);
}
END_TEST

START_TEST(scopes_are_the_sorted_union_of_scope_and_scp)
{
	static const struct {
		const char	*claims;
		const char	*want;
	} cases[] = {
		{ ",\"scope\":\"orch:quota orch:read  orch:read \"",
		    "orch:quota orch:read" },
		{ ",\"scp\":\"orch:read orch:backfill\"",
		    "orch:backfill orch:read" },
		{ ",\"scope\":\"orch:quota\",\"scp\":[\"orch:read\","
		    "\"orch:operate\",\"orch:quota\"]",
		    "orch:operate orch:quota orch:read" },
		{ ",\"scope\":\"b a\",\"scp\":\"a c\"", "a b c" },
		{ ",\"scope\":\"\",\"scp\":[]", "" },
		{ ",\"scope\":\"Orch:Read orch:read\"", "Orch:Read orch:read" },
	};
	struct gw_claims	 c;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(verify_with(keys, rsa_tok(gw_arena_printf(
		    arena, "{" BASE "," TIMES "%s}", cases[i].claims)), &c),
		    GW_OK);
		ck_assert_str_eq(c.scopes, cases[i].want);
	}
}
END_TEST

START_TEST(tenant_claim_is_the_first_present_of_tenant_claims)
{
	static const struct {
		const char	*claims;
		const char	*want;
	} cases[] = {
		{ ",\"ten\":\"t3\",\"tid\":\"t2\",\"stellaops:tenant\":\"t1\"",
		    "t1" },
		{ ",\"ten\":\"t3\",\"tid\":\"t2\"", "t2" },
		{ ",\"ten\":\"t3\"", "t3" },
		{ ",\"tenant\":\"t4\"", NULL },
		{ "", NULL },
	};
	struct gw_claims	 c;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(verify_with(keys, rsa_tok(gw_arena_printf(
		    arena, "{" ISS "," SUB "," AUD "," TIMES "%s}",
		    cases[i].claims)), &c), GW_OK);
		if (cases[i].want == NULL)
			ck_assert_ptr_null(c.tenant);
		else
			ck_assert_str_eq(c.tenant, cases[i].want);
	}
	/* The configured order decides, not the token's. */
	conf.tenant_claims[0] = "ten";
	conf.tenant_claims[2] = "stellaops:tenant";
	ck_assert_int_eq(verify_with(keys, rsa_tok(gw_arena_printf(arena,
	    "{" ISS "," SUB "," AUD "," TIMES "%s}", cases[0].claims)), &c),
	    GW_OK);
	ck_assert_str_eq(c.tenant, "t3");
}
END_TEST

START_TEST(leeway_is_configurable)
{
	const char	*tok = rsa_tok("{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1799999990}");

	ck_assert_int_eq(verify(tok), GW_OK);
	conf.leeway = 0;
	ck_assert_int_eq(verify(tok), GW_ERR_INVALID_TOKEN);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Tokens from gw_mint_token and libjwt */

static struct gw_mint
mint_defaults(void)
{
	struct gw_mint	 m;

	memset(&m, 0, sizeof(m));
	m.key_file = keypath("rsa.pem");
	m.kid = "rsa-1";
	m.iss = ISSUER;
	m.sub = "user-1";
	m.tenant = "acme";
	m.scope = "orch:read orch:quota";
	m.aud[0] = "stellaops-gateway";
	m.naud = 1;
	m.ttl = 600;
	m.now = NOW;
	return m;
}

static enum gw_err
verify_minted(const struct gw_mint *m, const struct gw_keyset *ks,
    struct gw_claims *c)
{
	char		*tok, err[256];
	enum gw_err	 e;

	ck_assert_msg(gw_mint_token(m, &tok, err, sizeof(err)) == 0, "%s",
	    err);
	e = verify_with(ks, tok, c);
	free(tok);
	return e;
}

START_TEST(minted_tokens_are_accepted)
{
	struct gw_mint		 m = mint_defaults();
	struct gw_claims	 c;

	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_OK);
	ck_assert_str_eq(c.sub, "user-1");
	ck_assert_str_eq(c.tenant, "acme");
	ck_assert_str_eq(c.scopes, "orch:quota orch:read");
	ck_assert_int_eq(c.exp, NOW + 600);
	ck_assert_int_eq(c.iat, NOW);

	m.typ = "";
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_OK);
	m.typ = "JWT";
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_OK);
	m.typ = "dpop+jwt";
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_ERR_INVALID_TOKEN);

	m = mint_defaults();
	m.key_file = keypath("ec.pem");
	m.kid = "ec-1";
	m.aud[0] = "other";
	m.aud[1] = "stellaops-web";
	m.naud = 2;
	m.client_id = "cli";
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_OK);
	ck_assert_str_eq(c.client_id, "cli");

	m = mint_defaults();
	m.key_file = keypath("rsa2.pem");
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_ERR_INVALID_TOKEN);
	m = mint_defaults();
	m.ttl = 86401;
	ck_assert_int_eq(verify_minted(&m, keys, &c), GW_ERR_INVALID_TOKEN);
}
END_TEST

START_TEST(minted_jwks_verifies_minted_tokens)
{
	static const struct {
		const char	*key, *kid, *alg, *want_alg;
	} cases[] = {
		{ "rsa.pem", "k1", NULL, "RS256" },
		{ "rsa.pem", "k1", "PS384", "PS384" },
		{ "ec.pem", "k2", NULL, "ES256" },
	};
	struct gw_mint		 m;
	struct gw_keyset	*ks;
	struct gw_claims	 c;
	json_object		*o, *k, *v;
	char			*jwks, err[256];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(gw_mint_jwks(keypath(cases[i].key),
		    cases[i].kid, cases[i].alg, &jwks, err, sizeof(err)), 0);
		ck_assert_ptr_nonnull(o = json_tokener_parse(jwks));
		json_object_object_get_ex(o, "keys", &v);
		k = json_object_array_get_idx(v, 0);
		ck_assert(!json_object_object_get_ex(k, "d", NULL));
		json_object_object_get_ex(k, "alg", &v);
		ck_assert_str_eq(json_object_get_string(v), cases[i].want_alg);
		json_object_object_get_ex(k, "use", &v);
		ck_assert_str_eq(json_object_get_string(v), "sig");
		json_object_put(o);
		ks = jwks_text(jwks, err, sizeof(err));
		free(jwks);
		ck_assert_msg(ks != NULL, "%s", err);
		m = mint_defaults();
		m.key_file = keypath(cases[i].key);
		m.kid = cases[i].kid;
		m.alg = cases[i].alg;
		ck_assert_int_eq(verify_minted(&m, ks, &c), GW_OK);
		gw_auth_free_jwks(ks);
	}
	ck_assert_int_eq(gw_mint_jwks(keypath("ec.pem"), "k", "RS256", &jwks,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(gw_mint_jwks(keypath("jwks.json"), "k", NULL, &jwks,
	    err, sizeof(err)), -1);
}
END_TEST

START_TEST(libjwt_tokens_are_accepted_like_minted_ones)
{
	struct gw_mint		 m = mint_defaults();
	struct gw_claims	 a, b;
	jwt_t			*jwt;
	FILE			*f;
	unsigned char		 key[8192];
	size_t			 n;
	char			*tok;

	ck_assert_ptr_nonnull(f = fopen(keypath("rsa.pem"), "r"));
	n = fread(key, 1, sizeof(key), f);
	fclose(f);
	ck_assert_int_eq(jwt_new(&jwt), 0);
	ck_assert_int_eq(jwt_add_grants_json(jwt, "{" ISS ",\"sub\":\"user-1\","
	    AUD "," TEN ",\"iat\":1800000000,\"exp\":1800000600,"
	    "\"scope\":\"orch:read orch:quota\"}"), 0);
	ck_assert_int_eq(jwt_add_header(jwt, "kid", "rsa-1"), 0);
	ck_assert_int_eq(jwt_set_alg(jwt, JWT_ALG_RS256, key, (int)n), 0);
	ck_assert_ptr_nonnull(tok = jwt_encode_str(jwt));
	jwt_free(jwt);
	ck_assert_int_eq(verify_with(keys, tok, &a), GW_OK);
	free(tok);

	ck_assert_int_eq(verify_minted(&m, keys, &b), GW_OK);
	ck_assert_str_eq(a.sub, b.sub);
	ck_assert_str_eq(a.tenant, b.tenant);
	ck_assert_str_eq(a.scopes, b.scopes);
	ck_assert_int_eq(a.exp, b.exp);
	ck_assert_int_eq(a.iat, b.iat);
}
END_TEST

/* ---------------------------------------------------------------- */
/* The request: Authorization (RFC 6750 §2.1), tenancy, operator headers */

static struct gw_app	 app;
static struct gw_req	 req;

static void
req_init(const char **env)
{
	size_t	 n;
	char	**envp;

	for (n = 0; env[n] != NULL; n++)
		;
	envp = gw_arena_alloc(arena, (n + 1) * sizeof(*envp));
	for (n = 0; env[n] != NULL; n++)
		envp[n] = gw_arena_strdup(arena, env[n]);
	envp[n] = NULL;
	memset(&app, 0, sizeof(app));
	app.conf = conf;
	app.keys = keys;
	gw_req_init(&req, &app, arena, envp, NULL, NULL);
	req.now = NOW;
}

static enum gw_err
auth(const char **env, const char **tenant)
{
	req_init(env);
	return gw_auth_request(&req, keys, tenant);
}

START_TEST(authorization_header_syntax)
{
	const char	*tok = rsa_tok(GOOD_PAY), *tenant;
	const char	*a = gw_arena_printf(arena, "HTTP_AUTHORIZATION=Bearer %s",
	    tok);
	struct {
		const char	*env[4];
		enum gw_err	 want;
	} cases[] = {
		{ { NULL }, GW_ERR_AUTHENTICATION_REQUIRED },
		{ { "HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz", NULL },
		    GW_ERR_AUTHENTICATION_REQUIRED },
		{ { "HTTP_AUTHORIZATION=Bearer", NULL },
		    GW_ERR_AUTHENTICATION_REQUIRED },
		{ { "HTTP_AUTHORIZATION=Bearer ", NULL },
		    GW_ERR_AUTHENTICATION_REQUIRED },
		{ { "HTTP_AUTHORIZATION=", NULL },
		    GW_ERR_AUTHENTICATION_REQUIRED },
		{ { gw_arena_printf(arena, "HTTP_AUTHORIZATION=Bearer  %s",
		    tok), NULL }, GW_ERR_AUTHENTICATION_REQUIRED },
		{ { gw_arena_printf(arena, "HTTP_AUTHORIZATION=Bearer\t%s",
		    tok), NULL }, GW_ERR_AUTHENTICATION_REQUIRED },
		{ { gw_arena_printf(arena, "HTTP_AUTHORIZATION=Token %s", tok),
		    NULL }, GW_ERR_AUTHENTICATION_REQUIRED },
		{ { a, a, NULL }, GW_ERR_AUTHENTICATION_REQUIRED },
		{ { gw_arena_printf(arena, "%s, Bearer %s", a, tok), NULL },
		    GW_ERR_AUTHENTICATION_REQUIRED },
		{ { a, NULL }, GW_OK },
		{ { gw_arena_printf(arena, "HTTP_AUTHORIZATION=bearer %s", tok),
		    NULL }, GW_OK },
		{ { gw_arena_printf(arena, "HTTP_AUTHORIZATION=BEARER %s", tok),
		    NULL }, GW_OK },
		{ { "HTTP_AUTHORIZATION=Bearer abc.def.ghi", NULL },
		    GW_ERR_INVALID_TOKEN },
	};
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(auth(cases[i].env, &tenant) == cases[i].want,
		    "case %zu", i);
		if (cases[i].want != GW_OK)
			ck_assert_int_eq(req.err, cases[i].want);
		else
			ck_assert_str_eq(req.auth_scheme, "Bearer");
	}
}
END_TEST

START_TEST(principal_from_a_bearer_token)
{
	const char	*tenant;
	const char	*env[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=Bearer %s", rsa_tok("{" BASE "," TIMES
	    ",\"scope\":\"orch:read orch:quota\",\"client_id\":\"cli\"}")),
	    NULL };

	ck_assert_int_eq(auth(env, &tenant), GW_OK);
	ck_assert_str_eq(tenant, "acme");
	ck_assert_str_eq(req.principal.sub, "user-1");
	ck_assert_str_eq(req.principal.client_id, "cli");
	ck_assert_str_eq(req.principal.scopes, "orch:quota orch:read");
	ck_assert_ptr_null(req.principal.jkt);
	ck_assert_int_eq(req.principal.dpop, 0);
	ck_assert_ptr_nonnull(req.token);
	ck_assert_ptr_null(strstr(req.err_message ? req.err_message : "",
	    "ey"));
}
END_TEST

START_TEST(invalid_token_message_never_echoes_the_token)
{
	const char	*tenant;
	const char	*tok = rsa_tok("{" BASE ",\"iat\":1799999000,"
	    "\"exp\":1799999000}");
	const char	*env[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=Bearer %s", tok), NULL };

	ck_assert_int_eq(auth(env, &tenant), GW_ERR_INVALID_TOKEN);
	ck_assert_ptr_nonnull(req.err_message);
	ck_assert_ptr_null(strstr(req.err_message, "eyJ"));
	ck_assert_ptr_null(strstr(req.err_message, "user-1"));
	ck_assert_ptr_null(tenant);
}
END_TEST

START_TEST(bound_token_under_bearer_refused)
{
	const char	*tenant;
	const char	*env[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=Bearer %s", rsa_tok("{" BASE "," TIMES
	    ",\"cnf\":{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\""
	    "}}")), NULL };

	ck_assert_int_eq(auth(env, &tenant), GW_ERR_INVALID_TOKEN);
	ck_assert_str_eq(req.auth_scheme, "Bearer");
}
END_TEST

START_TEST(dpop_fails_closed_until_proofs_are_verified)
{
	const char	*tok = rsa_tok(GOOD_PAY), *tenant;
	const char	*dpop[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=DPoP %s", tok), "HTTP_DPOP=x.y.z", NULL };
	const char	*dpop_lc[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=dpop %s", tok), NULL };
	const char	*bearer_proof[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=Bearer %s", tok), "HTTP_DPOP=x.y.z", NULL };
	const char	*bearer[] = { gw_arena_printf(arena,
	    "HTTP_AUTHORIZATION=Bearer %s", tok), NULL };
	const char	*dpop_bad[] = { "HTTP_AUTHORIZATION=DPoP abc", NULL };

	ck_assert_int_eq(auth(dpop, &tenant), GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.auth_scheme, "DPoP");
	ck_assert_int_eq(auth(dpop_lc, &tenant), GW_ERR_INVALID_DPOP_PROOF);
	ck_assert_str_eq(req.auth_scheme, "DPoP");
	ck_assert_int_eq(auth(bearer_proof, &tenant),
	    GW_ERR_INVALID_DPOP_PROOF);
	/* A bad token under DPoP is still an invalid token. */
	ck_assert_int_eq(auth(dpop_bad, &tenant), GW_ERR_INVALID_TOKEN);
	ck_assert_str_eq(req.auth_scheme, "DPoP");
	conf.require_dpop = 1;
	ck_assert_int_eq(auth(bearer, &tenant), GW_ERR_INVALID_DPOP_PROOF);
	conf.require_dpop = 0;
	ck_assert_int_eq(auth(bearer, &tenant), GW_OK);
}
END_TEST

START_TEST(has_scope_is_an_exact_word_match)
{
	const char	*s = "orch:quota orch:read orch:readonly";

	ck_assert_int_eq(gw_auth_has_scope(s, "orch:read"), 1);
	ck_assert_int_eq(gw_auth_has_scope(s, "orch:quota"), 1);
	ck_assert_int_eq(gw_auth_has_scope(s, "orch:readonly"), 1);
	ck_assert_int_eq(gw_auth_has_scope(s, "orch:rea"), 0);
	ck_assert_int_eq(gw_auth_has_scope(s, "orch"), 0);
	ck_assert_int_eq(gw_auth_has_scope(s, "ORCH:READ"), 0);
	ck_assert_int_eq(gw_auth_has_scope(s, "quota"), 0);
	ck_assert_int_eq(gw_auth_has_scope(s, "orch:read orch:quota"), 0);
	ck_assert_int_eq(gw_auth_has_scope(s, ""), 0);
	ck_assert_int_eq(gw_auth_has_scope("orch:readonly", "orch:read"), 0);
	ck_assert_int_eq(gw_auth_has_scope("", "orch:read"), 0);
	ck_assert_int_eq(gw_auth_has_scope(NULL, "orch:read"), 0);
}
END_TEST

/* SPEC §4, with the token's tenant "acme" unless the case says NULL. */
static const struct {
	const char	*name;
	const char	*env[4];
	int		 no_token_tenant;
	enum gw_err	 want;
	const char	*tenant, *project;
} tenant_cases[] = {
	{ "header equals claim", { "HTTP_X_STELLA_TENANT=acme" }, 0, GW_OK,
	    "acme", NULL },
	{ "alias", { "HTTP_X_STELLAOPS_TENANT=acme" }, 0, GW_OK, "acme",
	    NULL },
	{ "both, equal", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLAOPS_TENANT=acme" }, 0, GW_OK, "acme", NULL },
	{ "both, different", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLAOPS_TENANT=other" }, 0, GW_ERR_TENANT_MISMATCH,
	    NULL, NULL },
	{ "missing", { NULL }, 0, GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "empty", { "HTTP_X_STELLA_TENANT=" }, 0, GW_ERR_TENANT_MISMATCH,
	    NULL, NULL },
	{ "space", { "HTTP_X_STELLA_TENANT=ac me" }, 0,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "slash", { "HTTP_X_STELLA_TENANT=acme/x" }, 0,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "repeated", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_TENANT=acme" }, 0, GW_ERR_TENANT_MISMATCH, NULL,
	    NULL },
	{ "comma", { "HTTP_X_STELLA_TENANT=acme,acme" }, 0,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "alias repeated", { "HTTP_X_STELLAOPS_TENANT=acme",
	    "HTTP_X_STELLAOPS_TENANT=acme" }, 0, GW_ERR_TENANT_MISMATCH,
	    NULL, NULL },
	{ "case differs from claim", { "HTTP_X_STELLA_TENANT=ACME" }, 0,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "token has no tenant", { "HTTP_X_STELLA_TENANT=acme" }, 1,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "project", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_PROJECT=p-1.a_b" }, 0, GW_OK, "acme", "p-1.a_b" },
	{ "project malformed", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_PROJECT=p 1" }, 0, GW_ERR_TENANT_MISMATCH, NULL,
	    NULL },
	{ "project empty", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_PROJECT=" }, 0, GW_ERR_TENANT_MISMATCH, NULL,
	    NULL },
	{ "project repeated", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_PROJECT=p", "HTTP_X_STELLA_PROJECT=p" }, 0,
	    GW_ERR_TENANT_MISMATCH, NULL, NULL },
	{ "scope header refused", { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_SCOPES=orch:read" }, 0,
	    GW_ERR_SCOPE_HEADER_FORBIDDEN, NULL, NULL },
};

START_TEST(tenant_rules)
{
	const char	*env[4];
	size_t		 n;

	for (n = 0; n < 4 && tenant_cases[_i].env[n] != NULL; n++)
		env[n] = tenant_cases[_i].env[n];
	env[n] = NULL;
	req_init(env);
	req.principal.scopes = "orch:read";
	ck_assert_msg(gw_tenant_resolve(&req, tenant_cases[_i].no_token_tenant ?
	    NULL : "acme") == tenant_cases[_i].want, "%s",
	    tenant_cases[_i].name);
	if (tenant_cases[_i].want != GW_OK) {
		ck_assert_int_eq(req.err, tenant_cases[_i].want);
		ck_assert_ptr_nonnull(req.err_message);
		ck_assert_ptr_null(req.principal.tenant);
		return;
	}
	ck_assert_str_eq(req.principal.tenant, tenant_cases[_i].tenant);
	if (tenant_cases[_i].project == NULL)
		ck_assert_ptr_null(req.principal.project);
	else
		ck_assert_str_eq(req.principal.project,
		    tenant_cases[_i].project);
}
END_TEST

START_TEST(tenant_length_is_1_to_64)
{
	char		 t64[65], t65[66];
	const char	*env[2];

	memset(t64, 'a', 64);
	t64[64] = '\0';
	memset(t65, 'a', 65);
	t65[65] = '\0';
	env[1] = NULL;
	env[0] = gw_arena_printf(arena, "HTTP_X_STELLA_TENANT=%s", t64);
	req_init(env);
	ck_assert_int_eq(gw_tenant_resolve(&req, t64), GW_OK);
	env[0] = gw_arena_printf(arena, "HTTP_X_STELLA_TENANT=%s", t65);
	req_init(env);
	ck_assert_int_eq(gw_tenant_resolve(&req, t65), GW_ERR_TENANT_MISMATCH);
}
END_TEST

START_TEST(project_error_names_the_project_header)
{
	const char	*env[] = { "HTTP_X_STELLA_TENANT=acme",
	    "HTTP_X_STELLA_PROJECT=a,b", NULL };

	req_init(env);
	ck_assert_int_eq(gw_tenant_resolve(&req, "acme"),
	    GW_ERR_TENANT_MISMATCH);
	ck_assert_ptr_nonnull(strstr(req.err_message, "X-Stella-Project"));
}
END_TEST

START_TEST(scope_header_only_narrows)
{
	static const struct {
		const char	*granted, *hdr, *want;
	} cases[] = {
		{ "orch:quota orch:read", "orch:read orch:operate",
		    "orch:read" },
		{ "orch:quota orch:read", "orch:read orch:quota",
		    "orch:quota orch:read" },
		{ "orch:read", "orch:operate", "" },
		{ "orch:read", "", "" },
		{ "orch:readonly", "orch:read", "" },
	};
	const char	*env[3];
	size_t		 i;

	conf.allow_scope_header = 1;
	env[0] = "HTTP_X_STELLA_TENANT=acme";
	env[2] = NULL;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env[1] = gw_arena_printf(arena, "HTTP_X_STELLA_SCOPES=%s",
		    cases[i].hdr);
		req_init(env);
		req.principal.scopes = cases[i].granted;
		ck_assert_int_eq(gw_tenant_resolve(&req, "acme"), GW_OK);
		ck_assert_str_eq(req.principal.scopes, cases[i].want);
	}
}
END_TEST

static const struct {
	const char	*name;
	const char	*method;
	const char	*reason, *ticket, *idem;
	enum gw_err	 want;
} operator_cases[] = {
	{ "GET needs nothing", "GET", NULL, NULL, NULL, GW_OK },
	{ "POST with a reason", "POST", "pausing for maintenance", NULL, NULL,
	    GW_OK },
	{ "PUT with a reason", "PUT", "r", NULL, NULL, GW_OK },
	{ "DELETE without a reason", "DELETE", NULL, NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "POST without a reason", "POST", NULL, NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason empty", "POST", "", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason UTF-8", "POST", "caf\xc3\xa9 \xe2\x9c\x93", NULL, NULL,
	    GW_OK },
	{ "reason with a tab", "POST", "a\tb", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason with DEL", "POST", "a\x7f", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason with U+0085", "POST", "a\xc2\x85", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason with U+00A0", "POST", "a\xc2\xa0", NULL, NULL, GW_OK },
	{ "reason not UTF-8", "POST", "a\xff", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "reason overlong UTF-8", "POST", "\xc0\xaf", NULL, NULL,
	    GW_ERR_OPERATOR_REASON_REQUIRED },
	{ "ticket", "POST", "r", "INC-1234/a#b:c.d_e", NULL, GW_OK },
	{ "ticket empty", "POST", "r", "", NULL,
	    GW_ERR_INVALID_OPERATOR_TICKET },
	{ "ticket with a space", "POST", "r", "INC 1", NULL,
	    GW_ERR_INVALID_OPERATOR_TICKET },
	{ "ticket with a comma", "POST", "r", "a,b", NULL,
	    GW_ERR_INVALID_OPERATOR_TICKET },
	{ "idempotency key", "POST", "r", NULL, "k-1,2;~!", GW_OK },
	{ "idempotency key empty", "POST", "r", NULL, "",
	    GW_ERR_INVALID_IDEMPOTENCY_KEY },
	{ "idempotency key with a space", "POST", "r", NULL, "a b",
	    GW_ERR_INVALID_IDEMPOTENCY_KEY },
	{ "idempotency key with DEL", "POST", "r", NULL, "a\x7f",
	    GW_ERR_INVALID_IDEMPOTENCY_KEY },
	{ "idempotency key non-ASCII", "POST", "r", NULL, "\xc3\xa9",
	    GW_ERR_INVALID_IDEMPOTENCY_KEY },
	{ "idempotency key ignored on PUT", "PUT", "r", NULL, "a b", GW_OK },
};

START_TEST(operator_header_rules)
{
	const char	*env[5];
	size_t		 n = 0;

	env[n++] = gw_arena_printf(arena, "REQUEST_METHOD=%s",
	    operator_cases[_i].method);
	if (operator_cases[_i].reason != NULL)
		env[n++] = gw_arena_printf(arena,
		    "HTTP_X_STELLA_OPERATOR_REASON=%s",
		    operator_cases[_i].reason);
	if (operator_cases[_i].ticket != NULL)
		env[n++] = gw_arena_printf(arena,
		    "HTTP_X_STELLA_OPERATOR_TICKET=%s",
		    operator_cases[_i].ticket);
	if (operator_cases[_i].idem != NULL)
		env[n++] = gw_arena_printf(arena, "HTTP_IDEMPOTENCY_KEY=%s",
		    operator_cases[_i].idem);
	env[n] = NULL;
	req_init(env);
	ck_assert_msg(gw_tenant_operator(&req) == operator_cases[_i].want,
	    "%s", operator_cases[_i].name);
	if (operator_cases[_i].want == GW_OK &&
	    strcmp(operator_cases[_i].method, "GET") != 0) {
		ck_assert_str_eq(req.reason, operator_cases[_i].reason);
		if (operator_cases[_i].ticket == NULL)
			ck_assert_ptr_null(req.ticket);
		else
			ck_assert_str_eq(req.ticket, operator_cases[_i].ticket);
		if (operator_cases[_i].idem == NULL ||
		    strcmp(operator_cases[_i].method, "POST") != 0)
			ck_assert_ptr_null(req.idem_key);
		else
			ck_assert_str_eq(req.idem_key, operator_cases[_i].idem);
	}
}
END_TEST

START_TEST(operator_header_lengths)
{
	static const struct {
		const char	*var;
		size_t		 ok, max;
		enum gw_err	 err;
	} cases[] = {
		{ "HTTP_X_STELLA_OPERATOR_REASON", 256, 0,
		    GW_ERR_OPERATOR_REASON_REQUIRED },
		{ "HTTP_X_STELLA_OPERATOR_TICKET", 128, 0,
		    GW_ERR_INVALID_OPERATOR_TICKET },
		{ "HTTP_IDEMPOTENCY_KEY", 255, 0,
		    GW_ERR_INVALID_IDEMPOTENCY_KEY },
	};
	const char	*env[4];
	char		 v[300];
	size_t		 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (len = cases[i].ok; len <= cases[i].ok + 1; len++) {
			memset(v, 'x', len);
			v[len] = '\0';
			env[0] = "REQUEST_METHOD=POST";
			env[1] = i == 0 ? gw_arena_printf(arena, "%s=%s",
			    cases[i].var, v) : "HTTP_X_STELLA_OPERATOR_REASON=r";
			env[2] = i == 0 ? NULL : gw_arena_printf(arena,
			    "%s=%s", cases[i].var, v);
			env[3] = NULL;
			req_init(env);
			ck_assert_int_eq(gw_tenant_operator(&req),
			    len == cases[i].ok ? GW_OK : cases[i].err);
		}
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite	*s = suite_create("auth");
	TCase	*tc;

	tc = tcase_create("jwks");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, jwks_loads_public_signing_keys);
	tcase_add_loop_test(tc, jwks_refuses_private_symmetric_and_misfit_keys,
	    0, sizeof(jwks_cases) / sizeof(jwks_cases[0]));
	tcase_add_test(tc, jwks_refuses_malformed_sets);
	tcase_add_test(tc, jwks_refuses_repeated_kid);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, token_size_at_most_8192_bytes);
	tcase_add_test(tc, token_of_9_kib_refused);
	tcase_add_test(tc, token_three_strict_base64url_segments);
	tcase_add_loop_test(tc, header_rules, 0,
	    sizeof(header_cases) / sizeof(header_cases[0]));
	tcase_add_test(tc, alg_none_refused);
	tcase_add_test(tc, alg_hs256_with_rsa_public_key_refused);
	tcase_add_test(tc, kid_optional_with_one_key);
	tcase_add_test(tc, key_type_must_fit_alg);
	tcase_add_test(tc, key_alg_member_pins_the_alg);
	tcase_add_test(tc, signature_must_verify_with_the_selected_key);
	tcase_add_test(tc, verified_signature_cache_admits_only_those_bytes);
	tcase_add_loop_test(tc, claim_rules, 0,
	    sizeof(claim_cases) / sizeof(claim_cases[0]));
	tcase_add_test(tc, claims_are_returned);
	tcase_add_test(tc, scopes_are_the_sorted_union_of_scope_and_scp);
	tcase_add_test(tc, tenant_claim_is_the_first_present_of_tenant_claims);
	tcase_add_test(tc, leeway_is_configurable);
	suite_add_tcase(s, tc);

	tc = tcase_create("mint");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minted_tokens_are_accepted);
	tcase_add_test(tc, minted_jwks_verifies_minted_tokens);
	tcase_add_test(tc, libjwt_tokens_are_accepted_like_minted_ones);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, authorization_header_syntax);
	tcase_add_test(tc, principal_from_a_bearer_token);
	tcase_add_test(tc, invalid_token_message_never_echoes_the_token);
	tcase_add_test(tc, bound_token_under_bearer_refused);
	tcase_add_test(tc, dpop_fails_closed_until_proofs_are_verified);
	tcase_add_test(tc, has_scope_is_an_exact_word_match);
	suite_add_tcase(s, tc);

	tc = tcase_create("tenant");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, tenant_rules, 0,
	    sizeof(tenant_cases) / sizeof(tenant_cases[0]));
	tcase_add_test(tc, tenant_length_is_1_to_64);
	tcase_add_test(tc, project_error_names_the_project_header);
	tcase_add_test(tc, scope_header_only_narrows);
	tcase_add_loop_test(tc, operator_header_rules, 0,
	    sizeof(operator_cases) / sizeof(operator_cases[0]));
	tcase_add_test(tc, operator_header_lengths);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfail;

	global_setup();
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_ENV);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	global_teardown();
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
