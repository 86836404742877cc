/*
 * gw_store_deadletter.c: the deadletter queue (jobengine-deadletter):
 * stats, the (category, errorCode) summary, and replay.
 *
 * Stats and summary walk the index deadletter_tenant_cluster, (tenant_id,
 * category, error_code, status, failed_at, entry_id, retryable, job_type,
 * source_id, project_id): grouped in index order with every filter
 * answered from the index, so neither reads a table row nor sorts, and a
 * cluster's newest pending entry (its sampleMessage) is one step of a
 * reverse scan.  Pending replay walks deadletter_tenant_status_failed,
 * (tenant_id, status, failed_at, entry_id): oldest first, no sort.
 *
 * Replay is one conditional UPDATE (pending, and retryable unless forced)
 * followed by the new job.  The UPDATE is what makes replay happen once:
 * of two transactions racing for an entry, in one process or on two
 * machines, only the first changes a row; the second sees 0 changes and
 * refuses.  The job's insert moves job_counts through the jobs triggers.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * The optional filters, always in this order, as SQL and as bindings.
 * Each present filter adds one fixed clause, so the texts are few and the
 * statement cache keeps them.
 */
static void
gw_dl_where(struct gw_buf *b, const struct gw_dl_filter *f)
{
	gw_buf_puts(b, " WHERE tenant_id = ?");
	if (f->project != NULL)
		gw_buf_puts(b, " AND project_id = ?");
	if (f->job_type != NULL)
		gw_buf_puts(b, " AND job_type = ?");
	if (f->source_id != NULL)
		gw_buf_puts(b, " AND source_id = ?");
	if (f->status != NULL)
		gw_buf_puts(b, " AND status = ?");
	if (f->category != NULL)
		gw_buf_puts(b, " AND category = ?");
	if (f->error_code != NULL)
		gw_buf_puts(b, " AND error_code = ?");
	if (f->failed_before != GW_DL_NOTIME)
		gw_buf_puts(b, " AND failed_at < ?");
	if (f->failed_after != GW_DL_NOTIME)
		gw_buf_puts(b, " AND failed_at >= ?");
}

static int
gw_dl_bind(struct gw_stmt *st, int i, const struct gw_dl_filter *f)
{
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->job_type != NULL)
		gw_stmt_bind_text(st, i++, f->job_type);
	if (f->source_id != NULL)
		gw_stmt_bind_text(st, i++, f->source_id);
	if (f->status != NULL)
		gw_stmt_bind_text(st, i++, f->status);
	if (f->category != NULL)
		gw_stmt_bind_text(st, i++, f->category);
	if (f->error_code != NULL)
		gw_stmt_bind_text(st, i++, f->error_code);
	if (f->failed_before != GW_DL_NOTIME)
		gw_stmt_bind_int(st, i++, f->failed_before);
	if (f->failed_after != GW_DL_NOTIME)
		gw_stmt_bind_int(st, i++, f->failed_after);
	return i;
}

/* Prepare "head" + the filters + "tail". */
static enum gw_err
gw_dl_prepare(struct gw_store *s, const char *head,
    const struct gw_dl_filter *f, const char *tail, struct gw_stmt **st)
{
	struct gw_buf	 b;
	enum gw_err	 e;

	gw_buf_init(&b);
	gw_buf_puts(&b, head);
	gw_dl_where(&b, f);
	gw_buf_puts(&b, tail);
	e = gw_db_prepare(s->db, b.data, st);
	gw_buf_free(&b);
	return e;
}

/* ---------------------------------------------------------------- stats */

static int
gw_dl_cluster_cmp(const void *a, const void *b)
{
	const struct gw_dl_cluster	*x = a, *y = b;
	int				 c;

	/* SPEC §10: count desc, then category, errorCode (bytes). */
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if ((c = strcmp(x->category, y->category)) != 0)
		return c;
	return strcmp(x->error_code, y->error_code);
}

/*
 * sampleMessage: the message of the cluster's newest pending entry, by
 * (failedAt, entryId) descending, so the same data always picks the same
 * message.
 */
