/*
 * gw_err.c: the one table that turns an error code into an HTTP status, a
 * stable code string and the error envelope of SPEC §8.  Handlers return
 * codes; nothing else in the suite prints an error body.
 */
#include "config.h"

#include <string.h>

#include "extern.h"

static const struct gw_errinfo errs[GW_ERR__MAX] = {
	[GW_OK] = { 200, "OK", "ok" },
	[GW_ERR_ROUTE_NOT_FOUND] = { 404, "ERR_ROUTE_NOT_FOUND",
	    "no such route" },
	[GW_ERR_METHOD_NOT_ALLOWED] = { 405, "ERR_METHOD_NOT_ALLOWED",
	    "method not allowed on this route" },
	[GW_ERR_PAYLOAD_TOO_LARGE] = { 413, "ERR_PAYLOAD_TOO_LARGE",
	    "request body too large" },
	[GW_ERR_UNSUPPORTED_MEDIA_TYPE] = { 415, "ERR_UNSUPPORTED_MEDIA_TYPE",
	    "request body must be application/json" },
	[GW_ERR_AUTHENTICATION_REQUIRED] = { 401,
	    "ERR_AUTHENTICATION_REQUIRED", "authentication required" },
	[GW_ERR_INVALID_TOKEN] = { 401, "ERR_INVALID_TOKEN",
	    "invalid access token" },
	[GW_ERR_INVALID_DPOP_PROOF] = { 401, "ERR_INVALID_DPOP_PROOF",
	    "invalid DPoP proof" },
	[GW_ERR_TENANT_MISMATCH] = { 400, "ERR_TENANT_MISMATCH",
	    "tenant header missing, malformed or not granted by the token" },
	[GW_ERR_SCOPE_HEADER_FORBIDDEN] = { 403, "ERR_SCOPE_HEADER_FORBIDDEN",
	    "the X-Stella-Scopes header is not accepted" },
	[GW_ERR_SCOPE_MISMATCH] = { 403, "ERR_SCOPE_MISMATCH",
	    "the token lacks the scope this route requires" },
	[GW_ERR_OPERATOR_REASON_REQUIRED] = { 400,
	    "ERR_OPERATOR_REASON_REQUIRED",
	    "X-Stella-Operator-Reason is required on mutations" },
	[GW_ERR_INVALID_OPERATOR_TICKET] = { 400,
	    "ERR_INVALID_OPERATOR_TICKET", "malformed X-Stella-Operator-Ticket" },
	[GW_ERR_INVALID_ID] = { 400, "ERR_INVALID_ID", "malformed id" },
	[GW_ERR_INVALID_QUERY] = { 400, "ERR_INVALID_QUERY",
	    "invalid query parameter" },
	[GW_ERR_INVALID_LIMIT] = { 400, "ERR_INVALID_LIMIT",
	    "limit must be an integer from 1 to 200" },
	[GW_ERR_INVALID_BODY] = { 400, "ERR_INVALID_BODY",
	    "invalid request body" },
	[GW_ERR_INVALID_CONTINUATION_TOKEN] = { 400,
	    "ERR_INVALID_CONTINUATION_TOKEN", "invalid continuation token" },
	[GW_ERR_CONTINUATION_TOKEN_EXPIRED] = { 400,
	    "ERR_CONTINUATION_TOKEN_EXPIRED", "continuation token expired" },
	[GW_ERR_INVALID_IDEMPOTENCY_KEY] = { 400, "ERR_INVALID_IDEMPOTENCY_KEY",
	    "Idempotency-Key must be 1-255 visible ASCII characters" },
	[GW_ERR_VALIDATION] = { 422, "ERR_VALIDATION",
	    "the request is well-formed but not acceptable" },
	[GW_ERR_IDEMPOTENCY_KEY_REUSED] = { 422, "ERR_IDEMPOTENCY_KEY_REUSED",
	    "Idempotency-Key reused with a different request" },
	[GW_ERR_PRECONDITION_FAILED] = { 412, "ERR_PRECONDITION_FAILED",
	    "precondition failed" },
	[GW_ERR_CONFLICT] = { 409, "ERR_CONFLICT",
	    "conflicts with the current state" },
	[GW_ERR_IDEMPOTENCY_IN_PROGRESS] = { 409, "ERR_IDEMPOTENCY_IN_PROGRESS",
	    "a request with this Idempotency-Key is in progress" },
	[GW_ERR_SOURCE_NOT_FOUND] = { 404, "ERR_SOURCE_NOT_FOUND",
	    "source not found" },
	[GW_ERR_QUOTA_NOT_FOUND] = { 404, "ERR_QUOTA_NOT_FOUND",
	    "quota not found" },
	[GW_ERR_QUOTA_EXISTS] = { 409, "ERR_QUOTA_EXISTS",
	    "a quota for this job type exists" },
	[GW_ERR_DEADLETTER_NOT_FOUND] = { 404, "ERR_DEADLETTER_NOT_FOUND",
	    "deadletter entry not found" },
	[GW_ERR_DEADLETTER_NOT_RETRYABLE] = { 409,
	    "ERR_DEADLETTER_NOT_RETRYABLE", "deadletter entry is not retryable" },
	[GW_ERR_DEADLETTER_NOT_PENDING] = { 409, "ERR_DEADLETTER_NOT_PENDING",
	    "deadletter entry is not pending" },
	[GW_ERR_PACKRUN_NOT_FOUND] = { 404, "ERR_PACKRUN_NOT_FOUND",
	    "pack run not found" },
	[GW_ERR_PACKRUN_TERMINAL] = { 409, "ERR_PACKRUN_TERMINAL",
	    "pack run already finished" },
	[GW_ERR_PACKRUN_NOT_RETRYABLE] = { 409, "ERR_PACKRUN_NOT_RETRYABLE",
	    "pack run is not in a retryable state" },
	[GW_ERR_PACKRUN_RETRY_IN_PROGRESS] = { 409,
	    "ERR_PACKRUN_RETRY_IN_PROGRESS", "a retry of this pack run is live" },
	[GW_ERR_UNAVAILABLE] = { 503, "ERR_UNAVAILABLE",
	    "storage unavailable, retry later" },
	[GW_ERR_INTERNAL] = { 500, "ERR_INTERNAL", "internal error" },
};

