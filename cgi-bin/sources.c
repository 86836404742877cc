/*
 * jobengine-sources: GET /jobengine/sources and /jobengine/sources/{id}.
 * Job sources are written by the Orchestrator (or imported); this
 * program only reads them.
 */
#include "gateway.h"

static enum gw_err	sources_list(struct gw_req *, struct gw_resp *);
static enum gw_err	sources_get(struct gw_req *, struct gw_resp *);

static const struct gw_qparam list_query[] = {
	{ "sourceType", GW_Q_STRING },
	{ "enabled", GW_Q_BOOL },
	{ "limit", GW_Q_LIMIT },
	{ "continuationToken", GW_Q_TOKEN },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/sources", "orch:read", 0, list_query, NULL,
	    sources_list },
	{ GW_GET, "/jobengine/sources/{id}", "orch:read", 0, NULL, NULL,
	    sources_get },
};

static void
source_json(struct gw_json *j, const struct gw_source *s)
{
	gw_json_obj_open(j);
	gw_json_kstr(j, "sourceId", s->source_id);
	gw_json_kstr(j, "tenantId", s->tenant_id);
	gw_json_kstr(j, "projectId", s->project_id);
	gw_json_kstr(j, "name", s->name);
	gw_json_kstr(j, "sourceType", s->source_type);
	gw_json_kbool(j, "enabled", s->enabled);
	gw_json_kbool(j, "paused", s->paused);
	gw_json_kstr(j, "pauseReason", s->pause_reason);
	gw_json_ktime(j, "createdAt", s->created_at);
	gw_json_ktime(j, "updatedAt", s->updated_at);
	gw_json_obj_close(j);
}

static enum gw_err
sources_list(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_source_filter		 f;
	struct gw_page			 page;
	struct gw_source		*rows;
	struct gw_json			*j;
	const char			*enabled, *key[2];
	size_t				 i, n;
	int				 more;
	enum gw_err			 err;

	if ((err = gw_page_begin(req, &page)) != GW_OK)
		return err;
	f.tenant = who->tenant;
	f.project = who->project;
	f.source_type = gw_req_query(req, "sourceType");
	enabled = gw_req_query(req, "enabled");
	f.enabled = enabled == NULL ? -1 : enabled[0] == 't';
	if ((err = gw_store_sources_list(gw_req_store(req), gw_req_arena(req),
	    &f, &page, &rows, &n, &more)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++)
		source_json(j, &rows[i]);
	gw_json_arr_close(j);
	if (n > 0) {
		key[0] = rows[n - 1].name;
		key[1] = rows[n - 1].source_id;
	}
	gw_page_end(req, j, more && n > 0, key, 2);
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
sources_get(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_source		 s;
	enum gw_err			 err;

	if ((err = gw_store_source_get(gw_req_store(req), gw_req_arena(req),
	    who->tenant, who->project, gw_req_id(req), &s)) != GW_OK)
		return err;
	source_json(gw_resp_json(resp), &s);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-sources", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