static enum gw_err
gw_dl_sample(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, struct gw_dl_cluster *c)
{
	struct gw_dl_filter	 cf = *f;
	struct gw_stmt		*st;
	enum gw_err		 e;
	int			 row;

	cf.status = "pending";
	cf.category = c->category;
	cf.error_code = c->error_code;
	if ((e = gw_dl_prepare(s, "SELECT message FROM deadletter", &cf,
	    " ORDER BY failed_at DESC, entry_id DESC LIMIT 1", &st)) != GW_OK)
		return e;
	gw_dl_bind(st, 1, &cf);
	if ((e = gw_stmt_step(st, &row)) == GW_OK)
		c->sample_message = row ? gw_stmt_dup(st, 0, a) : NULL;
	gw_stmt_reset(st);
	return e;
}

static enum gw_err
gw_dl_stats_scan(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, struct gw_dl_stats *r,
    struct gw_dl_cluster **clp, size_t *nclp)
{
	struct gw_dl_cluster	*cl = NULL, *c;
	struct gw_dl_category	*cat;
	struct gw_stmt		*st;
	const char		*category, *code;
	size_t			 ncl = 0, capcl = 0, capcat = 0;
	int64_t			 n, retryable, oldest, newest;
	int			 k, row;
	enum gw_err		 e;

	/* One grouped scan of the cluster index; at most 4 rows per
	 * (category, errorCode). */
	if ((e = gw_dl_prepare(s, "SELECT category, error_code, status, "
	    "count(*), sum(retryable), min(failed_at), max(failed_at) "
	    "FROM deadletter", f, " GROUP BY category, error_code, status "
	    "ORDER BY category, error_code, status", &st)) != GW_OK)
		return e;
	gw_dl_bind(st, 1, f);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		category = gw_stmt_text(st, 0);
		code = gw_stmt_text(st, 1);
		k = gw_store_enum_index(gw_dl_statuses, gw_stmt_text(st, 2));
		n = gw_stmt_int(st, 3);
		retryable = gw_stmt_int(st, 4);
		oldest = gw_stmt_int(st, 5);
		newest = gw_stmt_int(st, 6);
		if (k == -1)
			continue;	/* the CHECK constraint forbids it */
		r->total += n;
		r->by_status[k] += n;
		if (newest > r->newest_failed_at)
			r->newest_failed_at = newest;
		if (r->ncategories == 0 || strcmp(r->categories[
		    r->ncategories - 1].category, category) != 0) {
			if (r->ncategories == capcat) {
				capcat = capcat ? capcat * 2 : 16;
				cat = gw_arena_alloc(a, capcat * sizeof(*cat));
				if (r->ncategories > 0)
					memcpy(cat, r->categories,
					    r->ncategories * sizeof(*cat));
				r->categories = cat;
			}
			cat = &r->categories[r->ncategories++];
			cat->category = gw_arena_strdup(a, category);
			cat->count = 0;
		}
		r->categories[r->ncategories - 1].count += n;
		if (k != 0)
			continue;
		/* Pending: the rows of one cluster. */
		r->retryable += retryable;
		if (r->oldest_pending_failed_at == 0 ||
		    oldest < r->oldest_pending_failed_at)
			r->oldest_pending_failed_at = oldest;
		if (ncl == capcl) {
			capcl = capcl ? capcl * 2 : 32;
			c = gw_arena_alloc(a, capcl * sizeof(*c));
			if (ncl > 0)
				memcpy(c, cl, ncl * sizeof(*c));
			cl = c;
		}
		c = &cl[ncl++];
		c->category = r->categories[r->ncategories - 1].category;
		c->error_code = gw_arena_strdup(a, code);
		c->count = n;
		c->retryable = retryable;
		c->last_failed_at = newest;
		c->sample_message = NULL;
	}
	gw_stmt_reset(st);
	*clp = cl;
	*nclp = ncl;
	return e;
}

enum gw_err
gw_store_deadletter_stats(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, struct gw_dl_stats *r)
{
	struct gw_dl_filter	 sf = *f;
	struct gw_dl_cluster	*cl;
	size_t			 ncl, i;
	enum gw_err		 e;

	memset(r, 0, sizeof(*r));
	sf.status = sf.category = sf.error_code = NULL;
	sf.failed_before = sf.failed_after = GW_DL_NOTIME;
	/* One snapshot, so the totals and the samples agree. */
	if ((e = gw_db_begin(s->db, 0)) != GW_OK)
		return e;
	if ((e = gw_dl_stats_scan(s, a, &sf, r, &cl, &ncl)) != GW_OK)
		goto fail;
	if (ncl > 0)
		qsort(cl, ncl, sizeof(*cl), gw_dl_cluster_cmp);
	for (i = 0; i < ncl && i < GW_DL_TOPERRORS; i++) {
		r->top[i] = cl[i];
		if ((e = gw_dl_sample(s, a, &sf, &r->top[i])) != GW_OK)
			goto fail;
	}
	r->ntop = i;
	return gw_db_commit(s->db);
fail:
	gw_db_rollback(s->db);
	return e;
}

