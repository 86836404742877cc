/*
 * jobengine-quotas: the admission quotas of a tenant (SPEC §10): list,
 * read, create, replace the limits, delete, pause, resume, and the
 * backpressure summary.  Every route needs orch:quota, reads included.
 *
 * A quota's ETag is derived from its version (gw_store_quota_etag), so a
 * GET, a mutation's answer and the If-Match of the next PUT or DELETE all
 * speak of the same thing: "the quota as it was at version N".
 */
#include <stdio.h>

#include "gateway.h"

static enum gw_err	quotas_list(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_create(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_summary(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_get(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_put(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_delete(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_pause(struct gw_req *, struct gw_resp *);
static enum gw_err	quotas_resume(struct gw_req *, struct gw_resp *);

static const struct gw_qparam list_query[] = {
	{ "jobType", GW_Q_STRING },
	{ "paused", GW_Q_BOOL },
	{ "limit", GW_Q_LIMIT },
	{ "continuationToken", GW_Q_TOKEN },
	{ NULL, 0 },
};

/* The summary literal goes before {id} (SPEC §1). */
static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/quotas", "orch:quota", 0, list_query, NULL,
	    quotas_list },
	{ GW_POST, "/jobengine/quotas", "orch:quota", GW_ROUTE_BODY, NULL,
	    "quota.create", quotas_create },
	{ GW_GET, "/jobengine/quotas/summary", "orch:quota", 0, NULL, NULL,
	    quotas_summary },
	{ GW_GET, "/jobengine/quotas/{id}", "orch:quota", 0, NULL, NULL,
	    quotas_get },
	{ GW_PUT, "/jobengine/quotas/{id}", "orch:quota", GW_ROUTE_BODY, NULL,
	    "quota.update", quotas_put },
	{ GW_DELETE, "/jobengine/quotas/{id}", "orch:quota", 0, NULL,
	    "quota.delete", quotas_delete },
	{ GW_POST, "/jobengine/quotas/{id}/pause", "orch:quota", 0, NULL,
	    "quota.pause", quotas_pause },
	{ GW_POST, "/jobengine/quotas/{id}/resume", "orch:quota", 0, NULL,
	    "quota.resume", quotas_resume },
};

/* Bodies (SPEC §10).  The ranges are types: out of range is a 400; burst
 * above maxPerHour is a 422 (quota_limits). */
#define BODY_MAX_ACTIVE \
	{ "maxActive", GW_B_INT, GW_B_REQUIRED, 1, 100000, NULL }
#define BODY_MAX_PER_HOUR \
	{ "maxPerHour", GW_B_INT, GW_B_REQUIRED, 1, 10000000, NULL }
#define BODY_BURST \
	{ "burst", GW_B_INT, 0, 1, 10000000, NULL }

static const struct gw_bmember create_body[] = {
	{ "jobType", GW_B_JOB_TYPE, GW_B_REQUIRED, 0, 0, NULL },
	BODY_MAX_ACTIVE,
	BODY_MAX_PER_HOUR,
	BODY_BURST,
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct gw_bmember put_body[] = {
	BODY_MAX_ACTIVE,
	BODY_MAX_PER_HOUR,
	BODY_BURST,
	{ NULL, 0, 0, 0, 0, NULL },
};

static void
quota_json(struct gw_json *j, const struct gw_quota *q)
{
	gw_json_obj_open(j);
	gw_json_kstr(j, "quotaId", q->quota_id);
	gw_json_kstr(j, "tenantId", q->tenant_id);
	gw_json_kstr(j, "projectId", q->project_id);
	gw_json_kstr(j, "jobType", q->job_type);
	gw_json_kint(j, "maxActive", q->max_active);
	gw_json_kint(j, "maxPerHour", q->max_per_hour);
	gw_json_kint(j, "burst", q->burst);
	gw_json_kbool(j, "paused", q->paused);
	gw_json_kstr(j, "pauseReason", q->pause_reason);
	gw_json_kstr(j, "pauseTicket", q->pause_ticket);
	gw_json_ktime(j, "pausedAt", q->paused_at);
	gw_json_kstr(j, "pausedBy", q->paused_by);
	gw_json_kint(j, "version", q->version);
	gw_json_ktime(j, "createdAt", q->created_at);
	gw_json_ktime(j, "updatedAt", q->updated_at);
	gw_json_kstr(j, "updatedBy", q->updated_by);
	gw_json_obj_close(j);
}

/* The quota as the answer: its body and its version's ETag. */
static enum gw_err
quota_answer(struct gw_resp *resp, const struct gw_quota *q)
{
	char	 etag[GW_QUOTA_ETAG_MAX];

	gw_store_quota_etag(q, etag);
	gw_resp_etag(resp, etag);
	quota_json(gw_resp_json(resp), q);
	return GW_OK;
}

static void
quota_key(struct gw_req *req, struct gw_quota_key *k)
{
	const struct gw_principal	*who = gw_req_principal(req);

	k->tenant = who->tenant;
	k->project = who->project;
	k->id = gw_req_id(req);
}

static void
quota_change(struct gw_req *req, struct gw_quota_change *c)
{
	c->actor = gw_req_actor(req);
	c->reason = gw_req_reason(req);
	c->ticket = gw_req_ticket(req);
	c->now = gw_now();
}

/*
 * The limits of a body checked against t, whose last three members are
 * maxActive, maxPerHour and burst (at base).  SPEC §10: burst defaults to
 * maxActive capped at maxPerHour, and may not exceed maxPerHour.
 */
static enum gw_err
quota_limits(struct gw_req *req, const struct gw_bmember *t,
    struct gw_bval *v, size_t base, struct gw_quota_limits *lim)
{
	enum gw_err	 err;

	if ((err = gw_body_check(req, t, v)) != GW_OK)
		return err;
	lim->max_active = v[base].i;
	lim->max_per_hour = v[base + 1].i;
	if (v[base + 2].present) {
		lim->burst = v[base + 2].i;
		if (lim->burst > lim->max_per_hour)
			return gw_fail(req, GW_ERR_VALIDATION, "/burst",
			    "burst (%lld) must not exceed maxPerHour (%lld)",
			    (long long)lim->burst,
			    (long long)lim->max_per_hour);
	} else
		lim->burst = lim->max_active < lim->max_per_hour ?
		    lim->max_active : lim->max_per_hour;
	return GW_OK;
}

static enum gw_err
quotas_list(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_quota_filter		 f;
	struct gw_page			 page;
	struct gw_quota			*rows;
	struct gw_json			*j;
	const char			*paused, *key[2];
	size_t				 i, n;
	int				 more;
	enum gw_err			 err;

	f.tenant = who->tenant;
	f.project = who->project;
	f.job_type = gw_req_query(req, "jobType");
	if (f.job_type != NULL && !gw_body_valid_job_type(f.job_type))
		return gw_fail(req, GW_ERR_INVALID_QUERY, "jobType",
		    "invalid value for query parameter jobType");
	paused = gw_req_query(req, "paused");
	f.paused = paused == NULL ? -1 : paused[0] == 't';
	if ((err = gw_page_begin(req, &page)) != GW_OK)
		return err;
	if ((err = gw_store_quotas_list(gw_req_store(req), gw_req_arena(req),
	    &f, &page, &rows, &n, &more)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++)
		quota_json(j, &rows[i]);
	gw_json_arr_close(j);
	if (n > 0) {
		key[0] = rows[n - 1].job_type;
		key[1] = rows[n - 1].quota_id;
	}
	gw_page_end(req, j, more && n > 0, key, 2);
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
quotas_create(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_bval			 v[4];
	struct gw_quota_limits		 lim;
	struct gw_quota_change		 c;
	struct gw_quota			 q;
	char				 id[37];
	enum gw_err			 err;

	if ((err = quota_limits(req, create_body, v, 1, &lim)) != GW_OK)
		return err;
	gw_uuidv7(id);
	q.quota_id = gw_arena_strdup(gw_req_arena(req), id);
	q.tenant_id = who->tenant;
	/* SPEC §4: a created row is stamped with X-Stella-Project. */
	q.project_id = who->project;
	q.job_type = v[0].s;
	quota_change(req, &c);
	if ((err = gw_store_quota_create(gw_req_store(req), &q, &lim,
	    &c)) != GW_OK) {
		if (err == GW_ERR_QUOTA_EXISTS)
			return gw_fail(req, err, NULL, "a quota for jobType %s "
			    "already exists in this %s", q.job_type,
			    q.project_id != NULL ? "project" : "tenant");
		return err;
	}
	gw_audit_target(req, "quota", q.quota_id);
	gw_resp_status(resp, 201);
	gw_resp_header(resp, "Location", gw_arena_printf(gw_req_arena(req),
	    "/jobengine/quotas/%s", q.quota_id));
	return quota_answer(resp, &q);
}

static enum gw_err
quotas_get(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_quota_key	 k;
	struct gw_quota		 q;
	enum gw_err		 err;

	quota_key(req, &k);
	if ((err = gw_store_quota_get(gw_req_store(req), gw_req_arena(req),
	    &k, &q)) != GW_OK)
		return err;
	return quota_answer(resp, &q);
}

static enum gw_err
quotas_put(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_bval		 v[3];
	struct gw_quota_limits	 lim;
	struct gw_quota_change	 c;
	struct gw_quota_key	 k;
	struct gw_quota		 q;
	enum gw_err		 err;

	if ((err = quota_limits(req, put_body, v, 0, &lim)) != GW_OK)
		return err;
	quota_key(req, &k);
	quota_change(req, &c);
	if ((err = gw_store_quota_update(gw_req_store(req), gw_req_arena(req),
	    &k, gw_req_header(req, "If-Match"), &lim, &c, &q)) != GW_OK)
		return err;
	return quota_answer(resp, &q);
}

static enum gw_err
quotas_delete(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_quota_key	 k;
	enum gw_err		 err;

	quota_key(req, &k);
	if ((err = gw_store_quota_delete(gw_req_store(req), gw_req_arena(req),
	    &k, gw_req_header(req, "If-Match"))) != GW_OK)
		return err;
	gw_resp_status(resp, 204);
	return GW_OK;
}

static enum gw_err
quota_pause_resume(struct gw_req *req, struct gw_resp *resp, int pause)
{
	struct gw_quota_change	 c;
	struct gw_quota_key	 k;
	struct gw_quota		 q;
	enum gw_err		 err;
	int			 changed;

	quota_key(req, &k);
	quota_change(req, &c);
	if ((err = gw_store_quota_pause(gw_req_store(req), gw_req_arena(req),
	    &k, pause, &c, &q, &changed)) != GW_OK)
		return err;
	return quota_answer(resp, &q);
}

static enum gw_err
quotas_pause(struct gw_req *req, struct gw_resp *resp)
{
	return quota_pause_resume(req, resp, 1);
}

static enum gw_err
quotas_resume(struct gw_req *req, struct gw_resp *resp)
{
	return quota_pause_resume(req, resp, 0);
}

static enum gw_err
quotas_summary(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_quota_load		*rows, *l;
	struct gw_json			*j;
	int64_t				 paused = 0, max_active = 0;
	int64_t				 active = 0, queued = 0, admitted = 0;
	size_t				 i, n;
	enum gw_err			 err;

	if ((err = gw_store_quota_summary(gw_req_store(req),
	    gw_req_arena(req), who->tenant, who->project, gw_now(), &rows,
	    &n)) != GW_OK)
		return err;
	for (i = 0; i < n; i++) {
		paused += rows[i].q.paused;
		max_active += rows[i].q.max_active;
		active += rows[i].active;
		queued += rows[i].queued;
		admitted += rows[i].admitted_last_hour;
	}

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "totals");
	gw_json_obj_open(j);
	gw_json_kint(j, "quotas", (int64_t)n);
	gw_json_kint(j, "paused", paused);
	gw_json_kint(j, "maxActive", max_active);
	gw_json_kint(j, "active", active);
	gw_json_kint(j, "queued", queued);
	gw_json_kint(j, "admittedLastHour", admitted);
	gw_json_obj_close(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++) {
		l = &rows[i];
		gw_json_obj_open(j);
		gw_json_kstr(j, "quotaId", l->q.quota_id);
		gw_json_kstr(j, "jobType", l->q.job_type);
		gw_json_kstr(j, "projectId", l->q.project_id);
		gw_json_kbool(j, "paused", l->q.paused);
		gw_json_kint(j, "maxActive", l->q.max_active);
		gw_json_kint(j, "maxPerHour", l->q.max_per_hour);
		gw_json_kint(j, "burst", l->q.burst);
		gw_json_kint(j, "active", l->active);
		gw_json_kint(j, "queued", l->queued);
		gw_json_kint(j, "admittedLastHour", l->admitted_last_hour);
		gw_json_kint(j, "tokensAvailable", l->tokens_available);
		gw_json_key(j, "utilization");
		gw_json_fixed4(j, (double)l->active / (double)l->q.max_active);
		gw_json_kstr(j, "backpressure", l->backpressure);
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
		"jobengine-quotas", routes, sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
