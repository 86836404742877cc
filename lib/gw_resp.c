/*
 * gw_resp.c: the response a handler builds and its CGI serialisation
 * (RFC 3875 §6: a Status header, other headers, a blank line, the body).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "extern.h"

void
gw_resp_init(struct gw_resp *resp, struct gw_arena *arena)
{
	memset(resp, 0, sizeof(*resp));
	resp->arena = arena;
	resp->status = 200;
	gw_buf_init(&resp->body);
}

void
gw_resp_cleanup(struct gw_resp *resp)
{
	gw_buf_free(&resp->body);
}

struct gw_json *
gw_resp_json(struct gw_resp *resp)
{
	if (!resp->json_started) {
		gw_json_init(&resp->json, &resp->body);
		resp->json_started = 1;
	}
	return &resp->json;
}

void
gw_resp_status(struct gw_resp *resp, int status)
{
	resp->status = status;
}

void
gw_resp_header(struct gw_resp *resp, const char *name, const char *value)
{
	/* The table is sized for the headers the suite sends; more is a bug. */
	if (resp->nhdr == GW_RESP_MAXHDR)
		abort();
	resp->hdr_name[resp->nhdr] = gw_arena_strdup(resp->arena, name);
	resp->hdr_value[resp->nhdr] = gw_arena_strdup(resp->arena, value);
	resp->nhdr++;
}

void
gw_resp_etag(struct gw_resp *resp, const char *etag)
{
	resp->etag = gw_arena_strdup(resp->arena, etag);
}

void
gw_resp_cache(struct gw_resp *resp, const char *cache_control)
{
	resp->cache_control = gw_arena_strdup(resp->arena, cache_control);
}

/* "name: value\r\n" */
static void
resp_field(struct gw_buf *out, const char *name, const char *value)
{
	size_t	 n = strlen(name), v = strlen(value);

	gw_buf_reserve(out, n + v + 4);
	memcpy(out->data + out->len, name, n);
	out->len += n;
	out->data[out->len++] = ':';
	out->data[out->len++] = ' ';
	memcpy(out->data + out->len, value, v);
	out->len += v;
	out->data[out->len++] = '\r';
	out->data[out->len++] = '\n';
	out->data[out->len] = '\0';
}

/*
 * The body is omitted for HEAD (RFC 9110 §9.3.2: same header fields as
 * GET), 204 and 304 (RFC 9110 §15.4.5: a 304 ends at the header section),
 * and so are Content-Type and Content-Length of a body never sent.
 */
int
gw_resp_serialize_head(const struct gw_req *req, const struct gw_resp *resp,
    struct gw_buf *out)
{
	size_t	 i;
	int	 nobody = resp->status == 204 || resp->status == 304;

	gw_buf_printf(out, "Status: %d %s\r\n", resp->status,
	    gw_err_reason_phrase(resp->status));
	if (!nobody) {
		gw_buf_puts(out, "Content-Type: application/json\r\n");
		gw_buf_printf(out, "Content-Length: %zu\r\n", resp->body.len);
	}
	if (resp->etag != NULL)
		resp_field(out, "ETag", resp->etag);
	if (resp->cache_control != NULL)
		resp_field(out, "Cache-Control", resp->cache_control);
	for (i = 0; i < resp->nhdr; i++)
		resp_field(out, resp->hdr_name[i], resp->hdr_value[i]);
	resp_field(out, "X-Stella-Trace-Id", req->trace_id);
	gw_buf_add(out, "\r\n", 2);
	return !nobody && req->method != GW_HEAD && resp->body.len > 0;
}

void
gw_resp_serialize(const struct gw_req *req, const struct gw_resp *resp,
    struct gw_buf *out)
{
	if (gw_resp_serialize_head(req, resp, out))
		gw_buf_add(out, resp->body.data, resp->body.len);
}
