/*
 * gw_page.c: keyset pagination with signed continuation tokens (SPEC §9).
 *
 * A token is opaque to the client and carries everything the next page
 * needs, so no server state is kept.  Its bytes, before base64url:
 *
 *	version		1 byte, 0x01
 *	exp		8 bytes, big-endian seconds since the epoch
 *	binding		the first 16 bytes of gw_page_binding()
 *	nkey		1 byte, 0..GW_PAGE_MAXKEY
 *	nkey times:	length (2 bytes, big-endian), then the key's bytes
 *	mac		HMAC-SHA256(server key, everything above), 32 bytes
 *
 * Example: one key "alpha" expiring at 1795781000 is 1+8+16+1+2+5+32 = 65
 * bytes, 87 characters.  The binding ties a token to the tenant, project,
 * route and filters it was minted for, so a token replayed with another
 * tenant's header or another filter is refused before its keys are read.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define PAGE_VERSION	0x01
#define PAGE_BINDLEN	16
#define PAGE_MACLEN	32
#define PAGE_HDRLEN	(1 + 8 + PAGE_BINDLEN + 1)
#define PAGE_MAXCHARS	1024
#define PAGE_DEFLIMIT	50
#define PAGE_MAXLIMIT	200

int
gw_page_encode(const unsigned char *key, size_t keylen,
    const unsigned char binding[32], int64_t exp,
    const char *const *sortkey, int nkey, struct gw_buf *out)
{
	struct gw_buf	 raw;
	unsigned char	 hdr[PAGE_HDRLEN], len16[2], mac[PAGE_MACLEN];
	char		 text[PAGE_MAXCHARS + 1];
	uint64_t	 e = (uint64_t)exp;
	size_t		 len;
	int		 i, rc = -1;

	gw_buf_init(&raw);
	if (nkey < 0 || nkey > GW_PAGE_MAXKEY)
		goto out;
	hdr[0] = PAGE_VERSION;
	for (i = 0; i < 8; i++)
		hdr[1 + i] = (unsigned char)(e >> (56 - 8 * i));
	memcpy(hdr + 9, binding, PAGE_BINDLEN);
	hdr[PAGE_HDRLEN - 1] = (unsigned char)nkey;
	gw_buf_add(&raw, hdr, sizeof(hdr));
	for (i = 0; i < nkey; i++) {
		if (sortkey[i] == NULL || (len = strlen(sortkey[i])) > 0xffff)
			goto out;
		len16[0] = (unsigned char)(len >> 8);
		len16[1] = (unsigned char)len;
		gw_buf_add(&raw, len16, 2);
		gw_buf_add(&raw, sortkey[i], len);
	}
	gw_hmac_sha256(key, keylen, raw.data, raw.len, mac);
	gw_buf_add(&raw, mac, sizeof(mac));
	if ((len = gw_b64url_enclen(raw.len)) > PAGE_MAXCHARS)
		goto out;
	gw_b64url_encode(raw.data, raw.len, text);
	gw_buf_reset(out);
	gw_buf_add(out, text, len);
	rc = 0;
out:
	gw_buf_free(&raw);
	return rc;
}

/*
 * The checks run in the order of reliability.md §3.10, cheapest and least
 * revealing first: nothing is read from a token before its MAC and its
 * binding hold, and "expired" is only said of a token we minted for this
 * very request shape.
 */
enum gw_err
gw_page_decode(const unsigned char *key, size_t keylen,
    const unsigned char binding[32], int64_t now, const char *token,
    struct gw_arena *a, const char **sortkey, int *nkey)
{
	unsigned char	 raw[PAGE_MAXCHARS / 4 * 3 + 3], mac[PAGE_MACLEN];
	const char	*s;
	uint64_t	 e = 0;
	size_t		 len, body, off, klen;
	long		 n;
	int		 i, nk;

