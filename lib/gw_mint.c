/*
 * gw_mint.c: development access tokens and the matching public JWKS,
 * from a PEM private key (jobengine-admin token / jwks).
 *
 * The token has the shape the Stella Ops Authority emits (typ at+jwt,
 * RFC 9068 §2), so a development setup exercises exactly the checks of
 * gw_auth.c.  The PEM is turned into a cjose JWK once; signing and the
 * public JWKS both start from that JWK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "extern.h"

/* The components cjose wants, as big-endian byte strings. */
struct mint_bytes {
	uint8_t	*p;
	size_t	 n;
};

static int
mint_param(EVP_PKEY *pk, const char *name, size_t pad, struct mint_bytes *b)
{
	BIGNUM	*bn = NULL;
	int	 n;

	if (!EVP_PKEY_get_bn_param(pk, name, &bn))
		return -1;
	n = pad > 0 ? (int)pad : BN_num_bytes(bn);
	if ((b->p = OPENSSL_malloc(n > 0 ? n : 1)) == NULL ||
	    BN_bn2binpad(bn, b->p, n) != n) {
		BN_clear_free(bn);
		return -1;
	}
	b->n = (size_t)n;
	BN_clear_free(bn);
	return 0;
}

static cjose_jwk_t *
mint_rsa(EVP_PKEY *pk)
{
	static const char *const names[8] = {
		OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_N,
		OSSL_PKEY_PARAM_RSA_D, OSSL_PKEY_PARAM_RSA_FACTOR1,
		OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_EXPONENT1,
		OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
	};
	struct mint_bytes	 b[8];
	cjose_jwk_rsa_keyspec	 spec;
	cjose_jwk_t		*jwk = NULL;
	size_t			 i;

	memset(b, 0, sizeof(b));
	for (i = 0; i < 8; i++)
		if (mint_param(pk, names[i], 0, &b[i]) == -1)
			goto out;
	spec.e = b[0].p, spec.elen = b[0].n;
	spec.n = b[1].p, spec.nlen = b[1].n;
	spec.d = b[2].p, spec.dlen = b[2].n;
	spec.p = b[3].p, spec.plen = b[3].n;
	spec.q = b[4].p, spec.qlen = b[4].n;
	spec.dp = b[5].p, spec.dplen = b[5].n;
	spec.dq = b[6].p, spec.dqlen = b[6].n;
	spec.qi = b[7].p, spec.qilen = b[7].n;
	jwk = cjose_jwk_create_RSA_spec(&spec, NULL);
out:
	for (i = 0; i < 8; i++)
		OPENSSL_clear_free(b[i].p, b[i].n);
	return jwk;
}

static cjose_jwk_t *
mint_ec(EVP_PKEY *pk)
{
	static const struct {
		const char		*group;
		cjose_jwk_ec_curve	 crv;
		size_t			 len;
	} curves[] = {
		{ "prime256v1", CJOSE_JWK_EC_P_256, 32 },
		{ "secp384r1", CJOSE_JWK_EC_P_384, 48 },
		{ "secp521r1", CJOSE_JWK_EC_P_521, 66 },
	};
	struct mint_bytes	 x = { NULL, 0 }, y = { NULL, 0 }, d = { NULL, 0 };
	cjose_jwk_ec_keyspec	 spec;
	cjose_jwk_t		*jwk = NULL;
	char			 group[64];
	size_t			 i;

	if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL))
		return NULL;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (strcmp(curves[i].group, group) == 0)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return NULL;
	if (mint_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, curves[i].len, &x) == -1 ||
	    mint_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, curves[i].len, &y) == -1 ||
	    mint_param(pk, OSSL_PKEY_PARAM_PRIV_KEY, curves[i].len, &d) == -1)
		goto out;
	spec.crv = curves[i].crv;
	spec.x = x.p, spec.xlen = x.n;
	spec.y = y.p, spec.ylen = y.n;
	spec.d = d.p, spec.dlen = d.n;
	jwk = cjose_jwk_create_EC_spec(&spec, NULL);
out:
	OPENSSL_free(x.p);
	OPENSSL_free(y.p);
	OPENSSL_clear_free(d.p, d.n);
	return jwk;
}

/* Read a PEM private key into a cjose JWK (RSA, or EC P-256/384/521). */
static cjose_jwk_t *
mint_load(const char *path, char *err, size_t errlen)
{
	FILE		*f;
	EVP_PKEY	*pk;
	cjose_jwk_t	*jwk = NULL;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pk == NULL) {
		snprintf(err, errlen, "%s: not a PEM private key", path);
		return NULL;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		jwk = mint_rsa(pk);
		break;
	case EVP_PKEY_EC:
		jwk = mint_ec(pk);
		break;
	default:
		break;
	}
	EVP_PKEY_free(pk);
	if (jwk == NULL)
		snprintf(err, errlen, "%s: only RSA and EC P-256/384/521 keys "
		    "are supported", path);
	return jwk;
}

