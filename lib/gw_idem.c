/*
 * gw_idem.c: Idempotency-Key on POST (SPEC §10; the semantics of
 * draft-ietf-httpapi-idempotency-key-header-07 §2.6; docs/idempotency.md).
 *
 * The pipeline (gw_app.c, stage 8) calls gw_idem_begin before the handler
 * and gw_idem_finish inside the handler's transaction, so the stored
 * response commits together with the change it describes: a worker that
 * dies in between leaves either both or neither.  What it can leave is an
 * in-flight row without a response; that row holds the key for its lease
 * (60 s) and is then taken over by the next request with the key.
 *
 * The fingerprint is the SHA-256 of the raw body bytes, not of the parsed
 * JSON: two bodies that differ only in white space are different requests
 * to a client that signs or logs them, and the draft leaves the choice to
 * the server.
 */
#include <string.h>

#include "extern.h"

static int64_t	gw_idem_last_purge;

static void
gw_idem_hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static void
gw_idem_key_of(const struct gw_req *req, struct gw_idem_key *k)
{
	k->tenant = req->principal.tenant;
	k->key = req->idem_key;
	k->method = req->method_str;
	k->path = req->path;
}

/*
 * The stored header lines ("Name: value\n") back into the response, in
 * the order the handler set them, so that the replay serialises to the
 * same bytes.
 */
static void
gw_idem_replay(struct gw_req *req, struct gw_resp *resp,
    const struct gw_idem_rec *r)
{
	const char	*p, *nl, *colon;
	char		*name;

	resp->status = r->status;
	for (p = r->headers != NULL ? r->headers : ""; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if ((colon = memchr(p, ':', (size_t)(nl - p))) == NULL ||
		    colon[1] != ' ')
			continue;
		name = gw_arena_strndup(req->arena, p, (size_t)(colon - p));
		if (strcmp(name, "ETag") == 0)
			resp->etag = gw_arena_strndup(req->arena, colon + 2,
			    (size_t)(nl - colon - 2));
		else
			gw_resp_header(resp, name, gw_arena_strndup(req->arena,
			    colon + 2, (size_t)(nl - colon - 2)));
	}
	gw_buf_reset(&resp->body);
	if (r->body != NULL)
		gw_buf_puts(&resp->body, r->body);
	resp->json_started = 1;
	gw_resp_header(resp, "Idempotent-Replayed", "true");
}

/* One look at the key, under the write lock.  *again: lost a race on
 * PostgreSQL, read again. */
static enum gw_err
gw_idem_try(struct gw_req *req, struct gw_resp *resp, struct gw_idem *idem,
    int *again)
{
	struct gw_store		*s = req->app->store;
	struct gw_idem_rec	 r;
	enum gw_err		 e;
	int			 found, taken;

	*again = 0;
	if (req->now - gw_idem_last_purge >= GW_IDEM_PURGE_INTERVAL) {
		/* A failed purge only leaves rows for the next one. */
		if (gw_store_idem_purge(s, req->now) == GW_OK)
			gw_idem_last_purge = req->now;
	}
	if ((e = gw_store_idem_get(s, req->arena, &idem->key, &r,
	    &found)) != GW_OK)
		return e;
	if (found && r.expires_at > req->now) {
		if (strcmp(r.fingerprint, idem->fingerprint) != 0)
			return gw_fail(req, GW_ERR_IDEMPOTENCY_KEY_REUSED, NULL,
			    "this Idempotency-Key was used with another "
			    "request body");
		if (!r.done)
			return gw_fail(req, GW_ERR_IDEMPOTENCY_IN_PROGRESS,
			    NULL, "a request with this Idempotency-Key is "
			    "still in progress");
		gw_idem_replay(req, resp, &r);
		idem->replayed = 1;
		return GW_OK;
	}
	if ((e = gw_store_idem_start(s, &idem->key, idem->fingerprint,
	    req->now, req->now + GW_IDEM_LEASE, &taken)) != GW_OK)
		return e;
	if (!taken)
		*again = 1;
	else
		idem->started = 1;
	return GW_OK;
}

enum gw_err
gw_idem_begin(struct gw_req *req, struct gw_resp *resp, struct gw_idem *idem)
{
	struct gw_db	*db = req->app->store->db;
	unsigned char	 md[32];
	enum gw_err	 e;
	int		 again, tries;

	memset(idem, 0, sizeof(*idem));
	if (req->method != GW_POST || req->idem_key == NULL)
		return GW_OK;
	gw_idem_key_of(req, &idem->key);
	gw_sha256(req->body != NULL ? req->body : "", req->bodylen, md);
	gw_idem_hex(md, sizeof(md), idem->fingerprint);

	for (tries = 0; tries < 3; tries++) {
		if ((e = gw_db_begin(db, 1)) != GW_OK)
			return e;
		if ((e = gw_idem_try(req, resp, idem, &again)) != GW_OK) {
			gw_db_rollback(db);
			/* A refusal must not look like a replay. */
			idem->replayed = 0;
			return e;
		}
		if (again) {
			gw_db_rollback(db);
			continue;
		}
		if ((e = gw_db_commit(db)) != GW_OK) {
			idem->started = idem->replayed = 0;
			return e;
		}
		return GW_OK;
	}
	return gw_fail(req, GW_ERR_UNAVAILABLE, NULL,
	    "the Idempotency-Key is contended, try again");
}

enum gw_err
gw_idem_finish(struct gw_req *req, const struct gw_resp *resp,
    const struct gw_idem *idem)
{
	struct gw_buf	 h;
	size_t		 i;
	enum gw_err	 e;

	if (!idem->started)
		return GW_OK;
	gw_buf_init(&h);
	if (resp->etag != NULL)
		gw_buf_printf(&h, "ETag: %s\n", resp->etag);
	for (i = 0; i < resp->nhdr; i++)
		gw_buf_printf(&h, "%s: %s\n", resp->hdr_name[i],
		    resp->hdr_value[i]);
	e = gw_store_idem_finish(req->app->store, &idem->key,
	    idem->fingerprint, resp->status, h.data != NULL ? h.data : "",
	    resp->body.data != NULL ? resp->body.data : "", req->now,
	    req->now + GW_IDEM_TTL);
	gw_buf_free(&h);
	return e;
}

void
gw_idem_abandon(struct gw_req *req, struct gw_idem *idem)
{
	struct gw_db	*db = req->app->store->db;
	enum gw_err	 e;

	if (!idem->started)
		return;
	idem->started = 0;
	if ((e = gw_db_begin(db, 1)) == GW_OK) {
		if ((e = gw_store_idem_drop(req->app->store, &idem->key,
		    idem->fingerprint)) == GW_OK)
			e = gw_db_commit(db);
		else
			gw_db_rollback(db);
	}
	if (e != GW_OK)
		gw_log(GW_LOG_WARN, req->trace_id, "idempotency: cannot release "
		    "the key (%s); it is held until its lease ends",
		    gw_err_info(e)->code);
}

enum gw_err
gw_idem_complete(struct gw_req *req, const struct gw_resp *resp,
    struct gw_idem *idem)
{
	struct gw_db	*db = req->app->store->db;
	enum gw_err	 e;

	if (!idem->started)
		return GW_OK;
	if ((e = gw_db_begin(db, 1)) != GW_OK)
		return e;
	if ((e = gw_idem_finish(req, resp, idem)) != GW_OK) {
		gw_db_rollback(db);
		return e;
	}
	if ((e = gw_db_commit(db)) == GW_OK)
		idem->started = 0;
	return e;
}
