/*
 * gw_etag.c: entity tags and the two preconditions that use them
 * (RFC 9110 §8.8.3, §13.1.1, §13.1.2).
 */
#include <string.h>

#include "extern.h"

/*
 * A strong validator for a response body.  The tenant and the route go
 * into the hash, NUL-separated, so two tenants (or two routes) with
 * byte-identical bodies never share a validator.  22 base64url characters
 * keep 132 bits of SHA-256: collisions stay out of reach and the header
 * stays short.
 */
void
gw_etag_body(const char *tenant, const char *route, const char *body,
    size_t len, char out[25])
{
	const void	*part[3];
	size_t		 plen[3];
	unsigned char	 md[32];
	char		 b64[64];

	/* Hashed in place: the body is the size of a page. */
	part[0] = tenant;
	plen[0] = strlen(tenant) + 1;
	part[1] = route;
	plen[1] = strlen(route) + 1;
	part[2] = body;
	plen[2] = len;
	gw_sha256_parts(part, plen, 3, md);
	gw_b64url_encode(md, sizeof(md), b64);
	out[0] = '"';
	memcpy(out + 1, b64, 22);
	out[23] = '"';
	out[24] = '\0';
}

static int
etag_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE
 * etagc      = %x21 / %x23-7E / obs-text		(RFC 9110 §8.8.3)
 * Returns the length of the tag at s (0 if there is none) and its opaque
 * part (quotes included) in *opaque / *olen.
 */
static size_t
etag_parse(const char *s, int *weak, const char **opaque, size_t *olen)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0;

	*weak = 0;
	if (p[0] == 'W' && p[1] == '/') {
		*weak = 1;
		i = 2;
	}
	if (p[i] != '"')
		return 0;
	*opaque = s + i;
	for (i++; p[i] != '"'; i++)
		if (p[i] < 0x21 || p[i] == 0x7f)
			return 0;	/* includes the NUL of an open tag */
	i++;
	*olen = (size_t)(s + i - *opaque);
	return i;
}

/*
 * Walk an If-Match / If-None-Match field: "*" or a comma-separated list of
 * entity tags (RFC 9110 §5.6.1: empty elements and OWS around commas are
 * allowed).  Returns 1 if a tag matches etag under the given comparison,
 * 0 if none does or the field is malformed anywhere: a field we cannot
 * read gives no precondition that could be true.  A NULL etag means there
 * is no current representation, which even "*" does not match.
 */
static int
etag_list(const char *field, const char *etag, int strong)
{
	const char	*p, *op, *eop;
	size_t		 n, olen, elen;
	int		 weak, eweak, match = 0;

	if (field == NULL || etag == NULL)
		return 0;
	if ((elen = etag_parse(etag, &eweak, &eop, &olen)) == 0 ||
	    etag[elen] != '\0')
		return 0;
	elen = olen;
	for (p = field; etag_ows(*p); p++)
		continue;
	if (*p == '*') {
		for (p++; etag_ows(*p); p++)
			continue;
		/* "*" matches any current representation (§13.1.1/2). */
		return *p == '\0';
	}
	for (;;) {
		while (etag_ows(*p) || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if ((n = etag_parse(p, &weak, &op, &olen)) == 0)
			return 0;
		/* §8.8.3.2: strong comparison needs both tags strong. */
		if (olen == elen && memcmp(op, eop, olen) == 0 &&
		    (!strong || (!weak && !eweak)))
			match = 1;
		for (p += n; etag_ows(*p); p++)
			continue;
		if (*p != ',' && *p != '\0')
			return 0;
	}
	return match;
}

int
gw_etag_none_match(const char *field, const char *etag)
{
	return etag_list(field, etag, 0);
}

int
gw_etag_match(const char *field, const char *etag)
{
	return etag_list(field, etag, 1);
}
