/*
 * jobengine-jobs: GET /jobengine/jobs/summary.  Jobs are written by the
 * Orchestrator (or imported, or created by a deadletter replay); this
 * program only counts them, from the maintained job_counts, so a summary
 * costs the same at 10 000 and at 1 000 000 jobs.
 */
#include "gateway.h"

static enum gw_err	jobs_summary(struct gw_req *, struct gw_resp *);

static const struct gw_qparam summary_query[] = {
	{ "jobType", GW_Q_STRING },
	{ "sourceId", GW_Q_ID },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/jobs/summary", "orch:read", 0, summary_query,
	    NULL, jobs_summary },
};

/* "byStatus" with all eight statuses, in the order of SPEC §10, zeros
 * included, so a client never has to guess a missing member. */
static void
counts_json(struct gw_json *j, const struct gw_job_counts *c)
{
	int	 i;

	gw_json_kint(j, "total", c->total);
	gw_json_key(j, "byStatus");
	gw_json_obj_open(j);
	for (i = 0; i < GW_JOB_NSTATUS; i++)
		gw_json_kint(j, gw_job_statuses[i], c->by_status[i]);
	gw_json_obj_close(j);
}

static enum gw_err
jobs_summary(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_job_filter		 f;
	struct gw_job_counts		 total, *types;
	struct gw_json			*j;
	size_t				 i, n;
	enum gw_err			 err;

	f.tenant = who->tenant;
	f.project = who->project;
	f.job_type = gw_req_query(req, "jobType");
	f.source_id = gw_req_query(req, "sourceId");
	if (f.job_type != NULL && !gw_body_valid_job_type(f.job_type))
		return gw_fail(req, GW_ERR_INVALID_QUERY, "jobType",
		    "jobType must match [a-z0-9][a-z0-9._-]{0,63}");
	if ((err = gw_store_jobs_summary(gw_req_store(req), gw_req_arena(req),
	    &f, &total, &types, &n)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	counts_json(j, &total);
	gw_json_key(j, "byJobType");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++) {
		gw_json_obj_open(j);
		gw_json_kstr(j, "jobType", types[i].job_type);
		counts_json(j, &types[i]);
		gw_json_obj_close(j);
	}
	gw_json_arr_close(j);
	gw_json_obj_close(j);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-jobs", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