/* The default alg of a key, or whether alg fits it (RFC 7518 §3.1). */
static const char *
mint_alg(const cjose_jwk_t *jwk, const char *alg)
{
	static const char *const rsa[] = {
		"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	};
	const char	*ec;
	size_t		 i;

	if (cjose_jwk_get_kty(jwk, NULL) == CJOSE_JWK_KTY_RSA) {
		if (alg == NULL)
			return "RS256";
		for (i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++)
			if (strcmp(alg, rsa[i]) == 0)
				return rsa[i];
		return NULL;
	}
	switch (cjose_jwk_EC_get_curve(jwk, NULL)) {
	case CJOSE_JWK_EC_P_256:
		ec = "ES256";
		break;
	case CJOSE_JWK_EC_P_384:
		ec = "ES384";
		break;
	case CJOSE_JWK_EC_P_521:
		ec = "ES512";
		break;
	default:
		return NULL;
	}
	return alg == NULL || strcmp(alg, ec) == 0 ? ec : NULL;
}

int
gw_mint_token(const struct gw_mint *m, char **out, char *err, size_t errlen)
{
	cjose_jwk_t	*jwk;
	cjose_header_t	*hdr = NULL;
	cjose_jws_t	*jws = NULL;
	const char	*alg, *ser;
	struct gw_buf	 b;
	struct gw_json	 j;
	char		 jti[37];
	int64_t		 now;
	size_t		 i;
	int		 rc = -1;

	*out = NULL;
	gw_buf_init(&b);
	if ((jwk = mint_load(m->key_file, err, errlen)) == NULL)
		return -1;
	if ((alg = mint_alg(jwk, m->alg)) == NULL) {
		snprintf(err, errlen, "alg %s does not fit the key",
		    m->alg != NULL ? m->alg : "");
		goto out;
	}
	if (m->iss == NULL || m->sub == NULL || m->naud == 0 || m->ttl <= 0) {
		snprintf(err, errlen, "a token needs iss, sub, aud and a "
		    "positive ttl");
		goto out;
	}
	if ((hdr = cjose_header_new(NULL)) == NULL ||
	    !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, NULL) ||
	    (m->kid != NULL && !cjose_header_set(hdr, CJOSE_HDR_KID, m->kid,
	    NULL)) ||
	    ((m->typ == NULL || m->typ[0] != '\0') &&
	    !cjose_header_set(hdr, "typ", m->typ != NULL ? m->typ : "at+jwt",
	    NULL))) {
		snprintf(err, errlen, "cannot build the JOSE header");
		goto out;
	}

	now = m->now != 0 ? m->now : gw_now();
	gw_uuidv7(jti);
	gw_json_init(&j, &b);
	gw_json_obj_open(&j);
	gw_json_kstr(&j, "iss", m->iss);
	gw_json_kstr(&j, "sub", m->sub);
	gw_json_key(&j, "aud");
	if (m->naud == 1)
		gw_json_str(&j, m->aud[0]);
	else {
		gw_json_arr_open(&j);
		for (i = 0; i < m->naud; i++)
			gw_json_str(&j, m->aud[i]);
		gw_json_arr_close(&j);
	}
	gw_json_kint(&j, "iat", now);
	gw_json_kint(&j, "exp", now + m->ttl);
	if (m->tenant != NULL)
		gw_json_kstr(&j, "stellaops:tenant", m->tenant);
	if (m->scope != NULL)
		gw_json_kstr(&j, "scope", m->scope);
	if (m->client_id != NULL)
		gw_json_kstr(&j, "client_id", m->client_id);
	if (m->cnf_jkt != NULL) {
		gw_json_key(&j, "cnf");
		gw_json_obj_open(&j);
		gw_json_kstr(&j, "jkt", m->cnf_jkt);
		gw_json_obj_close(&j);
	}
	gw_json_kstr(&j, "jti", jti);
	gw_json_obj_close(&j);

	if ((jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)b.data, b.len,
	    NULL)) == NULL || !cjose_jws_export(jws, &ser, NULL)) {
		snprintf(err, errlen, "signing failed");
		goto out;
	}
	if ((*out = strdup(ser)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	if (hdr != NULL)
		cjose_header_release(hdr);
	cjose_jwk_release(jwk);
	gw_buf_free(&b);
	return rc;
}

int
gw_mint_jwks(const char *key_file, const char *kid, const char *alg,
    char **out, char *err, size_t errlen)
{
	static const char *const members[] = { "crv", "n", "e", "x", "y" };
	cjose_jwk_t	*jwk;
	json_object	*pub = NULL, *v;
	char		*text = NULL;
	struct gw_buf	 b;
	struct gw_json	 j;
	size_t		 i;
	int		 rc = -1;

	*out = NULL;
	gw_buf_init(&b);
	if ((jwk = mint_load(key_file, err, errlen)) == NULL)
		return -1;
	if ((alg = mint_alg(jwk, alg)) == NULL) {
		snprintf(err, errlen, "alg does not fit the key");
		goto out;
	}
	/* cjose writes only public members when priv is false. */
	if ((text = cjose_jwk_to_json(jwk, false, NULL)) == NULL ||
	    (pub = json_tokener_parse(text)) == NULL) {
		snprintf(err, errlen, "cannot export the public key");
		goto out;
	}
	gw_json_init(&j, &b);
	gw_json_obj_open(&j);
	gw_json_key(&j, "keys");
	gw_json_arr_open(&j);
	gw_json_obj_open(&j);
	gw_json_kstr(&j, "kty", cjose_jwk_get_kty(jwk, NULL) ==
	    CJOSE_JWK_KTY_RSA ? "RSA" : "EC");
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (json_object_object_get_ex(pub, members[i], &v))
			gw_json_kstr(&j, members[i], json_object_get_string(v));
	if (kid != NULL)
		gw_json_kstr(&j, "kid", kid);
	gw_json_kstr(&j, "alg", alg);
	gw_json_kstr(&j, "use", "sig");
	gw_json_obj_close(&j);
	gw_json_arr_close(&j);
	gw_json_obj_close(&j);
	if ((*out = strdup(b.data)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (pub != NULL)
		json_object_put(pub);
	if (text != NULL)
		cjose_get_dealloc()(text);
	cjose_jwk_release(jwk);
	gw_buf_free(&b);
	return rc;
}
