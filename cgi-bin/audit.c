/*
 * jobengine-audit: GET /jobengine/audit, the tenant's audit records
 * (SPEC §11), newest first, with the chain hash of each so that an
 * operator can check a copy against `jobengine-admin audit verify`.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

static enum gw_err	audit_list(struct gw_req *, struct gw_resp *);

static const struct gw_qparam list_query[] = {
	{ "action", GW_Q_STRING },
	{ "targetType", GW_Q_STRING },
	{ "targetId", GW_Q_ID },
	{ "since", GW_Q_TIME },
	{ "limit", GW_Q_LIMIT },
	{ "continuationToken", GW_Q_TOKEN },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/audit", "orch:operate", 0, list_query, NULL,
	    audit_list },
};

/* "orch:operate orch:read" -> ["orch:operate","orch:read"] */
static void
audit_scopes_json(struct gw_json *j, struct gw_arena *a, const char *s)
{
	const char	*e;

	gw_json_arr_open(j);
	while (s != NULL && *s != '\0') {
		if ((e = strchr(s, ' ')) == NULL)
			e = s + strlen(s);
		if (e > s)
			gw_json_str(j, gw_arena_strndup(a, s, (size_t)(e - s)));
		s = *e == ' ' ? e + 1 : e;
	}
	gw_json_arr_close(j);
}

static void
audit_json(struct gw_json *j, struct gw_arena *a,
    const struct gw_audit_item *r)
{
	gw_json_obj_open(j);
	gw_json_kint(j, "seq", r->seq);
	gw_json_ktime(j, "occurredAt", r->occurred_at);
	gw_json_kstr(j, "tenantId", r->tenant_id);
	gw_json_kstr(j, "projectId", r->project_id);
	gw_json_kstr(j, "actor", r->actor);
	gw_json_kstr(j, "clientId", r->client_id);
	gw_json_key(j, "scopes");
	audit_scopes_json(j, a, r->scopes);
	gw_json_kstr(j, "action", r->action);
	gw_json_kstr(j, "targetType", r->target_type);
	gw_json_kstr(j, "targetId", r->target_id);
	gw_json_kstr(j, "reason", r->reason);
	gw_json_kstr(j, "ticket", r->ticket);
	gw_json_kstr(j, "traceId", r->trace_id);
	gw_json_kstr(j, "idempotencyKey", r->idempotency_key);
	gw_json_kint(j, "outcome", r->outcome);
	gw_json_kstr(j, "hash", r->hash);
	gw_json_obj_close(j);
}

static enum gw_err
audit_list(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_arena			*a = gw_req_arena(req);
	struct gw_audit_filter		 f;
	struct gw_page			 page;
	struct gw_audit_item		*rows;
	struct gw_json			*j;
	const char			*since, *key[1];
	char				 seq[24];
	size_t				 i, n;
	int				 more;
	enum gw_err			 err;

	memset(&f, 0, sizeof(f));
	f.tenant = who->tenant;
	f.project = who->project;
	f.action = gw_req_query(req, "action");
	f.target_type = gw_req_query(req, "targetType");
	f.target_id = gw_req_query(req, "targetId");
	/* Already checked by the route's table (GW_Q_TIME). */
	if ((since = gw_req_query(req, "since")) != NULL &&
	    gw_time_parse(since, &f.since) == -1)
		return gw_fail(req, GW_ERR_INVALID_QUERY, "since",
		    "since is an RFC 3339 UTC time");
	if ((err = gw_page_begin(req, &page)) != GW_OK)
		return err;
	if ((err = gw_store_audit_list(gw_req_store(req), a, &f, &page,
	    &rows, &n, &more)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++)
		audit_json(j, a, &rows[i]);
	gw_json_arr_close(j);
	if (n > 0) {
		snprintf(seq, sizeof(seq), "%lld", (long long)rows[n - 1].seq);
		key[0] = seq;
	}
	gw_page_end(req, j, more && n > 0, key, 1);
	gw_json_obj_close(j);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-audit", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
