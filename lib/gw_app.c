/*
 * gw_app.c: a program's life (configuration, store, keys, serve) and the
 * request pipeline of SPEC §2.  Every request passes the stages below in
 * this order and stops at the first failure; configuration tunes a
 * stage, it never removes one.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json.h>

#include "extern.h"

extern char **environ;

/*
 * SPEC §2 stage 2: "application/json", optionally with a charset of
 * utf-8, e.g. "application/json; charset=UTF-8".  Media type and
 * parameter names are case-insensitive (RFC 9110 §8.3.1).
 */
static int
app_json_media_type(const char *ct)
{
	const char	*p;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	p = ct + 16;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 1;
	if (*p++ != ';')
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "charset=", 8) != 0)
		return 0;
	p += 8;
	if (strcasecmp(p, "utf-8") == 0 || strcasecmp(p, "\"utf-8\"") == 0)
		return 1;
	return 0;
}

/*
 * Stage 2: decide on the body from CONTENT_LENGTH before reading it.  A
 * front end may stream a chunked body without CONTENT_LENGTH (Apache
 * mod_proxy_fcgi does); then the body is read to its end, one byte past
 * the limit at most, so an over-size body is still a 413.
 */
static enum gw_err
app_limits(struct gw_req *req)
{
	const char	*cl, *errstr;
	long long	 len = -1;
	long		 max = req->app->conf.max_body_bytes;
	char		 err[160];

	if ((cl = gw_req_env(req, "CONTENT_LENGTH")) != NULL && *cl != '\0') {
		len = gw_strtonum(cl, 0, LLONG_MAX, &errstr);
		if (errstr != NULL)
			return gw_fail(req, GW_ERR_INVALID_BODY, NULL,
			    "malformed Content-Length");
		if (len > max)
			return gw_fail(req, GW_ERR_PAYLOAD_TOO_LARGE, NULL,
			    "request body larger than %ld bytes", max);
	}
	if (len == 0 || (req->route->flags & GW_ROUTE_BODY) == 0)
		return GW_OK;
	if (gw_req_read_body(req, (long)len, max) != GW_OK)
		return req->err;
	if (req->bodylen == 0)
		return GW_OK;
	if (!app_json_media_type(gw_req_env(req, "CONTENT_TYPE")))
		return gw_fail(req, GW_ERR_UNSUPPORTED_MEDIA_TYPE, NULL, NULL);
	if ((req->json = gw_json_parse_object(req->body, req->bodylen,
	    err, sizeof(err))) == NULL)
		return gw_fail(req, GW_ERR_INVALID_BODY, NULL, "%s", err);
	return GW_OK;
}

/*
 * A handler was refused: its transaction is already rolled back.  The
 * refusal is audited on its own (best effort: the error the client gets
 * matters more than the record of it), and an in-flight Idempotency-Key
 * is released so that the client may retry; only 2xx responses are ever
 * stored for replay.
 */
static void
app_refused(struct gw_req *req, struct gw_idem *idem, enum gw_err err)
{
	struct gw_db	*db = req->app->store->db;
	enum gw_err	 e;

	gw_idem_abandon(req, idem);
	if ((e = gw_db_begin(db, 1)) == GW_OK) {
		if ((e = gw_audit_record(req, gw_err_info(err)->status)) ==
		    GW_OK)
			e = gw_db_commit(db);
		else
			gw_db_rollback(db);
	}
	if (e != GW_OK)
		gw_log(GW_LOG_WARN, req->trace_id, "audit: refusal of %.64s "
		    "not recorded (%s)", req->route->action != NULL ?
		    req->route->action : "?", gw_err_info(e)->code);
}

/*
 * Stage 8 for POST, PUT and DELETE (SPEC §10 Idempotency, §11): the
 * Idempotency-Key first, in its own transaction; then the handler, its
 * audit record and its stored response in one write transaction, so that
 * they commit together or not at all.  When the record or the commit
 * fails the change is rolled back and the client gets 503: a change the
 * audit log does not show must not exist.
 */