/* -------------------------------------------------------------- summary */

static enum gw_err
gw_dl_groups(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, const struct gw_page *page,
    struct gw_dl_group *g, size_t *np, int *more)
{
	struct gw_stmt	*st;
	size_t		 n = 0;
	int		 i, row, keyset = page->nkey >= 2;
	enum gw_err	 e;

	if ((e = gw_dl_prepare(s, "SELECT category, error_code, count(*), "
	    "sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), "
	    "sum(CASE WHEN status = 'pending' AND retryable = 1 "
	    "THEN 1 ELSE 0 END), "
	    "sum(CASE WHEN status = 'replayed' THEN 1 ELSE 0 END), "
	    "min(failed_at), max(failed_at) FROM deadletter", f,
	    keyset ? " AND (category, error_code) > (?, ?) "
	    "GROUP BY category, error_code ORDER BY category, error_code "
	    "LIMIT ?" : " GROUP BY category, error_code "
	    "ORDER BY category, error_code LIMIT ?", &st)) != GW_OK)
		return e;
	i = gw_dl_bind(st, 1, f);
	if (keyset) {
		gw_stmt_bind_text(st, i++, page->key[0]);
		gw_stmt_bind_text(st, i++, page->key[1]);
	}
	/* One row more than asked tells whether a next page exists. */
	gw_stmt_bind_int(st, i++, page->limit + 1);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		if (n == (size_t)page->limit) {
			*more = 1;
			break;
		}
		memset(&g[n], 0, sizeof(g[n]));
		g[n].category = gw_stmt_dup(st, 0, a);
		g[n].error_code = gw_stmt_dup(st, 1, a);
		g[n].count = gw_stmt_int(st, 2);
		g[n].pending = gw_stmt_int(st, 3);
		g[n].retryable = gw_stmt_int(st, 4);
		g[n].replayed = gw_stmt_int(st, 5);
		g[n].oldest_failed_at = gw_stmt_int(st, 6);
		g[n].newest_failed_at = gw_stmt_int(st, 7);
		n++;
	}
	gw_stmt_reset(st);
	*np = n;
	return e;
}

/* The sorted jobTypes of the page's groups, in one range query from its
 * first group to its last. */
