/*
 * gw_tenant.c: the tenant context (SPEC §4) and the operator audit
 * headers of mutations (SPEC §6).
 *
 * Header values arrive as CGI variables.  A front end may pass a repeated
 * header as two variables or fold it into one with commas (RFC 3875
 * §4.1.18), so a repeat or a comma in a single-valued header is refused:
 * otherwise the gateway and a proxy could each read a different tenant.
 */
#include <string.h>

#include "extern.h"

#define TENANT_MAXREASON	256	/* bytes */
#define TENANT_MAXTICKET	128
#define TENANT_MAXIDEM		255

/*
 * One occurrence of a single-valued header: 1 and *out when present once,
 * 0 when absent, -1 when repeated or folded.
 */
static int
tenant_header(const struct gw_req *req, const char *var, const char **out)
{
	const char	*v;

	*out = NULL;
	if ((v = gw_req_env(req, var)) == NULL)
		return 0;
	if (gw_req_env_count(req, var) > 1 || strchr(v, ',') != NULL)
		return -1;
	*out = v;
	return 1;
}

/*
 * Narrow the granted scopes to those also named in X-Stella-Scopes; the
 * header can never add one.  Both lists are space-separated; the result
 * keeps the granted list's (sorted) order.
 */
static const char *
tenant_narrow(struct gw_arena *arena, const char *granted, const char *hdr)
{
	struct gw_buf	 b;
	const char	*p, *e, *out;
	char		*w;

	gw_buf_init(&b);
	for (p = granted; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, " ");
		w = gw_arena_strndup(arena, p, (size_t)(e - p));
		if (*w != '\0' && gw_auth_has_scope(hdr, w)) {
			if (b.len > 0)
				gw_buf_putc(&b, ' ');
			gw_buf_puts(&b, w);
		}
	}
	out = gw_arena_strndup(arena, b.data != NULL ? b.data : "", b.len);
	gw_buf_free(&b);
	return out;
}

enum gw_err
gw_tenant_resolve(struct gw_req *req, const char *token_tenant)
{
	const struct gw_conf	*conf = gw_req_conf(req);
	const char		*t1, *t2, *tenant, *project, *scopes;
	int			 r1, r2, r;

	r1 = tenant_header(req, "HTTP_X_STELLA_TENANT", &t1);
	r2 = tenant_header(req, "HTTP_X_STELLAOPS_TENANT", &t2);
	if (r1 == -1 || r2 == -1)
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Tenant must appear once with one value");
	if (t1 != NULL && t2 != NULL && strcmp(t1, t2) != 0)
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Tenant and X-StellaOps-Tenant differ");
	if ((tenant = t1 != NULL ? t1 : t2) == NULL)
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Tenant is required");
	if (!gw_valid_tenant(tenant))
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Tenant must be 1-64 characters of "
		    "[A-Za-z0-9._-]");
	/* A token without a tenant claim is valid for no tenant, not for
	 * every tenant. */
	if (token_tenant == NULL)
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "the access token carries no tenant");
	if (strcmp(token_tenant, tenant) != 0)
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Tenant does not match the access token");

	if ((r = tenant_header(req, "HTTP_X_STELLA_PROJECT", &project)) == -1 ||
	    (r == 1 && !gw_valid_tenant(project)))
		return gw_fail(req, GW_ERR_TENANT_MISMATCH, NULL,
		    "X-Stella-Project must appear once and be 1-64 "
		    "characters of [A-Za-z0-9._-]");

	if ((scopes = gw_req_env(req, "HTTP_X_STELLA_SCOPES")) != NULL) {
		if (conf == NULL || !conf->allow_scope_header)
			return gw_fail(req, GW_ERR_SCOPE_HEADER_FORBIDDEN, NULL,
			    "X-Stella-Scopes is not accepted here");
		if (gw_req_env_count(req, "HTTP_X_STELLA_SCOPES") > 1 ||
		    strchr(scopes, ',') != NULL)
			return gw_fail(req, GW_ERR_SCOPE_HEADER_FORBIDDEN, NULL,
			    "X-Stella-Scopes must appear once");
		req->principal.scopes = tenant_narrow(req->arena,
		    req->principal.scopes, scopes);
	}
	req->principal.tenant = tenant;
	req->principal.project = project;
	return GW_OK;
}

/*
 * No control characters: C0, DEL and the C1 range U+0080-U+009F (UTF-8
 * 0xC2 0x80-0x9F), so a reason cannot forge a log line (CWE-117).
 */
static int
tenant_valid_reason(const char *s)
{
	size_t			 n = strlen(s), i;
	const unsigned char	*p = (const unsigned char *)s;

	if (n == 0 || n > TENANT_MAXREASON || !gw_valid_utf8(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

static int
tenant_valid_chars(const char *s, size_t max, const char *extra)
{
	size_t		 n;
	unsigned char	 c;

	for (n = 0; (c = (unsigned char)s[n]) != '\0'; n++) {
		if (n == max)
			return 0;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (extra == NULL ? (c < 0x21 || c > 0x7e) :
		    strchr(extra, c) == NULL)
			return 0;
	}
	return n > 0;
}

enum gw_err
gw_tenant_operator(struct gw_req *req)
{
	const char	*reason, *ticket, *idem = NULL;

	if (req->method != GW_POST && req->method != GW_PUT &&
	    req->method != GW_DELETE)
		return GW_OK;
	if (gw_req_env_count(req, "HTTP_X_STELLA_OPERATOR_REASON") > 1 ||
	    (reason = gw_req_env(req, "HTTP_X_STELLA_OPERATOR_REASON")) ==
	    NULL || !tenant_valid_reason(reason))
		return gw_fail(req, GW_ERR_OPERATOR_REASON_REQUIRED, NULL,
		    "X-Stella-Operator-Reason must be 1-256 bytes of UTF-8 "
		    "without control characters");
	if (tenant_header(req, "HTTP_X_STELLA_OPERATOR_TICKET", &ticket) ==
	    -1 || (ticket != NULL &&
	    !tenant_valid_chars(ticket, TENANT_MAXTICKET, "._:/#-")))
		return gw_fail(req, GW_ERR_INVALID_OPERATOR_TICKET, NULL,
		    "X-Stella-Operator-Ticket must be 1-128 characters of "
		    "[A-Za-z0-9._:/#-]");
	/* Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): any
	 * visible ASCII, so a comma is a legal character here; only a repeat
	 * is ambiguous. */
	if (req->method == GW_POST &&
	    (gw_req_env_count(req, "HTTP_IDEMPOTENCY_KEY") > 1 ||
	    ((idem = gw_req_env(req, "HTTP_IDEMPOTENCY_KEY")) != NULL &&
	    !tenant_valid_chars(idem, TENANT_MAXIDEM, NULL))))
		return gw_fail(req, GW_ERR_INVALID_IDEMPOTENCY_KEY, NULL,
		    "Idempotency-Key must be 1-255 characters of visible "
		    "ASCII");
	req->reason = reason;
	req->ticket = ticket;
	req->idem_key = idem;
	return GW_OK;
}