static enum gw_err
app_mutate(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_db	*db = req->app->store->db;
	struct gw_idem	 idem;
	enum gw_err	 err, e = GW_OK;
	int		 stored;

	if ((err = gw_idem_begin(req, resp, &idem)) != GW_OK ||
	    idem.replayed)
		return err;

	if (req->route->flags & GW_ROUTE_OWN_TXN) {
		if ((err = req->route->handler(req, resp)) != GW_OK) {
			/* It may have failed inside its own transaction. */
			gw_db_rollback(db);
			app_refused(req, &idem, err);
			return err;
		}
		stored = resp->status / 100 == 2;
		if (stored && (e = gw_idem_complete(req, resp, &idem)) !=
		    GW_OK)
			gw_log(GW_LOG_WARN, req->trace_id, "idempotency: "
			    "response not stored (%s)", gw_err_info(e)->code);
		if (!stored || e != GW_OK)
			gw_idem_abandon(req, &idem);
		return GW_OK;
	}

	if ((err = gw_db_begin(db, 1)) != GW_OK) {
		gw_idem_abandon(req, &idem);
		return err;
	}
	if ((err = req->route->handler(req, resp)) != GW_OK) {
		gw_db_rollback(db);
		app_refused(req, &idem, err);
		return err;
	}
	stored = resp->status / 100 == 2;
	if ((e = gw_audit_record(req, resp->status)) == GW_OK && stored)
		e = gw_idem_finish(req, resp, &idem);
	if (e == GW_OK)
		e = gw_db_commit(db);
	else
		gw_db_rollback(db);
	if (e != GW_OK) {
		gw_log(GW_LOG_ERROR, req->trace_id, "audit: %.64s rolled back: "
		    "the record or the commit failed (%s)",
		    req->route->action != NULL ? req->route->action : "?",
		    gw_err_info(e)->code);
		gw_idem_abandon(req, &idem);
		return GW_ERR_UNAVAILABLE;
	}
	if (!stored)
		gw_idem_abandon(req, &idem);
	return GW_OK;
}

/* Stage 8: reads run as they are; mutations through app_mutate. */
static enum gw_err
app_handler(struct gw_req *req, struct gw_resp *resp)
{
	if ((req->method & (GW_POST | GW_PUT | GW_DELETE)) == 0 ||
	    (req->route->flags & GW_ROUTE_PUBLIC))
		return req->route->handler(req, resp);
	return app_mutate(req, resp);
}

/* GW_ROUTE_OWN_TXN handlers: one write transaction per unit of work. */
enum gw_err
gw_txn_begin(struct gw_req *req)
{
	return gw_db_begin(req->app->store->db, 1);
}

enum gw_err
gw_txn_commit(struct gw_req *req)
{
	return gw_db_commit(req->app->store->db);
}

void
gw_txn_rollback(struct gw_req *req)
{
	gw_db_rollback(req->app->store->db);
}

static enum gw_err
app_stages(struct gw_app *app, struct gw_req *req, struct gw_resp *resp)
{
	const char	*token_tenant = NULL;
	enum gw_err	 err;
	char		 msg[256];

	if ((err = gw_route_match(req, app->def->routes,
	    app->def->nroutes)) != GW_OK)
		return err;
	if (app->store != NULL && !app->store->checked &&
	    (err = gw_store_check(app->store, msg, sizeof(msg))) != GW_OK) {
		gw_log(GW_LOG_ERROR, req->trace_id, "%s", msg);
		return gw_fail(req, GW_ERR_UNAVAILABLE, NULL, NULL);
	}
	if ((err = app_limits(req)) != GW_OK)
		return err;
	if ((req->route->flags & GW_ROUTE_PUBLIC) == 0) {
		if ((err = gw_auth_request(req, app->keys,
		    &token_tenant)) != GW_OK)
			return err;
		if ((err = gw_tenant_resolve(req, token_tenant)) != GW_OK)
			return err;
		if (!gw_auth_has_scope(req->principal.scopes,
		    req->route->scope))
			return gw_fail(req, GW_ERR_SCOPE_MISMATCH, NULL,
			    "this route requires the scope %s",
			    req->route->scope);
		if ((err = gw_tenant_operator(req)) != GW_OK)
			return err;
	}
	if (req->id != NULL && !gw_valid_id(req->id))
		return gw_fail(req, GW_ERR_INVALID_ID, NULL,
		    "ids are 1-128 characters of [A-Za-z0-9._:-]");
	if ((err = gw_req_parse_query(req)) != GW_OK)
		return err;
	if ((err = gw_route_check_query(req)) != GW_OK)
		return err;
	return app_handler(req, resp);
}