static enum gw_err
gw_dl_group_types(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, struct gw_dl_group *g, size_t n)
{
	struct gw_stmt	*st;
	const char	*category, *code, *jt;
	size_t		 k = 0;
	int		 i, row, c = 0;
	enum gw_err	 e;

	if (n == 0)
		return GW_OK;
	if ((e = gw_dl_prepare(s, "SELECT category, error_code, job_type "
	    "FROM deadletter", f, " AND (category, error_code) >= (?, ?) "
	    "AND (category, error_code) <= (?, ?) "
	    "GROUP BY category, error_code, job_type "
	    "ORDER BY category, error_code, job_type", &st)) != GW_OK)
		return e;
	i = gw_dl_bind(st, 1, f);
	gw_stmt_bind_text(st, i++, g[0].category);
	gw_stmt_bind_text(st, i++, g[0].error_code);
	gw_stmt_bind_text(st, i++, g[n - 1].category);
	gw_stmt_bind_text(st, i++, g[n - 1].error_code);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		category = gw_stmt_text(st, 0);
		code = gw_stmt_text(st, 1);
		jt = gw_stmt_text(st, 2);
		/* Both sides are in (category, errorCode) order. */
		while (k < n && ((c = strcmp(g[k].category, category)) < 0 ||
		    (c == 0 && strcmp(g[k].error_code, code) < 0)))
			k++;
		if (k == n)
			break;
		if (c != 0 || strcmp(g[k].error_code, code) != 0)
			continue;
		if (g[k].njob_types < GW_DL_MAXJOBTYPES)
			g[k].job_types[g[k].njob_types++] =
			    gw_arena_strdup(a, jt);
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_deadletter_summary(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, const struct gw_page *page,
    struct gw_dl_group **gp, size_t *np, int *more)
{
	struct gw_dl_filter	 sf = *f;
	struct gw_dl_group	*g;
	size_t			 n = 0;
	enum gw_err		 e;

	*gp = NULL;
	*np = 0;
	*more = 0;
	sf.category = sf.error_code = NULL;
	sf.failed_before = sf.failed_after = GW_DL_NOTIME;
	g = gw_arena_alloc(a, sizeof(*g) * (page->limit + 1));
	if ((e = gw_db_begin(s->db, 0)) != GW_OK)
		return e;
	if ((e = gw_dl_groups(s, a, &sf, page, g, &n, more)) != GW_OK ||
	    (e = gw_dl_group_types(s, a, &sf, g, n)) != GW_OK) {
		gw_db_rollback(s->db);
		return e;
	}
	if ((e = gw_db_commit(s->db)) != GW_OK)
		return e;
	*gp = g;
	*np = n;
	return GW_OK;
}

/* --------------------------------------------------------------- replay */

/* Why an entry could not be replayed: it is missing (or another tenant's
 * or project's), no longer pending, or not retryable and not forced. */
static enum gw_err
gw_dl_refusal(struct gw_store *s, const char *tenant, const char *project,
    const char *id)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "SELECT status, retryable, "
	    "project_id FROM deadletter WHERE tenant_id = ? AND entry_id = ?",
	    &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, tenant);
	gw_stmt_bind_text(st, 2, id);
	if ((e = gw_stmt_step(st, &row)) == GW_OK) {
		if (!row || (project != NULL &&
		    strcmp(gw_stmt_text(st, 2), project) != 0))
			e = GW_ERR_DEADLETTER_NOT_FOUND;
		else if (strcmp(gw_stmt_text(st, 0), "pending") != 0)
			e = GW_ERR_DEADLETTER_NOT_PENDING;
		else if (gw_stmt_int(st, 1) == 0)
			e = GW_ERR_DEADLETTER_NOT_RETRYABLE;
		else
			e = GW_ERR_DEADLETTER_NOT_PENDING;
	}
	gw_stmt_reset(st);
	return e;
}

/* The entry, now replayed, becomes a new job: same jobType, sourceId,
 * projectId and payload, pending, high priority, replayOf its jobId. */
static enum gw_err
gw_dl_new_job(struct gw_store *s, const char *tenant, const char *id,
    int64_t now, struct gw_dl_replay *r)
{
	struct gw_stmt	*sel, *ins;
	enum gw_err	 e;
	int		 row;

	if ((e = gw_db_prepare(s->db, "SELECT project_id, job_type, "
	    "source_id, job_id, payload, replay_count FROM deadletter "
	    "WHERE tenant_id = ? AND entry_id = ?", &sel)) != GW_OK)
		return e;
	gw_stmt_bind_text(sel, 1, tenant);
	gw_stmt_bind_text(sel, 2, id);
	if ((e = gw_stmt_step(sel, &row)) != GW_OK || !row) {
		gw_stmt_reset(sel);
		return e != GW_OK ? e : GW_ERR_INTERNAL;
	}
	r->replay_count = gw_stmt_int(sel, 5);
	if ((e = gw_db_prepare(s->db, "INSERT INTO jobs (job_id, tenant_id, "
	    "project_id, job_type, source_id, status, priority, replay_of, "
	    "payload, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 'high', "
	    "?, ?, ?)", &ins)) != GW_OK) {
		gw_stmt_reset(sel);
		return e;
	}
	gw_stmt_bind_text(ins, 1, r->replay_job_id);
	gw_stmt_bind_text(ins, 2, tenant);
	gw_stmt_bind_text(ins, 3, gw_stmt_text(sel, 0));
	gw_stmt_bind_text(ins, 4, gw_stmt_text(sel, 1));
	gw_stmt_bind_text(ins, 5, gw_stmt_text(sel, 2));
	gw_stmt_bind_text(ins, 6, gw_stmt_text(sel, 3));
	gw_stmt_bind_text(ins, 7, gw_stmt_text(sel, 4));
	gw_stmt_bind_int(ins, 8, now);
	e = gw_stmt_step(ins, &row);
	gw_stmt_reset(ins);
	gw_stmt_reset(sel);
	return e;
}