	*nkey = 0;
	len = strnlen(token, PAGE_MAXCHARS + 1);
	if (len == 0 || len > PAGE_MAXCHARS ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_") != len)
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	if ((n = gw_b64url_decode(token, len, raw)) < 0 ||
	    (size_t)n < PAGE_HDRLEN + PAGE_MACLEN)
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	if (raw[0] != PAGE_VERSION)
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	body = (size_t)n - PAGE_MACLEN;
	gw_hmac_sha256(key, keylen, raw, body, mac);
	if (!gw_ct_equal(mac, raw + body, PAGE_MACLEN))
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	if (!gw_ct_equal(raw + 9, binding, PAGE_BINDLEN))
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	for (i = 0; i < 8; i++)
		e = e << 8 | raw[1 + i];
	if (e > INT64_MAX || now > (int64_t)e)
		return GW_ERR_CONTINUATION_TOKEN_EXPIRED;

	if ((nk = raw[PAGE_HDRLEN - 1]) > GW_PAGE_MAXKEY)
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	off = PAGE_HDRLEN;
	for (i = 0; i < nk; i++) {
		if (body - off < 2)
			return GW_ERR_INVALID_CONTINUATION_TOKEN;
		klen = (size_t)raw[off] << 8 | raw[off + 1];
		off += 2;
		s = (const char *)raw + off;
		if (body - off < klen || memchr(s, '\0', klen) != NULL)
			return GW_ERR_INVALID_CONTINUATION_TOKEN;
		sortkey[i] = gw_arena_strndup(a, s, klen);
		off += klen;
	}
	if (off != body)
		return GW_ERR_INVALID_CONTINUATION_TOKEN;
	*nkey = nk;
	return GW_OK;
}

static int
page_kv_cmp(const struct gw_kv *x, const struct gw_kv *y)
{
	int	 c;

	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return strcmp(x->val, y->val);
}

/*
 * Every field is NUL-terminated, and their number is fixed by the field
 * count and the parameter count, so no two different requests hash the
 * same bytes: "v1" NUL tenant NUL project NUL pattern NUL, then for each
 * filter sorted by name: name NUL value NUL.  `limit` stays out so a
 * client may change its page size in the middle of a scan.
 */
void
gw_page_binding(const struct gw_req *req, unsigned char out[32])
{
	const struct gw_kv	*kv[GW_MAXQUERY], *t;
	struct gw_buf		 b;
	const char		*project, *pattern;
	size_t			 i, j, n = 0;

	for (i = 0; i < req->nquery && i < GW_MAXQUERY; i++) {
		if (strcmp(req->query[i].key, "limit") == 0 ||
		    strcmp(req->query[i].key, "continuationToken") == 0)
			continue;
		kv[n++] = &req->query[i];
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && page_kv_cmp(kv[j - 1], kv[j]) > 0; j--) {
			t = kv[j];
			kv[j] = kv[j - 1];
			kv[j - 1] = t;
		}

	project = req->principal.project ? req->principal.project : "";
	pattern = req->route != NULL ? req->route->pattern : "";
	gw_buf_init(&b);
	gw_buf_add(&b, "v1", 3);
	gw_buf_add(&b, req->principal.tenant, strlen(req->principal.tenant) + 1);
	gw_buf_add(&b, project, strlen(project) + 1);
	gw_buf_add(&b, pattern, strlen(pattern) + 1);
	for (i = 0; i < n; i++) {
		gw_buf_add(&b, kv[i]->key, strlen(kv[i]->key) + 1);
		gw_buf_add(&b, kv[i]->val, strlen(kv[i]->val) + 1);
	}
	gw_sha256(b.data, b.len, out);
	gw_buf_free(&b);
}

enum gw_err
gw_page_begin(struct gw_req *req, struct gw_page *page)
{
	const struct gw_conf	*conf = gw_req_conf(req);
	unsigned char		 binding[32];
	const char		*s, *errstr;
	enum gw_err		 err;

	memset(page, 0, sizeof(*page));
	page->limit = PAGE_DEFLIMIT;
	if ((s = gw_req_query(req, "limit")) != NULL) {
		page->limit = (int)gw_strtonum(s, 1, PAGE_MAXLIMIT, &errstr);
		if (errstr != NULL)
			return gw_fail(req, GW_ERR_INVALID_LIMIT, "limit",
			    "limit must be an integer from 1 to 200");
	}
	if ((s = gw_req_query(req, "continuationToken")) == NULL)
		return GW_OK;
	gw_page_binding(req, binding);
	err = gw_page_decode(conf->server_key, conf->server_keylen, binding,
	    req->now, s, gw_req_arena(req), page->key, &page->nkey);
	if (err == GW_ERR_CONTINUATION_TOKEN_EXPIRED)
		return gw_fail(req, err, "continuationToken",
		    "continuation token has expired");
	if (err != GW_OK)
		return gw_fail(req, err, "continuationToken",
		    "continuation token is not valid for this request");
	return GW_OK;
}

/*
 * The expiry is rounded up to the next whole hour (an exact hour stays):
 * with a TTL of 86400, pages served at 09:58:45 and at 09:12:00 both
 * carry exp = tomorrow 10:00:00, so the same data gives the same bytes
 * and the same ETag all hour long, and a token lives at most TTL + 1 h.
 */
void
gw_page_end(struct gw_req *req, struct gw_json *j, int more,
    const char *const *key, int nkey)
{
	const struct gw_conf	*conf = gw_req_conf(req);
	unsigned char		 binding[32];
	struct gw_buf		 tok;
	int64_t			 exp;

	gw_json_key(j, "continuationToken");
	if (!more) {
		gw_json_null(j);
		return;
	}
	exp = req->now + conf->token_ttl;
	if (exp % 3600 != 0)
		exp += 3600 - exp % 3600;
	gw_page_binding(req, binding);
	gw_buf_init(&tok);
	if (gw_page_encode(conf->server_key, conf->server_keylen, binding,
	    exp, key, nkey, &tok) == -1) {
		/* Sort keys too long for a token: end the list visibly in
		 * the log rather than loop or fail the whole page. */
		gw_log(GW_LOG_ERROR, gw_req_trace_id(req),
		    "continuation token over %d characters", PAGE_MAXCHARS);
		gw_json_null(j);
	} else
		gw_json_str(j, tok.data);
	gw_buf_free(&tok);
}
