/*
 * jobengine-deadletter: the deadletter queue's stats and (category,
 * errorCode) summary, and replay of one entry, of a list of entries, or
 * of the oldest pending ones.
 *
 * Replay of one entry runs in the pipeline's transaction with its audit
 * record.  Batch and pending replay give every entry its own transaction
 * and audit record (GW_ROUTE_OWN_TXN), so one refusal, or a crash half
 * way, never undoes the replays before it.  An entry is replayed at most
 * once whatever the retries and races: the store's conditional UPDATE
 * changes a pending entry or nothing (gw_store_deadletter_replay).
 */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define PENDING_DEFLIMIT	100
#define PENDING_MAXLIMIT	1000
#define BATCH_MAXIDS		200
/* The audit action of each entry a batch or pending replay replays. */
#define REPLAY_ACTION		"deadletter.replay"

static enum gw_err	dl_stats(struct gw_req *, struct gw_resp *);
static enum gw_err	dl_summary(struct gw_req *, struct gw_resp *);
static enum gw_err	dl_replay(struct gw_req *, struct gw_resp *);
static enum gw_err	dl_batch(struct gw_req *, struct gw_resp *);
static enum gw_err	dl_pending(struct gw_req *, struct gw_resp *);

static const struct gw_qparam stats_query[] = {
	{ "jobType", GW_Q_STRING },
	{ "sourceId", GW_Q_ID },
	{ NULL, 0 },
};

static const struct gw_qparam summary_query[] = {
	{ "jobType", GW_Q_STRING },
	{ "sourceId", GW_Q_ID },
	{ "status", GW_Q_STRING },
	{ "limit", GW_Q_LIMIT },
	{ "continuationToken", GW_Q_TOKEN },
	{ NULL, 0 },
};

static const struct gw_route routes[] = {
	{ GW_GET, "/jobengine/deadletter/stats", "orch:operate", 0,
	    stats_query, NULL, dl_stats },
	{ GW_GET, "/jobengine/deadletter/summary", "orch:operate", 0,
	    summary_query, NULL, dl_summary },
	{ GW_POST, "/jobengine/deadletter/replay/batch", "orch:backfill",
	    GW_ROUTE_BODY | GW_ROUTE_OWN_TXN, NULL, "deadletter.replay_batch",
	    dl_batch },
	{ GW_POST, "/jobengine/deadletter/replay/pending", "orch:backfill",
	    GW_ROUTE_BODY | GW_ROUTE_OWN_TXN, NULL,
	    "deadletter.replay_pending", dl_pending },
	{ GW_POST, "/jobengine/deadletter/{id}/replay", "orch:backfill",
	    GW_ROUTE_BODY, NULL, REPLAY_ACTION, dl_replay },
};