enum gw_err
gw_store_deadletter_replay(struct gw_store *s, const char *tenant,
    const char *project, const char *id, int force, const char *actor,
    int64_t now, struct gw_dl_replay *r)
{
	struct gw_stmt	*st;
	enum gw_err	 e;
	int64_t		 changed;
	int		 row;

	memset(r, 0, sizeof(*r));
	gw_uuidv7(r->replay_job_id);
	if (project != NULL)
		e = gw_db_prepare(s->db, "UPDATE deadletter SET status = "
		    "'replayed', replay_count = replay_count + 1, "
		    "last_replay_job_id = ?, replayed_at = ?, replayed_by = ? "
		    "WHERE tenant_id = ? AND entry_id = ? AND status = 'pending' "
		    "AND (retryable = 1 OR ? = 1) AND project_id = ?", &st);
	else
		e = gw_db_prepare(s->db, "UPDATE deadletter SET status = "
		    "'replayed', replay_count = replay_count + 1, "
		    "last_replay_job_id = ?, replayed_at = ?, replayed_by = ? "
		    "WHERE tenant_id = ? AND entry_id = ? AND status = 'pending' "
		    "AND (retryable = 1 OR ? = 1)", &st);
	if (e != GW_OK)
		return e;
	gw_stmt_bind_text(st, 1, r->replay_job_id);
	gw_stmt_bind_int(st, 2, now);
	gw_stmt_bind_text(st, 3, actor);
	gw_stmt_bind_text(st, 4, tenant);
	gw_stmt_bind_text(st, 5, id);
	gw_stmt_bind_int(st, 6, force != 0);
	if (project != NULL)
		gw_stmt_bind_text(st, 7, project);
	e = gw_stmt_step(st, &row);
	changed = e == GW_OK ? gw_stmt_changes(st) : 0;
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	if (changed != 1)
		return gw_dl_refusal(s, tenant, project, id);
	if ((e = gw_dl_new_job(s, tenant, id, now, r)) != GW_OK)
		return e;
	r->entry_id = id;
	r->status = "replayed";
	r->replayed_at = now;
	return GW_OK;
}

enum gw_err
gw_store_deadletter_next(struct gw_store *s, struct gw_arena *a,
    const struct gw_dl_filter *f, int64_t after_failed_at,
    const char *after_id, const char **idp, int64_t *failed_at)
{
	struct gw_dl_filter	 pf = *f;
	struct gw_stmt		*st;
	enum gw_err		 e;
	int			 i, row;

	*idp = NULL;
	*failed_at = 0;
	pf.status = "pending";
	if ((e = gw_dl_prepare(s, "SELECT entry_id, failed_at "
	    "FROM deadletter", &pf, after_id != NULL ?
	    " AND retryable = 1 AND (failed_at, entry_id) > (?, ?) "
	    "ORDER BY failed_at, entry_id LIMIT 1" :
	    " AND retryable = 1 ORDER BY failed_at, entry_id LIMIT 1",
	    &st)) != GW_OK)
		return e;
	i = gw_dl_bind(st, 1, &pf);
	if (after_id != NULL) {
		gw_stmt_bind_int(st, i++, after_failed_at);
		gw_stmt_bind_text(st, i++, after_id);
	}
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		*idp = gw_stmt_dup(st, 0, a);
		*failed_at = gw_stmt_int(st, 1);
	}
	gw_stmt_reset(st);
	return e;
}

enum gw_err
gw_store_deadletter_replayable(struct gw_store *s,
    const struct gw_dl_filter *f, int64_t *n)
{
	struct gw_dl_filter	 pf = *f;
	struct gw_stmt		*st;
	enum gw_err		 e;
	int			 row;

	*n = 0;
	pf.status = "pending";
	if ((e = gw_dl_prepare(s, "SELECT count(*) FROM deadletter", &pf,
	    " AND retryable = 1", &st)) != GW_OK)
		return e;
	gw_dl_bind(st, 1, &pf);
	if ((e = gw_stmt_step(st, &row)) == GW_OK && row)
		*n = gw_stmt_int(st, 0);
	gw_stmt_reset(st);
	return e;
}

void
gw_store_deadletter_error(enum gw_err e, const char **code,
    const char **message)
{
	const struct gw_errinfo	*ei = gw_err_info(e);

	*code = ei->code;
	*message = ei->message;
}
