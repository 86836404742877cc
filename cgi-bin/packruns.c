/*
 * jobengine-packruns: cancel and retry a pack run (SPEC §10), and the
 * list and detail extensions.  Pack runs are written by the Orchestrator
 * (or imported); this program cancels them and starts their retries.
 *
 * Both mutations run in the pipeline's transaction with their audit
 * record.  The record's target is the run named in the path: a retry is
 * recorded as "packRun.retry" of the original, and the new run, whose
 * retryOf names the original, is the response.  Canceling an already
 * canceled run changes nothing but is still recorded: the record says
 * that an operator asked, and when.
 */
#include <stdio.h>

#include "gateway.h"

static enum gw_err	packruns_list(struct gw_req *, struct gw_resp *);
static enum gw_err	packruns_get(struct gw_req *, struct gw_resp *);
static enum gw_err	packruns_cancel(struct gw_req *, struct gw_resp *);
static enum gw_err	packruns_retry(struct gw_req *, struct gw_resp *);

static const struct gw_qparam list_query[] = {
	{ "status", GW_Q_STRING },
	{ "packId", GW_Q_ID },
	{ "limit", GW_Q_LIMIT },
	{ "continuationToken", GW_Q_TOKEN },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/pack-runs", "orch:read", 0, list_query, NULL,
	    packruns_list },
	{ GW_GET, "/jobengine/pack-runs/{id}", "orch:read", 0, NULL, NULL,
	    packruns_get },
	{ GW_POST, "/jobengine/pack-runs/{id}/cancel", "orch:operate", 0,
	    NULL, "packRun.cancel", packruns_cancel },
	{ GW_POST, "/jobengine/pack-runs/{id}/retry", "orch:backfill", 0,
	    NULL, "packRun.retry", packruns_retry },
};

static void
packrun_json(struct gw_json *j, const struct gw_packrun *r)
{
	gw_json_obj_open(j);
	gw_json_kstr(j, "packRunId", r->pack_run_id);
	gw_json_kstr(j, "tenantId", r->tenant_id);
	gw_json_kstr(j, "projectId", r->project_id);
	gw_json_kstr(j, "packId", r->pack_id);
	gw_json_kstr(j, "packVersion", r->pack_version);
	gw_json_kstr(j, "status", r->status);
	gw_json_kint(j, "attempt", r->attempt);
	gw_json_kstr(j, "retryOf", r->retry_of);
	gw_json_kstr(j, "reason", r->reason);
	gw_json_ktime(j, "createdAt", r->created_at);
	gw_json_ktime(j, "startedAt", r->started_at);
	gw_json_ktime(j, "finishedAt", r->finished_at);
	gw_json_ktime(j, "updatedAt", r->updated_at);
	gw_json_kstr(j, "canceledBy", r->canceled_by);
	gw_json_obj_close(j);
}

static enum gw_err
packruns_list(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_packrun_filter	 f;
	struct gw_page			 page;
	struct gw_packrun		*rows;
	struct gw_json			*j;
	const char			*key[2];
	char				 created[24];
	size_t				 i, n;
	int				 more;
	enum gw_err			 err;

	f.tenant = who->tenant;
	f.project = who->project;
	f.status = gw_req_query(req, "status");
	f.pack_id = gw_req_query(req, "packId");
	if (f.status != NULL && !gw_packrun_status_valid(f.status))
		return gw_fail(req, GW_ERR_INVALID_QUERY, "status",
		    "status is one of pending, scheduled, running, succeeded, "
		    "failed, canceled, timed_out");
	if ((err = gw_page_begin(req, &page)) != GW_OK)
		return err;
	if ((err = gw_store_packruns_list(gw_req_store(req),
	    gw_req_arena(req), &f, &page, &rows, &n, &more)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++)
		packrun_json(j, &rows[i]);
	gw_json_arr_close(j);
	if (n > 0) {
		snprintf(created, sizeof(created), "%lld",
		    (long long)rows[n - 1].created_at);
		key[0] = created;
		key[1] = rows[n - 1].pack_run_id;
	}
	gw_page_end(req, j, more && n > 0, key, 2);
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
packruns_get(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_packrun		 r;
	enum gw_err			 err;

	if ((err = gw_store_packrun_get(gw_req_store(req), gw_req_arena(req),
	    who->tenant, who->project, gw_req_id(req), &r)) != GW_OK)
		return err;
	packrun_json(gw_resp_json(resp), &r);
	return GW_OK;
}

static enum gw_err
packruns_cancel(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_packrun		 r;
	enum gw_err			 err;
	int				 changed;

	if ((err = gw_store_packrun_cancel(gw_req_store(req),
	    gw_req_arena(req), who->tenant, who->project, gw_req_id(req),
	    gw_req_actor(req), gw_now(), &r, &changed)) != GW_OK)
		return err;
	packrun_json(gw_resp_json(resp), &r);
	return GW_OK;
}

static enum gw_err
packruns_retry(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_packrun		 r;
	enum gw_err			 err;

	if ((err = gw_store_packrun_retry(gw_req_store(req),
	    gw_req_arena(req), who->tenant, who->project, gw_req_id(req),
	    gw_now(), &r)) != GW_OK)
		return err;
	gw_resp_status(resp, 201);
	gw_resp_header(resp, "Location", gw_arena_printf(gw_req_arena(req),
	    "/jobengine/pack-runs/%s", r.pack_run_id));
	packrun_json(gw_resp_json(resp), &r);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-packruns", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
