/*
 * gw_req.c: the request, built from CGI variables (RFC 3875 §4.1).
 *
 * The path comes from REQUEST_URI, which every front end sets the same
 * way, rather than from SCRIPT_NAME/PATH_INFO, which they split
 * differently.  Worked example, for GET /jobengine/sources/s-1?limit=5:
 *
 *	front end		SCRIPT_NAME		PATH_INFO
 *	lighttpd		/jobengine/sources	/s-1
 *	Apache mod_fcgid	/jobengine/sources	/s-1
 *	Apache proxy_fcgi	/jobengine/sources/s-1	(unset)
 *
 * while REQUEST_URI is "/jobengine/sources/s-1?limit=5" behind all three.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "extern.h"

static const struct {
	const char	*name;
	enum gw_method	 method;
} methods[] = {
	{ "GET", GW_GET }, { "HEAD", GW_HEAD }, { "POST", GW_POST },
	{ "PUT", GW_PUT }, { "DELETE", GW_DELETE },
};

/* A client's X-Stella-Trace-Id is kept when it is 1-128 of [A-Za-z0-9._:-]. */
static int
valid_trace_id(const char *s)
{
	return gw_valid_id(s);
}

void
gw_req_init(struct gw_req *req, struct gw_app *app, struct gw_arena *arena,
    char **envp, gw_read_fn readfn, void *readctx)
{
	const char	*uri, *q, *trace;
	char		 ulid[27];
	size_t		 i;

	memset(req, 0, sizeof(*req));
	req->arena = arena;
	req->app = app;
	req->envp = envp;
	req->read = readfn;
	req->read_ctx = readctx;
	req->now = gw_now();
	req->details_tail = &req->details;

	req->method_str = gw_req_env(req, "REQUEST_METHOD");
	if (req->method_str == NULL)
		req->method_str = "GET";
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(req->method_str, methods[i].name) == 0)
			req->method = methods[i].method;

	if ((uri = gw_req_env(req, "REQUEST_URI")) != NULL) {
		if ((q = strchr(uri, '?')) != NULL) {
			req->path = gw_arena_strndup(arena, uri,
			    (size_t)(q - uri));
			req->query_string = q + 1;
		} else
			req->path = uri;
	} else {
		/* Plain CGI without REQUEST_URI (RFC 3875 has none). */
		req->path = gw_arena_printf(arena, "%s%s",
		    gw_req_env(req, "SCRIPT_NAME") ?
		    gw_req_env(req, "SCRIPT_NAME") : "",
		    gw_req_env(req, "PATH_INFO") ?
		    gw_req_env(req, "PATH_INFO") : "");
		req->query_string = gw_req_env(req, "QUERY_STRING");
	}
	/* Strip a fragment a client should not have sent. */
	if ((q = strchr(req->path, '#')) != NULL)
		req->path = gw_arena_strndup(arena, req->path,
		    (size_t)(q - req->path));

	trace = gw_req_env(req, "HTTP_X_STELLA_TRACE_ID");
	if (trace != NULL && valid_trace_id(trace) &&
	    gw_req_env_count(req, "HTTP_X_STELLA_TRACE_ID") == 1)
		req->trace_id = trace;
	else {
		gw_ulid(ulid);
		req->trace_id = gw_arena_strdup(arena, ulid);
	}
	req->traceparent = gw_req_env(req, "HTTP_TRACEPARENT");
}

void
gw_req_cleanup(struct gw_req *req)
{
	if (req->json != NULL)
		json_object_put(req->json);
	req->json = NULL;
}