/* {} or {"force": true} */
static const struct gw_bmember replay_body[] = {
	{ "force", GW_B_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static const struct gw_bmember batch_body[] = {
	{ "entryIds", GW_B_IDS, GW_B_REQUIRED, 1, BATCH_MAXIDS, NULL },
	{ "force", GW_B_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

enum { PF_JOBTYPE, PF_SOURCE, PF_CATEGORY, PF_CODE, PF_BEFORE, PF_AFTER };
static const struct gw_bmember pending_filter[] = {
	[PF_JOBTYPE] = { "jobType", GW_B_JOB_TYPE, 0, 0, 0, NULL },
	[PF_SOURCE] = { "sourceId", GW_B_ID, 0, 0, 0, NULL },
	[PF_CATEGORY] = { "category", GW_B_TEXT, 0, 1, 128, NULL },
	[PF_CODE] = { "errorCode", GW_B_TEXT, 0, 1, 128, NULL },
	[PF_BEFORE] = { "failedBefore", GW_B_TIME, 0, 0, 0, NULL },
	[PF_AFTER] = { "failedAfter", GW_B_TIME, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

enum { PB_FILTER, PB_LIMIT, PB_DRYRUN };
static const struct gw_bmember pending_body[] = {
	[PB_FILTER] = { "filter", GW_B_OBJECT, 0, 0, 0, pending_filter },
	[PB_LIMIT] = { "limit", GW_B_INT, 0, 1, PENDING_MAXLIMIT, NULL },
	[PB_DRYRUN] = { "dryRun", GW_B_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL },
};

static void
dl_filter_init(struct gw_req *req, struct gw_dl_filter *f)
{
	const struct gw_principal	*who = gw_req_principal(req);

	memset(f, 0, sizeof(*f));
	f->tenant = who->tenant;
	f->project = who->project;
	f->failed_before = f->failed_after = GW_DL_NOTIME;
}

/* The query filters of stats and summary. */
static enum gw_err
dl_query_filter(struct gw_req *req, struct gw_dl_filter *f)
{
	dl_filter_init(req, f);
	f->job_type = gw_req_query(req, "jobType");
	f->source_id = gw_req_query(req, "sourceId");
	if (f->job_type != NULL && !gw_body_valid_job_type(f->job_type))
		return gw_fail(req, GW_ERR_INVALID_QUERY, "jobType",
		    "jobType must match [a-z0-9][a-z0-9._-]{0,63}");
	return GW_OK;
}

static void
status_counts_json(struct gw_json *j, const int64_t *n)
{
	int	 i;

	gw_json_obj_open(j);
	for (i = 0; i < GW_DL_NSTATUS; i++)
		gw_json_kint(j, gw_dl_statuses[i], n[i]);
	gw_json_obj_close(j);
}

static enum gw_err
dl_stats(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_dl_filter	 f;
	struct gw_dl_stats	 st;
	struct gw_json		*j;
	size_t			 i;
	enum gw_err		 err;

	if ((err = dl_query_filter(req, &f)) != GW_OK)
		return err;
	if ((err = gw_store_deadletter_stats(gw_req_store(req),
	    gw_req_arena(req), &f, &st)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kint(j, "total", st.total);
	gw_json_key(j, "byStatus");
	status_counts_json(j, st.by_status);
	gw_json_kint(j, "retryable", st.retryable);
	gw_json_ktime(j, "oldestPendingFailedAt", st.oldest_pending_failed_at);
	gw_json_ktime(j, "newestFailedAt", st.newest_failed_at);
	gw_json_key(j, "byCategory");
	gw_json_arr_open(j);
	for (i = 0; i < st.ncategories; i++) {
		gw_json_obj_open(j);
		gw_json_kstr(j, "category", st.categories[i].category);
		gw_json_kint(j, "count", st.categories[i].count);
		gw_json_obj_close(j);
	}
	gw_json_arr_close(j);
	gw_json_key(j, "topErrors");
	gw_json_arr_open(j);
	for (i = 0; i < st.ntop; i++) {
		gw_json_obj_open(j);
		gw_json_kstr(j, "category", st.top[i].category);
		gw_json_kstr(j, "errorCode", st.top[i].error_code);
		gw_json_kint(j, "count", st.top[i].count);
		gw_json_kint(j, "retryable", st.top[i].retryable);
		gw_json_ktime(j, "lastFailedAt", st.top[i].last_failed_at);
		gw_json_kstr(j, "sampleMessage", st.top[i].sample_message);
		gw_json_obj_close(j);
	}
	gw_json_arr_close(j);
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
dl_summary(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_dl_filter	 f;
	struct gw_dl_group	*g;
	struct gw_page		 page;
	struct gw_json		*j;
	const char		*key[2];
	size_t			 i, k, n;
	int			 more;
	enum gw_err		 err;

	if ((err = gw_page_begin(req, &page)) != GW_OK)
		return err;
	if ((err = dl_query_filter(req, &f)) != GW_OK)
		return err;
	f.status = gw_req_query(req, "status");
	if (f.status != NULL &&
	    gw_store_enum_index(gw_dl_statuses, f.status) == -1)
		return gw_fail(req, GW_ERR_INVALID_QUERY, "status",
		    "status must be pending, replayed, resolved or discarded");
	if ((err = gw_store_deadletter_summary(gw_req_store(req),
	    gw_req_arena(req), &f, &page, &g, &n, &more)) != GW_OK)
		return err;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_key(j, "items");
	gw_json_arr_open(j);
	for (i = 0; i < n; i++) {
		gw_json_obj_open(j);
		gw_json_kstr(j, "category", g[i].category);
		gw_json_kstr(j, "errorCode", g[i].error_code);
		gw_json_kint(j, "count", g[i].count);
		gw_json_kint(j, "pending", g[i].pending);
		gw_json_kint(j, "retryable", g[i].retryable);
		gw_json_kint(j, "replayed", g[i].replayed);
		gw_json_key(j, "jobTypes");
		gw_json_arr_open(j);
		for (k = 0; k < g[i].njob_types; k++)
			gw_json_str(j, g[i].job_types[k]);
		gw_json_arr_close(j);
		gw_json_ktime(j, "oldestFailedAt", g[i].oldest_failed_at);
		gw_json_ktime(j, "newestFailedAt", g[i].newest_failed_at);
		gw_json_obj_close(j);
	}
	gw_json_arr_close(j);
	if (n > 0) {
		key[0] = g[n - 1].category;
		key[1] = g[n - 1].error_code;
	}
	gw_page_end(req, j, more && n > 0, key, 2);
	gw_json_obj_close(j);
	return GW_OK;
}

static enum gw_err
dl_replay(struct gw_req *req, struct gw_resp *resp)
{
	const struct gw_principal	*who = gw_req_principal(req);
	struct gw_bval			 v[2];
	struct gw_dl_replay		 r;
	struct gw_json			*j;
	enum gw_err			 err;

	if ((err = gw_body_check(req, replay_body, v)) != GW_OK)
		return err;
	if ((err = gw_store_deadletter_replay(gw_req_store(req), who->tenant,
	    who->project, gw_req_id(req), v[0].present && v[0].i,
	    gw_req_actor(req), gw_now(), &r)) != GW_OK)
		return err;
	gw_resp_status(resp, 202);
	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kstr(j, "entryId", r.entry_id);
	gw_json_kstr(j, "status", r.status);
	gw_json_kstr(j, "replayJobId", r.replay_job_id);
	gw_json_ktime(j, "replayedAt", r.replayed_at);
	gw_json_kint(j, "replayCount", r.replay_count);
	gw_json_obj_close(j);
	return GW_OK;
}

/*
 * One entry in its own transaction with its audit record (outcome 202,
 * as if replayed alone).  A refusal changes and records nothing: the
 * request's own audit record covers it.
 */
static enum gw_err
dl_replay_one(struct gw_req *req, const char *id, int force,
    struct gw_dl_replay *r)
{
	const struct gw_principal	*who = gw_req_principal(req);
	enum gw_err			 err;

	if ((err = gw_txn_begin(req)) != GW_OK)
		return err;
	if ((err = gw_store_deadletter_replay(gw_req_store(req), who->tenant,
	    who->project, id, force, gw_req_actor(req), gw_now(), r)) != GW_OK ||
	    (err = gw_audit_append(req, REPLAY_ACTION, "deadletter", id,
	    202)) != GW_OK) {
		gw_txn_rollback(req);
		return err;
	}
	return gw_txn_commit(req);
}

static void
result_json(struct gw_json *j, const char *id, enum gw_err err,
    const struct gw_dl_replay *r)
{
	const char	*code, *message;

	gw_json_obj_open(j);
	gw_json_kstr(j, "entryId", id);
	if (err == GW_OK) {
		gw_json_kstr(j, "outcome", "replayed");
		gw_json_kstr(j, "replayJobId", r->replay_job_id);
	} else {
		gw_store_deadletter_error(err, &code, &message);
		gw_json_kstr(j, "outcome", "failed");
		gw_json_key(j, "error");
		gw_json_obj_open(j);
		gw_json_kstr(j, "code", code);
		gw_json_kstr(j, "message", message);
		gw_json_obj_close(j);
	}
	gw_json_obj_close(j);
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static enum gw_err
dl_batch(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_bval		 v[3];
	struct gw_dl_replay	 r;
	struct gw_json		*j;
	struct gw_buf		 results;
	struct gw_json		 rj;
	const char		**ids;
	size_t			 i, n, ok = 0;
	enum gw_err		 err;

	if ((err = gw_body_check(req, batch_body, v)) != GW_OK)
		return err;
	ids = v[0].ids;
	n = v[0].nids;
	/* Results in entryId order, by bytes (SPEC §9). */
	qsort(ids, n, sizeof(*ids), id_cmp);

	gw_buf_init(&results);
	gw_json_init(&rj, &results);
	gw_json_arr_open(&rj);
	for (i = 0; i < n; i++) {
		err = dl_replay_one(req, ids[i], v[1].present && v[1].i, &r);
		if (err == GW_OK)
			ok++;
		result_json(&rj, ids[i], err, &r);
	}
	gw_json_arr_close(&rj);

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kint(j, "requested", (int64_t)n);
	gw_json_kint(j, "replayed", (int64_t)ok);
	gw_json_kint(j, "failed", (int64_t)(n - ok));
	gw_json_key(j, "results");
	gw_json_raw(j, results.data);
	gw_json_obj_close(j);
	gw_buf_free(&results);
	return GW_OK;
}

/* The body of a pending replay as a filter; a window that cannot hold
 * anything is a 422. */
static enum gw_err
dl_pending_filter(struct gw_req *req, const struct gw_bval *v,
    struct gw_dl_filter *f)
{
	const struct gw_bval	*fv;

	dl_filter_init(req, f);
	if (!v[PB_FILTER].present)
		return GW_OK;
	fv = v[PB_FILTER].sub;
	f->job_type = fv[PF_JOBTYPE].s;
	f->source_id = fv[PF_SOURCE].s;
	f->category = fv[PF_CATEGORY].s;
	f->error_code = fv[PF_CODE].s;
	if (fv[PF_BEFORE].present)
		f->failed_before = fv[PF_BEFORE].i;
	if (fv[PF_AFTER].present)
		f->failed_after = fv[PF_AFTER].i;
	if (fv[PF_BEFORE].present && fv[PF_AFTER].present &&
	    fv[PF_AFTER].i >= fv[PF_BEFORE].i)
		return gw_fail(req, GW_ERR_VALIDATION, "/filter/failedAfter",
		    "failedAfter must be earlier than failedBefore");
	return GW_OK;
}

/*
 * POST /deadletter/replay/pending.  Each entry is chosen inside its own
 * write transaction (the oldest matching one after the last this call
 * took), so two operators running it at once share the work instead of
 * colliding; under PostgreSQL, where both may choose the same entry, the
 * loser's UPDATE changes nothing and it moves on.
 *
 *	matched		entries this call replayed, failed to replay, or
 *			(dry run) would replay; at most limit
 *	replayed	of them, replayed (0 on a dry run)
 *	remaining	pending retryable entries matching the filter that
 *			this call leaves: after a real run, those still
 *			pending; after a dry run, those beyond the ones it
 *			lists
 */
static enum gw_err
dl_pending(struct gw_req *req, struct gw_resp *resp)
{
	struct gw_store		*store = gw_req_store(req);
	struct gw_arena		*a = gw_req_arena(req);
	struct gw_bval		 v[4];
	struct gw_dl_filter	 f;
	struct gw_dl_replay	 r;
	struct gw_json		*j, rj;
	struct gw_buf		 results;
	const char		*id, *after = NULL;
	int64_t			 at = 0, after_at = 0, left;
	int			 limit, dry, matched = 0, ok = 0;
	enum gw_err		 err;

	if ((err = gw_body_check(req, pending_body, v)) != GW_OK)
		return err;
	if ((err = dl_pending_filter(req, v, &f)) != GW_OK)
		return err;
	limit = v[PB_LIMIT].present ? (int)v[PB_LIMIT].i : PENDING_DEFLIMIT;
	dry = v[PB_DRYRUN].present && v[PB_DRYRUN].i;

	gw_buf_init(&results);
	gw_json_init(&rj, &results);
	gw_json_arr_open(&rj);
	while (matched < limit) {
		if (!dry && (err = gw_txn_begin(req)) != GW_OK)
			break;
		if ((err = gw_store_deadletter_next(store, a, &f, after_at,
		    after, &id, &at)) != GW_OK || id == NULL) {
			if (!dry)
				gw_txn_rollback(req);
			break;
		}
		after = id;
		after_at = at;
		if (dry) {
			matched++;
			gw_json_obj_open(&rj);
			gw_json_kstr(&rj, "entryId", id);
			gw_json_kstr(&rj, "outcome", "wouldReplay");
			gw_json_obj_close(&rj);
			continue;
		}
		err = gw_store_deadletter_replay(store, f.tenant, f.project, id,
		    0, gw_req_actor(req), gw_now(), &r);
		if (err == GW_OK)
			err = gw_audit_append(req, REPLAY_ACTION, "deadletter",
			    id, 202);
		if (err == GW_OK)
			err = gw_txn_commit(req);
		else
			gw_txn_rollback(req);
		if (err == GW_ERR_DEADLETTER_NOT_PENDING ||
		    err == GW_ERR_DEADLETTER_NOT_FOUND ||
		    err == GW_ERR_DEADLETTER_NOT_RETRYABLE)
			continue;	/* another process took it first */
		matched++;
		if (err == GW_OK)
			ok++;
		result_json(&rj, id, err, &r);
		if (err != GW_OK)
			break;		/* the store is failing: stop here */
	}
	gw_json_arr_close(&rj);
	/* Nothing done: the client may simply try again. */
	if (err != GW_OK && matched == 0) {
		gw_buf_free(&results);
		return err;
	}
	/* Replays are committed: answer them even if counting fails. */
	if (gw_store_deadletter_replayable(store, &f, &left) != GW_OK)
		left = -1;
	else if (dry)
		left = left > matched ? left - matched : 0;

	j = gw_resp_json(resp);
	gw_json_obj_open(j);
	gw_json_kint(j, "matched", matched);
	gw_json_kint(j, "replayed", ok);
	if (left >= 0)
		gw_json_kint(j, "remaining", left);
	else
		gw_json_knull(j, "remaining");
	gw_json_kbool(j, "dryRun", dry);
	gw_json_key(j, "results");
	gw_json_raw(j, results.data);
	gw_json_obj_close(j);
	gw_buf_free(&results);
	return GW_OK;
}

int
main(int argc, char *argv[])
{
	static const struct gw_app_def def = {
		"jobengine-deadletter", routes,
		sizeof(routes) / sizeof(routes[0])
	};

	return gw_app_main(&def, argc, argv);
}
