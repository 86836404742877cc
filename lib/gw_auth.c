/*
 * gw_auth.c: access tokens (SPEC §3).
 *
 * A token passes one fixed sequence of checks and is refused at the first
 * failure: size and compact form, JOSE header, key selection, claims, and
 * only then the signature (the cheap checks run before any crypto, as
 * Envoy's jwt_authn does).  The algorithm is never taken from the token
 * alone: it must be one the selected key allows (RFC 8725 §3.1), which
 * closes both alg=none and the RS256-to-HS256 key confusion.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <json-c/json.h>

#include "extern.h"

#define AUTH_MAXTOKEN	8192		/* bytes, SPEC §3 */
#define AUTH_MAXJWKS	(256 * 1024)	/* bytes of the JWKS file */
#define AUTH_MAXKEYS	32
#define AUTH_MAXKID	128
#define AUTH_MINRSA	2048		/* bits, RFC 7518 §3.3 */
/* NumericDate bounds: 0 to 9999-12-31T23:59:59Z. */
#define AUTH_MAXTIME	253402300799LL

struct gw_alg {
	const char	*name;
	int		 kty;		/* cjose_jwk_kty_t */
	int		 crv;		/* cjose_jwk_ec_curve for EC, else 0 */
	size_t		 siglen;	/* raw R||S for ES (RFC 7518 §3.4) */
};

static const struct gw_alg auth_algs[] = {
	{ "RS256", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "RS384", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "RS512", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "PS256", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "PS384", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "PS512", CJOSE_JWK_KTY_RSA, 0, 0 },
	{ "ES256", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_256, 64 },
	{ "ES384", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_384, 96 },
	{ "ES512", CJOSE_JWK_KTY_EC, CJOSE_JWK_EC_P_521, 132 },
};
#define AUTH_NALGS (sizeof(auth_algs) / sizeof(auth_algs[0]))

struct gw_key {
	cjose_jwk_t	*jwk;
	char		*kid;		/* NULL when the JWK has none */
	int		 kty;
	int		 crv;
	unsigned	 algs;		/* bit i: auth_algs[i] is allowed */
};

/*
 * Tokens whose signature verified, by SHA-256 of their bytes.  A client
 * sends the same access token with every request until it expires, and a
 * signature is a function of the token's bytes and the key alone; the key
 * set is fixed for the life of the process (and owns this cache), so a
 * token seen to verify is not verified again.  Every other check still
 * runs on every request.  A ring: the oldest entry makes room.
 */
#define AUTH_SIGCACHE	64

struct auth_sigcache {
	unsigned char	 digest[AUTH_SIGCACHE][32];
	const void	*key[AUTH_SIGCACHE];
	size_t		 next;
};

struct gw_keyset {
	struct gw_key		*keys;
	size_t			 nkeys;
	struct auth_sigcache	*verified;
};

/* Members only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4). */
static const char *const auth_private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

