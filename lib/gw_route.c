/*
 * gw_route.c: from (method, path) to a route, and the route's query table.
 */
#include "config.h"

#include <string.h>

#include "extern.h"

/*
 * Match a path against a pattern segment by segment; "{id}" matches one
 * non-empty segment.  Returns 1 on a match and points *id at the segment
 * (in the arena).  "/jobengine/sourcesX" does not match
 * "/jobengine/sources": segments are compared whole.
 */
static int
route_path_match(struct gw_arena *a, const char *pat, const char *path,
    const char **id)
{
	const char	*ps, *pe, *s, *e;
	size_t		 plen, slen;

	*id = NULL;
	for (ps = pat, s = path; *ps != '\0' && *s != '\0'; ps = pe, s = e) {
		if (*ps != '/' || *s != '/')
			return 0;
		ps++, s++;
		pe = strchr(ps, '/');
		pe = pe ? pe : ps + strlen(ps);
		e = strchr(s, '/');
		e = e ? e : s + strlen(s);
		plen = (size_t)(pe - ps);
		slen = (size_t)(e - s);
		if (plen == 4 && strncmp(ps, "{id}", 4) == 0) {
			if (slen == 0)
				return 0;
			*id = gw_arena_strndup(a, s, slen);
		} else if (plen != slen || strncmp(ps, s, plen) != 0)
			return 0;
	}
	return *ps == '\0' && *s == '\0';
}

static unsigned
route_methods(const struct gw_route *r)
{
	/* RFC 9110 §9.3.2: HEAD wherever GET. */
	return r->methods & GW_GET ? r->methods | GW_HEAD : r->methods;
}

/*
 * Literal patterns own their paths: "/jobengine/quotas/summary" is never
 * the quota "summary", whatever the method, so once a pattern without
 * "{id}" matches, the patterns with one are not consulted.
 */
enum gw_err
gw_route_match(struct gw_req *req, const struct gw_route *routes, size_t n)
{
	const struct gw_route	*found = NULL;
	const char		*id, *found_id = NULL;
	size_t			 i;
	int			 literal, pass;
	unsigned		 want = req->method;

	req->allow = 0;
	for (pass = 0; pass < 2 && req->allow == 0; pass++) {
		for (i = 0; i < n; i++) {
			literal = strstr(routes[i].pattern, "{id}") == NULL;
			if (literal != (pass == 0))
				continue;
			if (!route_path_match(req->arena, routes[i].pattern,
			    req->path, &id))
				continue;
			req->allow |= route_methods(&routes[i]);
			if (found == NULL && (route_methods(&routes[i]) & want)) {
				found = &routes[i];
				found_id = id;
			}
		}
	}
	if (req->allow == 0)
		return gw_fail(req, GW_ERR_ROUTE_NOT_FOUND, NULL, NULL);
	if (found == NULL)
		return gw_fail(req, GW_ERR_METHOD_NOT_ALLOWED, NULL, NULL);
	req->route = found;
	req->id = found_id;
	return GW_OK;
}

static int
query_string_ok(const char *s)
{
	size_t	 n = strlen(s);

	/* Controls were refused when the query was decoded. */
	return n >= 1 && n <= 128;
}

/*
 * SPEC §7: only documented parameters, each at most once, each value of
 * its type.  limit and continuationToken are checked by gw_page, which
 * owns their error codes.
 */
enum gw_err
gw_route_check_query(struct gw_req *req)
{
	const struct gw_qparam	*q;
	const char		*k, *v;
	size_t			 i, j;
	int64_t			 t;
	int			 ok;

	for (i = 0; i < req->nquery; i++) {
		k = req->query[i].key;
		v = req->query[i].val;
		for (j = 0; j < i; j++)
			if (strcmp(req->query[j].key, k) == 0)
				return gw_fail(req, GW_ERR_INVALID_QUERY,
				    strlen(k) <= 64 ? k : NULL,
				    "query parameter '%.64s' repeated", k);
		q = req->route->query;
		for (; q != NULL && q->name != NULL; q++)
			if (strcmp(q->name, k) == 0)
				break;
		if (q == NULL || q->name == NULL)
			return gw_fail(req, GW_ERR_INVALID_QUERY,
			    strlen(k) <= 64 ? k : NULL,
			    "unknown query parameter '%.64s'", k);
		switch (q->type) {
		case GW_Q_STRING:
			ok = query_string_ok(v);
			break;
		case GW_Q_ID:
			ok = gw_valid_id(v);
			break;
		case GW_Q_BOOL:
			ok = strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
			break;
		case GW_Q_TIME:
			ok = gw_time_parse(v, &t) == 0;
			break;
		default:
			ok = 1;
			break;
		}
		if (!ok)
			return gw_fail(req, GW_ERR_INVALID_QUERY, q->name,
			    "invalid value for query parameter %s", q->name);
	}
	return GW_OK;
}