const struct gw_errinfo *
gw_err_info(enum gw_err e)
{
	if ((int)e < 0 || e >= GW_ERR__MAX || errs[e].code == NULL)
		e = GW_ERR_INTERNAL;
	return &errs[e];
}

const char *
gw_err_reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

/* Advertised on every challenge: the algorithms a DPoP proof may use. */
#define DPOP_ALGS	"algs=\"ES256 RS256 PS256\""

/* RFC 6750 §3 and RFC 9449 §7.1 challenges. */
static const char *
err_challenge(const struct gw_req *req)
{
	int	 dpop = req->auth_scheme != NULL &&
		    strcmp(req->auth_scheme, "DPoP") == 0;

	switch (req->err) {
	case GW_ERR_AUTHENTICATION_REQUIRED:
		/* No error= when no credentials came (RFC 6750 §3.1). */
		return "Bearer realm=\"jobengine\", DPoP " DPOP_ALGS;
	case GW_ERR_INVALID_TOKEN:
		return dpop ? "DPoP error=\"invalid_token\"" :
		    "Bearer error=\"invalid_token\"";
	case GW_ERR_INVALID_DPOP_PROOF:
		return "DPoP error=\"invalid_dpop_proof\", " DPOP_ALGS;
	case GW_ERR_SCOPE_MISMATCH:
		if (req->route == NULL || req->route->scope == NULL)
			return NULL;
		return gw_arena_printf(req->arena,
		    "Bearer error=\"insufficient_scope\", scope=\"%s\"",
		    req->route->scope);
	default:
		return NULL;
	}
}

/* The Allow field of a 405 (RFC 9110 §10.2.1), in a fixed order. */
static const char *
err_allow(const struct gw_req *req)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} m[] = {
		{ GW_GET, "GET" }, { GW_HEAD, "HEAD" }, { GW_POST, "POST" },
		{ GW_PUT, "PUT" }, { GW_DELETE, "DELETE" },
	};
	struct gw_buf	 b;
	const char	*s;
	size_t		 i;

	gw_buf_init(&b);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		if ((req->allow & m[i].bit) == 0)
			continue;
		if (b.len > 0)
			gw_buf_puts(&b, ", ");
		gw_buf_puts(&b, m[i].name);
	}
	s = gw_arena_strdup(req->arena, b.len ? b.data : "");
	gw_buf_free(&b);
	return s;
}

void
gw_err_respond(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_errinfo	*info = gw_err_info(req->err);
	const struct gw_detail	*d;
	struct gw_json		*j;
	const char		*challenge;

	/* A handler may have started a body before it failed. */
	gw_buf_reset(&resp->body);
	resp->json_started = 0;
	resp->nhdr = 0;
	resp->etag = NULL;
	resp->status = info->status;
	resp->cache_control = "no-store";

	if ((challenge = err_challenge(req)) != NULL)
		gw_resp_header(resp, "WWW-Authenticate", challenge);
	if (req->err == GW_ERR_METHOD_NOT_ALLOWED)
		gw_resp_header(resp, "Allow", err_allow(req));
	if (req->err == GW_ERR_UNAVAILABLE)
		gw_resp_header(resp, "Retry-After", "1");

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "error");
	gw_json_obj_open(j);
	gw_json_kstr(j, "code", info->code);
	gw_json_kstr(j, "message", req->err_message != NULL ?
	    req->err_message : info->message);
	gw_json_kstr(j, "trace_id", req->trace_id);
	if (req->details != NULL) {
		gw_json_key(j, "details");
		gw_json_arr_open(j);
		for (d = req->details; d != NULL; d = d->next) {
			gw_json_obj_open(j);
			/* JSON pointers name body members; anything else
			 * is the name of a query parameter. */
			gw_json_kstr(j, d->pointer[0] == '/' ?
			    "pointer" : "parameter", d->pointer);
			gw_json_kstr(j, "message", d->message);
			gw_json_obj_close(j);
		}
		gw_json_arr_close(j);
	}
	gw_json_obj_close(j);
	gw_json_obj_close(j);
}