static const struct gw_alg *
auth_alg_find(const char *name, size_t *idx)
{
	size_t	 i;

	for (i = 0; i < AUTH_NALGS; i++)
		if (strcmp(auth_algs[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &auth_algs[i];
		}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* The JWKS */

static char *
auth_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
	FILE	*f;
	char	*buf;
	size_t	 n;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		snprintf(err, errlen, "%s: %s", path, ferror(f) ?
		    "read error" : "file too large");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/*
 * Check one JWK of the set and add it.  A published verification key must
 * be public (RFC 7517 §4: a JWKS may carry private keys, ours must not),
 * asymmetric, and for signatures; its "alg", when present, pins exactly
 * that algorithm (RFC 7517 §4.4).
 */
static int
auth_add_key(struct gw_keyset *ks, json_object *jk, size_t i, char *err,
    size_t errlen)
{
	struct gw_key		*k = &ks->keys[ks->nkeys];
	json_object		*v;
	const char		*kty, *s, *json;
	const struct gw_alg	*a;
	cjose_err		 cerr;
	size_t			 j, idx;

	if (!json_object_is_type(jk, json_type_object)) {
		snprintf(err, errlen, "key %zu is not an object", i);
		return -1;
	}
	if (!json_object_object_get_ex(jk, "kty", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "key %zu has no \"kty\" string", i);
		return -1;
	}
	kty = json_object_get_string(v);
	if (strcmp(kty, "oct") == 0) {
		snprintf(err, errlen, "key %zu is symmetric (kty oct); "
		    "only RSA and EC public keys are allowed", i);
		return -1;
	}
	if (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0) {
		snprintf(err, errlen, "key %zu has unsupported kty \"%.16s\"",
		    i, kty);
		return -1;
	}
	for (j = 0; j < sizeof(auth_private_members) /
	    sizeof(auth_private_members[0]); j++)
		if (json_object_object_get_ex(jk, auth_private_members[j],
		    NULL)) {
			snprintf(err, errlen, "key %zu holds private member "
			    "\"%s\": publish only the public key", i,
			    auth_private_members[j]);
			return -1;
		}
	if (json_object_object_get_ex(jk, "use", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "sig") != 0)) {
		snprintf(err, errlen, "key %zu has \"use\" other than \"sig\"",
		    i);
		return -1;
	}
	if (json_object_object_get_ex(jk, "kid", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (s = json_object_get_string(v))[0] == '\0' ||
		    (size_t)json_object_get_string_len(v) != strlen(s) ||
		    strlen(s) > AUTH_MAXKID) {
			snprintf(err, errlen, "key %zu: \"kid\" must be a "
			    "string of 1-%d bytes", i, AUTH_MAXKID);
			return -1;
		}
		for (j = 0; j < ks->nkeys; j++)
			if (ks->keys[j].kid != NULL &&
			    strcmp(ks->keys[j].kid, s) == 0) {
				snprintf(err, errlen, "key %zu repeats the kid "
				    "of key %zu", i, j);
				return -1;
			}
		if ((k->kid = strdup(s)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}

	json = json_object_to_json_string_ext(jk, JSON_C_TO_STRING_PLAIN);
	if ((k->jwk = cjose_jwk_import(json, strlen(json), &cerr)) == NULL) {
		snprintf(err, errlen, "key %zu cannot be imported: %s", i,
		    cerr.message);
		goto fail;
	}
	k->kty = cjose_jwk_get_kty(k->jwk, NULL);
	if (k->kty == CJOSE_JWK_KTY_RSA) {
		if (cjose_jwk_get_keysize(k->jwk, NULL) < AUTH_MINRSA) {
			snprintf(err, errlen, "key %zu: RSA keys must have at "
			    "least %d bits", i, AUTH_MINRSA);
			goto fail;
		}
	} else if (k->kty == CJOSE_JWK_KTY_EC) {
		k->crv = cjose_jwk_EC_get_curve(k->jwk, NULL);
		if (k->crv != CJOSE_JWK_EC_P_256 &&
		    k->crv != CJOSE_JWK_EC_P_384 &&
		    k->crv != CJOSE_JWK_EC_P_521) {
			snprintf(err, errlen, "key %zu: unsupported curve", i);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "key %zu has an unexpected type", i);
		goto fail;
	}

	if (json_object_object_get_ex(jk, "alg", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (a = auth_alg_find(json_object_get_string(v), &idx)) ==
		    NULL) {
			snprintf(err, errlen, "key %zu: \"alg\" must be one of "
			    "RS256/384/512, PS256/384/512, ES256/384/512", i);
			goto fail;
		}
		if (a->kty != k->kty || a->crv != k->crv) {
			snprintf(err, errlen, "key %zu: \"alg\" %s does not fit "
			    "the key type", i, a->name);
			goto fail;
		}
		k->algs = 1U << idx;
	} else
		for (idx = 0; idx < AUTH_NALGS; idx++)
			if (auth_algs[idx].kty == k->kty &&
			    auth_algs[idx].crv == k->crv)
				k->algs |= 1U << idx;
	ks->nkeys++;
	return 0;
fail:
	if (k->jwk != NULL)
		cjose_jwk_release(k->jwk);
	free(k->kid);
	memset(k, 0, sizeof(*k));
	return -1;
}

int
gw_auth_load_jwks(const char *path, struct gw_keyset **out, char *err,
    size_t errlen)
{
	struct gw_keyset	*ks = NULL;
	json_object		*root = NULL, *arr;
	char			*text, jerr[128], kerr[192];
	size_t			 len, i, n;

	*out = NULL;
	if ((text = auth_read_file(path, AUTH_MAXJWKS, &len, err, errlen)) ==
	    NULL)
		return -1;
	root = gw_json_parse_object(text, len, jerr, sizeof(jerr));
	free(text);
	if (root == NULL) {
		snprintf(err, errlen, "%s: not a JSON object: %s", path, jerr);
		return -1;
	}
	if (!json_object_object_get_ex(root, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0 || n > AUTH_MAXKEYS) {
		snprintf(err, errlen, "%s: \"keys\" must be an array of 1-%d "
		    "keys", path, AUTH_MAXKEYS);
		goto fail;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->keys = calloc(n, sizeof(*ks->keys))) == NULL ||
	    (ks->verified = calloc(1, sizeof(*ks->verified))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (auth_add_key(ks, json_object_array_get_idx(arr, i), i,
		    kerr, sizeof(kerr)) == -1) {
			snprintf(err, errlen, "%s: %s", path, kerr);
			goto fail;
		}
	json_object_put(root);
	*out = ks;
	return 0;
fail:
	json_object_put(root);
	gw_auth_free_jwks(ks);
	return -1;
}

void
gw_auth_free_jwks(struct gw_keyset *ks)
{
	size_t	 i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->nkeys; i++) {
		cjose_jwk_release(ks->keys[i].jwk);
		free(ks->keys[i].kid);
	}
	free(ks->keys);
	free(ks->verified);
	free(ks);
}

static int
auth_sig_known(const struct gw_keyset *ks, const void *key,
    const unsigned char digest[32])
{
	const struct auth_sigcache	*c = ks->verified;
	size_t				 i;

	for (i = 0; i < AUTH_SIGCACHE; i++)
		if (c->key[i] == key && memcmp(c->digest[i], digest, 32) == 0)
			return 1;
	return 0;
}

static void
auth_sig_remember(const struct gw_keyset *ks, const void *key,
    const unsigned char digest[32])
{
	struct auth_sigcache	*c = ks->verified;

	memcpy(c->digest[c->next], digest, 32);
	c->key[c->next] = key;
	c->next = (c->next + 1) % AUTH_SIGCACHE;
}

/* ---------------------------------------------------------------- */
/* Claims */

/*
 * A string member: 1 and *out when present, 0 when absent, -1 when of
 * another type or holding a NUL (which would make C see a shorter value
 * than the issuer signed).
 */
static int
auth_str(json_object *o, const char *name, const char **out, size_t *len)
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

/*
 * A NumericDate (RFC 7519 §2) as a JSON integer: a real (1.7e9), a string
 * or anything out of [0, 9999-12-31] is refused rather than truncated, so
 * "exp":"9999999999" cannot read as absent or zero.
 */
static int
auth_time(json_object *o, const char *name, int64_t *out)
{
	json_object	*v;
	int64_t		 t;

	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	t = json_object_get_int64(v);
	if (t < 0 || t > AUTH_MAXTIME)
		return -1;
	*out = t;
	return 1;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
static int
auth_scope_token(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
			return 0;
	return 1;
}

struct auth_word {
	const char	*p;
	size_t		 n;
};

#define AUTH_MAXSCOPES 128

struct auth_scopes {
	struct auth_word	 w[AUTH_MAXSCOPES];
	size_t			 n;
};

/* Split a space-separated list into set; empty words are skipped. */
static int
auth_scopes_add(struct auth_scopes *set, const char *s)
{
	const char	*w;
	size_t		 n, i;

	while (*s != '\0') {
		if (*s == ' ') {
			s++;
			continue;
		}
		w = s;
		while (*s != '\0' && *s != ' ')
			s++;
		n = (size_t)(s - w);
		if (!auth_scope_token(w, n))
			return -1;
		for (i = 0; i < set->n; i++)
			if (set->w[i].n == n && memcmp(set->w[i].p, w, n) == 0)
				break;
		if (i < set->n)
			continue;
		if (set->n == AUTH_MAXSCOPES)
			return -1;
		set->w[set->n].p = w;
		set->w[set->n++].n = n;
	}
	return 0;
}

static int
auth_word_cmp(const void *a, const void *b)
{
	const struct auth_word	*x = a, *y = b;
	int			 c;

	if ((c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n)) != 0)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

/*
 * Granted scopes are the union of "scope" (RFC 8693 §4.2, a string) and
 * "scp" (a string or an array of strings), normalised to a sorted list of
 * unique words so that later matches and audit records are exact.
 */
static int
auth_scopes(json_object *pl, struct gw_arena *arena, const char **out)
{
	struct auth_scopes	 set;
	json_object		*v, *e;
	const char		*s;
	struct gw_buf		 b;
	size_t			 i, n;
	int			 r;

	memset(&set, 0, sizeof(set));
	if ((r = auth_str(pl, "scope", &s, NULL)) == -1)
		return -1;
	if (r == 1 && auth_scopes_add(&set, s) == -1)
		return -1;
	if (json_object_object_get_ex(pl, "scp", &v)) {
		if (json_object_is_type(v, json_type_string)) {
			if (auth_str(pl, "scp", &s, NULL) != 1 ||
			    auth_scopes_add(&set, s) == -1)
				return -1;
		} else if (json_object_is_type(v, json_type_array)) {
			n = json_object_array_length(v);
			for (i = 0; i < n; i++) {
				e = json_object_array_get_idx(v, i);
				if (!json_object_is_type(e, json_type_string))
					return -1;
				s = json_object_get_string(e);
				if ((size_t)json_object_get_string_len(e) !=
				    strlen(s) || auth_scopes_add(&set, s) == -1)
					return -1;
			}
		} else
			return -1;
	}
	qsort(set.w, set.n, sizeof(set.w[0]), auth_word_cmp);
	gw_buf_init(&b);
	for (i = 0; i < set.n; i++) {
		if (i > 0)
			gw_buf_putc(&b, ' ');
		gw_buf_add(&b, set.w[i].p, set.w[i].n);
	}
	*out = gw_arena_strndup(arena, b.data != NULL ? b.data : "", b.len);
	gw_buf_free(&b);
	return 0;
}

/* RFC 7519 §4.1.3: "aud" is a string or an array of strings. */
static int
auth_audience(const struct gw_conf *conf, json_object *pl)
{
	json_object	*v, *e;
	const char	*s;
	size_t		 i, j, n;
	int		 found = 0;

	if (!json_object_object_get_ex(pl, "aud", &v))
		return -1;
	if (json_object_is_type(v, json_type_string))
		n = 1;
	else if (json_object_is_type(v, json_type_array))
		n = json_object_array_length(v);
	else
		return -1;
	for (i = 0; i < n; i++) {
		e = json_object_is_type(v, json_type_array) ?
		    json_object_array_get_idx(v, i) : v;
		if (!json_object_is_type(e, json_type_string))
			return -1;
		s = json_object_get_string(e);
		if ((size_t)json_object_get_string_len(e) != strlen(s))
			return -1;
		for (j = 0; j < conf->naudiences; j++)
			if (strcmp(s, conf->audiences[j]) == 0)
				found = 1;
	}
	return found ? 0 : -1;
}

static const char *
auth_claims(const struct gw_conf *conf, json_object *pl,
    struct gw_arena *arena, int64_t now, struct gw_claims *c)
{
	json_object	*cnf;
	const char	*s;
	unsigned char	 d[64];
	size_t		 len, i;
	int64_t		 nbf = 0, iat = 0;
	int		 r, has_iat;

	if (auth_time(pl, "exp", &c->exp) != 1)
		return "exp must be a JSON integer";
	if ((r = auth_time(pl, "nbf", &nbf)) == -1)
		return "nbf must be a JSON integer";
	if ((has_iat = auth_time(pl, "iat", &iat)) == -1)
		return "iat must be a JSON integer";
	/* RFC 7519 §4.1.4-4.1.6, one leeway for all three. */
	if (now > c->exp + conf->leeway)
		return "token expired";
	if (r == 1 && nbf > now + conf->leeway)
		return "token not yet valid";
	if (has_iat && iat > now + conf->leeway)
		return "token issued in the future";
	if (c->exp - (has_iat ? iat : now) > conf->max_token_lifetime)
		return "token lifetime over auth.max_token_lifetime_seconds";
	c->iat = has_iat ? iat : 0;

	/* Byte for byte: no case folding, no trailing-slash tolerance. */
	if (conf->issuer == NULL || auth_str(pl, "iss", &s, &len) != 1 ||
	    strcmp(s, conf->issuer) != 0)
		return "wrong issuer";
	if (auth_audience(conf, pl) == -1)
		return "wrong audience";
	if (auth_str(pl, "sub", &s, &len) != 1 || len == 0)
		return "sub must be a non-empty string";
	c->sub = gw_arena_strdup(arena, s);
	if (auth_scopes(pl, arena, &c->scopes) == -1)
		return "scope or scp has the wrong type";

	c->tenant = NULL;
	for (i = 0; i < conf->ntenant_claims; i++) {
		if ((r = auth_str(pl, conf->tenant_claims[i], &s, NULL)) == -1)
			return "tenant claim must be a string";
		if (r == 1) {
			c->tenant = gw_arena_strdup(arena, s);
			break;
		}
	}
	c->client_id = NULL;
	if ((r = auth_str(pl, "client_id", &s, NULL)) == -1)
		return "client_id must be a string";
	if (r == 1)
		c->client_id = gw_arena_strdup(arena, s);

	/* RFC 9449 §6.1: jkt is the base64url SHA-256 thumbprint. */
	c->jkt = NULL;
	if (json_object_object_get_ex(pl, "cnf", &cnf)) {
		if (!json_object_is_type(cnf, json_type_object))
			return "cnf must be an object";
		if ((r = auth_str(cnf, "jkt", &s, &len)) == -1)
			return "cnf.jkt must be a string";
		if (r == 1) {
			if (len != 43 || gw_b64url_decode(s, len, d) != 32)
				return "cnf.jkt is not a SHA-256 thumbprint";
			c->jkt = gw_arena_strdup(arena, s);
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* The token */

/* typ of an access token: RFC 9068 §2.1, or plain JWT (RFC 7519 §5.1). */
static int
auth_typ_ok(const char *typ)
{
	return strcasecmp(typ, "JWT") == 0 || strcasecmp(typ, "at+jwt") == 0 ||
	    strcasecmp(typ, "application/at+jwt") == 0;
}

static const struct gw_key *
auth_select_key(const struct gw_keyset *ks, const char *kid)
{
	size_t	 i;

	if (kid == NULL)
		return ks->nkeys == 1 ? &ks->keys[0] : NULL;
	for (i = 0; i < ks->nkeys; i++)
		if (ks->keys[i].kid != NULL && strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

/* Decode one segment into the arena, or NULL if it is not strict base64url. */
static unsigned char *
auth_segment(struct gw_arena *arena, const char *s, size_t n, size_t *outlen)
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

/*
 * Every check but DPoP, in order; returns NULL on success or why the token
 * was refused (for the log and the error message: it never quotes the
 * token or a claim value).
 */
static const char *
auth_verify(const struct gw_conf *conf, const struct gw_keyset *ks,
    struct gw_arena *arena, const char *token, int64_t now,
    struct gw_claims *c)
{
	const char		*dot1, *dot2, *alg, *typ, *kid, *why = NULL;
	const struct gw_alg	*a;
	const struct gw_key	*k;
	unsigned char		*hdr, *pay, *sig;
	size_t			 len, hlen, plen, slen, idx;
	json_object		*h = NULL, *pl = NULL;
	cjose_jws_t		*jws = NULL;
	unsigned char		 digest[32];
	char			 jerr[128];
	int			 r;

	if (token == NULL || ks == NULL || conf == NULL)
		return "no key set";
	len = strnlen(token, AUTH_MAXTOKEN + 1);
	if (len > AUTH_MAXTOKEN)
		return "token over 8192 bytes";
	/* RFC 7515 §7.1: exactly three segments, none empty. */
	if ((dot1 = strchr(token, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return "not a compact JWS";
	if ((hdr = auth_segment(arena, token, (size_t)(dot1 - token),
	    &hlen)) == NULL ||
	    (pay = auth_segment(arena, dot1 + 1, (size_t)(dot2 - dot1 - 1),
	    &plen)) == NULL ||
	    (sig = auth_segment(arena, dot2 + 1, len - (size_t)(dot2 + 1 -
	    token), &slen)) == NULL)
		return "segment is not base64url without padding";

	/* RFC 7515 §4: the JOSE header. */
	if ((h = gw_json_parse_object((char *)hdr, hlen, jerr,
	    sizeof(jerr))) == NULL) {
		why = "header is not a JSON object";
		goto out;
	}
	if ((r = auth_str(h, "alg", &alg, NULL)) != 1) {
		why = "alg must be a string";
		goto out;
	}
	if (strcmp(alg, "none") == 0 || strncmp(alg, "HS", 2) == 0 ||
	    (a = auth_alg_find(alg, &idx)) == NULL) {
		why = "alg not allowed";
		goto out;
	}
	/* RFC 7515 §4.1.11: we understand no extension, so crit fails. */
	if (json_object_object_get_ex(h, "crit", NULL)) {
		why = "crit is not supported";
		goto out;
	}
	/* RFC 8725 §3.11: a DPoP proof or other JWT is not an access token. */
	if ((r = auth_str(h, "typ", &typ, NULL)) == -1 ||
	    (r == 1 && !auth_typ_ok(typ))) {
		why = "typ is not an access token type";
		goto out;
	}
	/* RFC 8725 §3.10: kid only selects among configured keys; jku, x5u
	 * and an embedded jwk are never looked at. */
	kid = NULL;
	if (auth_str(h, "kid", &kid, NULL) == -1) {
		why = "kid must be a string";
		goto out;
	}
	if ((k = auth_select_key(ks, kid)) == NULL) {
		why = kid == NULL ? "kid required" : "unknown kid";
		goto out;
	}
	if ((k->algs & (1U << idx)) == 0 || k->kty != a->kty ||
	    k->crv != a->crv) {
		why = "alg not allowed for the key";
		goto out;
	}
	if (a->siglen != 0 && slen != a->siglen) {
		why = "signature has the wrong length";
		goto out;
	}

	if ((pl = gw_json_parse_object((char *)pay, plen, jerr,
	    sizeof(jerr))) == NULL) {
		why = "payload is not a JSON object";
		goto out;
	}
	memset(c, 0, sizeof(*c));
	if ((why = auth_claims(conf, pl, arena, now, c)) != NULL)
		goto out;

	/* RFC 7515 §5.2: last, because it is the expensive step. */
	gw_sha256(token, len, digest);
	if (auth_sig_known(ks, k, digest))
		goto out;
	if ((jws = cjose_jws_import(token, len, NULL)) == NULL ||
	    !cjose_jws_verify(jws, k->jwk, NULL))
		why = "signature does not verify";
	else
		auth_sig_remember(ks, k, digest);
out:
	if (jws != NULL)
		cjose_jws_release(jws);
	if (pl != NULL)
		json_object_put(pl);
	if (h != NULL)
		json_object_put(h);
	return why;
}

enum gw_err
gw_auth_verify_token(const struct gw_conf *conf, const struct gw_keyset *ks,
    struct gw_arena *arena, const char *token, int64_t now,
    struct gw_claims *c)
{
	struct gw_claims	 tmp;

	if (auth_verify(conf, ks, arena, token, now, &tmp) != NULL) {
		memset(c, 0, sizeof(*c));
		return GW_ERR_INVALID_TOKEN;
	}
	*c = tmp;
	return GW_OK;
}

/* ---------------------------------------------------------------- */
/* The request */

/*
 * RFC 9449 §4.3 and §7.1: the DPoP proof, checked against this token and,
 * when the token is bound, its cnf.jkt (gw_dpop.c).
 */
static enum gw_err
auth_dpop(struct gw_req *req, const struct gw_claims *c)
{
	return gw_dpop_request(req, c->jkt);
}

enum gw_err
gw_auth_request(struct gw_req *req, const struct gw_keyset *ks,
    const char **token_tenant)
{
	const struct gw_conf	*conf = gw_req_conf(req);
	struct gw_claims	 c;
	const char		*v, *tok, *why, *scheme;
	size_t			 n;
	enum gw_err		 e;

	*token_tenant = NULL;
	/* RFC 6750 §2.1, RFC 9449 §7.1: one credential, scheme names
	 * compared case-insensitively, one SP, a token.  A comma means the
	 * front end folded two Authorization fields into one. */
	if (gw_req_env_count(req, "HTTP_AUTHORIZATION") > 1 ||
	    (v = gw_req_env(req, "HTTP_AUTHORIZATION")) == NULL ||
	    strchr(v, ',') != NULL)
		return gw_fail(req, GW_ERR_AUTHENTICATION_REQUIRED, NULL,
		    "one Authorization header with a Bearer or DPoP token "
		    "is required");
	if (strncasecmp(v, "Bearer ", 7) == 0) {
		scheme = "Bearer";
		n = 7;
	} else if (strncasecmp(v, "DPoP ", 5) == 0) {
		scheme = "DPoP";
		n = 5;
	} else
		return gw_fail(req, GW_ERR_AUTHENTICATION_REQUIRED, NULL,
		    "the Authorization scheme must be Bearer or DPoP");
	tok = v + n;
	if (*tok == '\0' || *tok == ' ')
		return gw_fail(req, GW_ERR_AUTHENTICATION_REQUIRED, NULL,
		    "the Authorization header holds no token");
	req->auth_scheme = scheme;
	req->token = tok;

	if (conf == NULL)
		return gw_fail(req, GW_ERR_INTERNAL, NULL, "no configuration");
	if ((why = auth_verify(conf, ks, req->arena, tok, req->now, &c)) !=
	    NULL) {
		gw_log(GW_LOG_INFO, req->trace_id, "access token refused: %s",
		    why);
		return gw_fail(req, GW_ERR_INVALID_TOKEN, NULL,
		    "access token refused: %s", why);
	}
	/* RFC 9449 §7.1: a bound token presented as a bearer token is a
	 * downgrade attempt. */
	if (c.jkt != NULL && strcmp(req->auth_scheme, "Bearer") == 0) {
		gw_log(GW_LOG_INFO, req->trace_id,
		    "access token refused: DPoP-bound token under Bearer");
		return gw_fail(req, GW_ERR_INVALID_TOKEN, NULL,
		    "a DPoP-bound token requires the DPoP scheme");
	}
	if (strcmp(req->auth_scheme, "DPoP") == 0 ||
	    gw_req_env(req, "HTTP_DPOP") != NULL || conf->require_dpop) {
		if ((e = auth_dpop(req, &c)) != GW_OK)
			return e;
		req->principal.dpop = 1;
	}
	req->principal.sub = c.sub;
	req->principal.client_id = c.client_id;
	req->principal.scopes = c.scopes;
	req->principal.jkt = c.jkt;
	*token_tenant = c.tenant;
	return GW_OK;
}

int
gw_auth_has_scope(const char *scopes, const char *scope)
{
	size_t		 n;
	const char	*p;

	if (scopes == NULL || scope == NULL || (n = strlen(scope)) == 0 ||
	    strchr(scope, ' ') != NULL)
		return 0;
	for (p = scopes; *p != '\0'; ) {
		if (strncmp(p, scope, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		p++;
	}
	return 0;
}