/*
 * Stage 9.  A 200 to GET or HEAD is a cacheable representation: a strong
 * ETag over tenant, route and body (or the handler's own), the private
 * cache policy, and Vary on everything that selects it.  If-None-Match
 * then turns it into a 304 with the same validators (RFC 9110 §13.1.2,
 * §15.4.5).  Everything else must not be stored.
 */
static void
app_finish(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_conf	*conf = &req->app->conf;
	const char		*inm;
	char			 etag[25];

	if ((req->method & (GW_GET | GW_HEAD)) == 0 || resp->status != 200) {
		if (resp->cache_control == NULL)
			resp->cache_control = "no-store";
		return;
	}
	if (resp->etag == NULL) {
		gw_etag_body(req->principal.tenant ? req->principal.tenant : "",
		    req->route->pattern, resp->body.data ? resp->body.data : "",
		    resp->body.len, etag);
		resp->etag = gw_arena_strdup(req->arena, etag);
	}
	if (resp->cache_control == NULL)
		resp->cache_control = gw_arena_printf(req->arena,
		    "private, max-age=%d, stale-if-error=%d",
		    conf->cache_max_age, conf->cache_stale_if_error);
	gw_resp_header(resp, "Vary",
	    "Authorization, X-Stella-Tenant, X-Stella-Project");
	if ((inm = gw_req_env(req, "HTTP_IF_NONE_MATCH")) != NULL &&
	    gw_etag_none_match(inm, resp->etag))
		resp->status = 304;
}

void
gw_app_handle(struct gw_app *app, struct gw_req *req, struct gw_resp *resp)
{
	enum gw_err	 err;

	if ((err = app_stages(app, req, resp)) != GW_OK) {
		req->err = err;
		gw_err_respond(req, resp);
		if (err == GW_ERR_INTERNAL)
			gw_log(GW_LOG_ERROR, req->trace_id,
			    "internal error on %.16s %.256s", req->method_str,
			    req->path);
		return;
	}
	app_finish(req, resp);
}

int
gw_app_main(const struct gw_app_def *def, int argc, char *argv[])
{
	struct gw_app	 app;
	char		 err[512];
	int		 rc = 1;

	memset(&app, 0, sizeof(app));
	app.def = def;
	gw_log_init(def->name, GW_LOG_INFO);
	if (argc > 1) {
		fprintf(stderr, "usage: %s\n(started by a FastCGI process "
		    "manager, or run as CGI; configuration from "
		    "JOBENGINE_GATEWAY_CONFIG)\n", argv[0]);
		return 2;
	}
	/* Before any accept: libfcgi's stdio API would replace environ. */
	if (gw_conf_load(&app.conf, NULL, environ, err, sizeof(err)) == -1) {
		gw_log(GW_LOG_ERROR, NULL, "refusing to start: %s", err);
		goto out;
	}
	gw_log_init(def->name, app.conf.log_level);
	if (gw_auth_load_jwks(app.conf.jwks_file, &app.keys, err,
	    sizeof(err)) == -1) {
		gw_log(GW_LOG_ERROR, NULL, "refusing to start: %s", err);
		goto out;
	}
	if (gw_store_open(&app.conf, &app.store, err, sizeof(err)) != GW_OK) {
		gw_log(GW_LOG_ERROR, NULL, "refusing to start: %s", err);
		goto out;
	}
	rc = gw_fcgi_serve(&app);
out:
	gw_store_close(app.store);
	gw_auth_free_jwks(app.keys);
	gw_conf_free(&app.conf);
	return rc;
}