const char *
gw_req_env(const struct gw_req *req, const char *name)
{
	size_t	 n = strlen(name);
	char	**e;

	if (req->envp == NULL)
		return NULL;
	for (e = req->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

int
gw_req_env_count(const struct gw_req *req, const char *name)
{
	size_t	 n = strlen(name);
	char	**e;
	int	 count = 0;

	if (req->envp == NULL)
		return 0;
	for (e = req->envp; *e != NULL; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			count++;
	return count;
}

const char *
gw_req_header(const struct gw_req *req, const char *name)
{
	char	 var[128];
	size_t	 i, o = 0;

	if (strcasecmp(name, "Content-Type") == 0)
		return gw_req_env(req, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return gw_req_env(req, "CONTENT_LENGTH");
	o = (size_t)snprintf(var, sizeof(var), "HTTP_");
	for (i = 0; name[i] != '\0' && o + 1 < sizeof(var); i++)
		var[o++] = name[i] == '-' ? '_' :
		    (char)(name[i] >= 'a' && name[i] <= 'z' ?
		    name[i] - 'a' + 'A' : name[i]);
	var[o] = '\0';
	return gw_req_env(req, var);
}

enum gw_err
gw_req_read_body(struct gw_req *req, long len, long max)
{
	long	 got = 0, want = len >= 0 ? len : max + 1;
	int	 n;

	req->body = gw_arena_alloc(req->arena, (size_t)want + 1);
	while (got < want && req->read != NULL) {
		n = req->read(req->read_ctx, req->body + got,
		    (int)(want - got > 65536 ? 65536 : want - got));
		if (n <= 0)
			break;
		got += n;
	}
	req->body[got] = '\0';
	req->bodylen = (size_t)got;
	if (len < 0 && got > max)
		return gw_fail(req, GW_ERR_PAYLOAD_TOO_LARGE, NULL,
		    "request body larger than %ld bytes", max);
	if (len >= 0 && got != len)
		return gw_fail(req, GW_ERR_INVALID_BODY, NULL,
		    "request body shorter than its Content-Length");
	return GW_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode one application/x-www-form-urlencoded component.  A bad escape,
 * a NUL or any control character refuses the whole query: nothing that
 * cannot be printed reaches a handler or a log line.
 */
static char *
query_decode(struct gw_arena *a, const char *s, size_t n)
{
	char	*out, *o;
	size_t	 i;
	int	 hi, lo;

	o = out = gw_arena_alloc(a, n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return NULL;
			if ((hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return NULL;
			*o = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+')
			*o = ' ';
		else
			*o = s[i];
		if ((unsigned char)*o < 0x20 || *o == 0x7f)
			return NULL;
		o++;
	}
	*o = '\0';
	if (!gw_valid_utf8(out, (size_t)(o - out)))
		return NULL;
	return out;
}

enum gw_err
gw_req_parse_query(struct gw_req *req)
{
	const char	*p, *amp, *eq;
	char		*key, *val;
	size_t		 n;

	req->nquery = 0;
	if ((p = req->query_string) == NULL || *p == '\0')
		return GW_OK;
	for (;;) {
		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (n == 0)
			return gw_fail(req, GW_ERR_INVALID_QUERY, NULL,
			    "empty query parameter");
		if (req->nquery == GW_MAXQUERY)
			return gw_fail(req, GW_ERR_INVALID_QUERY, NULL,
			    "too many query parameters");
		eq = memchr(p, '=', n);
		key = query_decode(req->arena, p, eq ? (size_t)(eq - p) : n);
		val = eq ? query_decode(req->arena, eq + 1,
		    n - (size_t)(eq - p) - 1) : gw_arena_strdup(req->arena, "");
		if (key == NULL || val == NULL || *key == '\0')
			return gw_fail(req, GW_ERR_INVALID_QUERY, NULL,
			    "malformed query string");
		req->query[req->nquery].key = key;
		req->query[req->nquery].val = val;
		req->nquery++;
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return GW_OK;
}

enum gw_err
gw_fail(struct gw_req *req, enum gw_err err, const char *pointer,
    const char *fmt, ...)
{
	struct gw_detail	*d;
	va_list			 ap;
	char			 msg[512];

	req->err = err;
	if (fmt == NULL)
		return err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	req->err_message = gw_arena_strdup(req->arena, msg);
	if (pointer != NULL) {
		d = gw_arena_alloc(req->arena, sizeof(*d));
		d->pointer = gw_arena_strdup(req->arena, pointer);
		d->message = req->err_message;
		d->next = NULL;
		*req->details_tail = d;
		req->details_tail = &d->next;
	}
	return err;
}

struct gw_arena *
gw_req_arena(struct gw_req *req)
{
	return req->arena;
}

enum gw_method
gw_req_method(const struct gw_req *req)
{
	return req->method;
}

const char *
gw_req_path(const struct gw_req *req)
{
	return req->path;
}

const char *
gw_req_trace_id(const struct gw_req *req)
{
	return req->trace_id;
}

const struct gw_principal *
gw_req_principal(const struct gw_req *req)
{
	return &req->principal;
}

const char *
gw_req_id(const struct gw_req *req)
{
	return req->id;
}

const char *
gw_req_query(const struct gw_req *req, const char *name)
{
	size_t	 i;

	for (i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].key, name) == 0)
			return req->query[i].val;
	return NULL;
}

const void *
gw_req_body(const struct gw_req *req)
{
	return req->json;
}

const char *
gw_req_reason(const struct gw_req *req)
{
	return req->reason;
}

const char *
gw_req_ticket(const struct gw_req *req)
{
	return req->ticket;
}

const char *
gw_req_idempotency_key(const struct gw_req *req)
{
	return req->idem_key;
}

struct gw_store *
gw_req_store(struct gw_req *req)
{
	return req->app != NULL ? req->app->store : NULL;
}

const struct gw_conf *
gw_req_conf(const struct gw_req *req)
{
	return req->app != NULL ? &req->app->conf : NULL;
}
