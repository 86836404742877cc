/*
 * mint_dpop: DPoP proofs (RFC 9449 §4.2) signed with OpenSSL, for the
 * end-to-end tests and bench/dpop.sh, which cannot sign ES256 from a
 * shell or the Python standard library.
 *
 *	mint_dpop KEY.pem METHOD HTU ACCESS_TOKEN [COUNT]
 *		COUNT (default 1) fresh proofs, one a line: a new random
 *		jti each, iat now, ath of the token.
 *	mint_dpop -j KEY.pem
 *		the RFC 7638 thumbprint of the key, for cnf.jkt.
 *
 * KEY.pem is an EC P-256 (ES256) or RSA (RS256) private key.
 */
#define _GNU_SOURCE		/* asprintf */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "extern.h"

/* base64url of n bytes into a static-sized result the caller frees. */
static char *
b64(const void *p, size_t n)
{
	char	*s;

	if ((s = malloc(gw_b64url_enclen(n) + 1)) == NULL)
		err(1, NULL);
	s[gw_b64url_encode(p, n, s)] = '\0';
	return s;
}

static char *
b64_bn(EVP_PKEY *k, const char *param, int pad)
{
	BIGNUM		*bn = NULL;
	unsigned char	 buf[1024];
	char		*s;
	int		 n;

	if (!EVP_PKEY_get_bn_param(k, param, &bn))
		errx(1, "cannot read %s", param);
	n = pad > 0 ? BN_bn2binpad(bn, buf, pad) : BN_bn2bin(bn, buf);
	BN_free(bn);
	if (n <= 0)
		errx(1, "%s too large", param);
	s = b64(buf, (size_t)n);
	return s;
}

/* The public JWK and, in out, its RFC 7638 canonical form. */
static char *
jwk(EVP_PKEY *k, int ec, char **canon)
{
	char	*a, *b, *j;

	if (ec) {
		a = b64_bn(k, OSSL_PKEY_PARAM_EC_PUB_X, 32);
		b = b64_bn(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
		if (asprintf(&j, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
		    "\"y\":\"%s\"}", a, b) == -1 ||
		    asprintf(canon, "{\"crv\":\"P-256\",\"kty\":\"EC\","
		    "\"x\":\"%s\",\"y\":\"%s\"}", a, b) == -1)
			err(1, NULL);
	} else {
		a = b64_bn(k, OSSL_PKEY_PARAM_RSA_N, 0);
		b = b64_bn(k, OSSL_PKEY_PARAM_RSA_E, 0);
		if (asprintf(&j, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}",
		    a, b) == -1 ||
		    asprintf(canon, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
		    b, a) == -1)
			err(1, NULL);
	}
	free(a);
	free(b);
	return j;
}

static char *
sha256_b64(const char *s)
{
	unsigned char	 h[32];
	unsigned int	 n;

	if (!EVP_Digest(s, strlen(s), h, &n, EVP_sha256(), NULL))
		errx(1, "SHA-256 failed");
	return b64(h, n);
}

/* RFC 7515 §5.1; ES256 as raw R || S (RFC 7518 §3.4). */
static char *
sign(EVP_PKEY *k, int ec, const char *in)
{
	EVP_MD_CTX		*md;
	ECDSA_SIG		*es;
	const unsigned char	*p;
	unsigned char		*sig, raw[64];
	size_t			 len;
	char			*out;

	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, NULL, &len, (const unsigned char *)in,
	    strlen(in)) != 1 || (sig = malloc(len)) == NULL ||
	    EVP_DigestSign(md, sig, &len, (const unsigned char *)in,
	    strlen(in)) != 1)
		errx(1, "signing failed");
	EVP_MD_CTX_free(md);
	if (!ec) {
		out = b64(sig, len);
		free(sig);
		return out;
	}
	p = sig;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		errx(1, "bad ECDSA signature");
	BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
	ECDSA_SIG_free(es);
	free(sig);
	return b64(raw, sizeof(raw));
}

static EVP_PKEY *
load(const char *path, int *ec)
{
	FILE		*f;
	EVP_PKEY	*k;

	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		errx(1, "%s: not a PEM private key", path);
	fclose(f);
	*ec = EVP_PKEY_get_base_id(k) == EVP_PKEY_EC;
	if (!*ec && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
		errx(1, "%s: neither EC nor RSA", path);
	return k;
}

int
main(int argc, char *argv[])
{
	EVP_PKEY	*k;
	char		*j, *canon, *hdr, *ath, *pl, *in, *sig, *s, *hb, *pb;
	unsigned char	 rnd[16];
	long		 i, count = 1;
	int		 ec;

	if (argc == 3 && strcmp(argv[1], "-j") == 0) {
		k = load(argv[2], &ec);
		j = jwk(k, ec, &canon);
		s = sha256_b64(canon);
		printf("%s\n", s);
		free(s);
		free(j);
		free(canon);
		EVP_PKEY_free(k);
		return 0;
	}
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: mint_dpop KEY.pem METHOD HTU TOKEN "
		    "[COUNT]\n       mint_dpop -j KEY.pem\n");
		return 2;
	}
	if (argc == 6 && (count = strtol(argv[5], NULL, 10)) <= 0)
		errx(2, "COUNT must be a positive number");
	k = load(argv[1], &ec);
	j = jwk(k, ec, &canon);
	if (asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"alg\":\"%s\",\"jwk\":%s}",
	    ec ? "ES256" : "RS256", j) == -1)
		err(1, NULL);
	hb = b64(hdr, strlen(hdr));
	ath = sha256_b64(argv[4]);
	for (i = 0; i < count; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			errx(1, "RAND_bytes failed");
		s = b64(rnd, sizeof(rnd));
		if (asprintf(&pl, "{\"jti\":\"%s\",\"htm\":\"%s\",\"htu\":\"%s\","
		    "\"iat\":%lld,\"ath\":\"%s\"}", s, argv[2], argv[3],
		    (long long)time(NULL), ath) == -1)
			err(1, NULL);
		pb = b64(pl, strlen(pl));
		if (asprintf(&in, "%s.%s", hb, pb) == -1)
			err(1, NULL);
		sig = sign(k, ec, in);
		printf("%s.%s\n", in, sig);
		free(sig);
		free(in);
		free(pb);
		free(pl);
		free(s);
	}
	free(ath);
	free(hb);
	free(hdr);
	free(j);
	free(canon);
	EVP_PKEY_free(k);
	return fflush(stdout) == 0 ? 0 : 1;
}
