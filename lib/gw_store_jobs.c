/*
 * gw_store_jobs.c: the jobs summary (jobengine-jobs).
 *
 * The summary never reads the jobs table.  It reads job_counts, which the
 * triggers of migration 1 keep exact in the same transaction as every
 * insert, status change and delete of a job, whoever writes it (the
 * Orchestrator, jobengine-admin import, replay): docs/storage.md,
 * invariant 1.  So the summary costs what the number of (project,
 * jobType, source, status) combinations of the tenant costs, the same at
 * 10 000 and at 1 000 000 jobs.
 */
#include <string.h>

#include "extern.h"

const char *const gw_job_statuses[GW_JOB_NSTATUS + 1] = { "pending",
	"scheduled", "leased", "running", "succeeded", "failed", "canceled",
	"timed_out", NULL };
const char *const gw_dl_statuses[GW_DL_NSTATUS + 1] = { "pending",
	"replayed", "resolved", "discarded", NULL };

int
gw_store_enum_index(const char *const *list, const char *s)
{
	int	 i;

	for (i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/*
 * One of 8 fixed texts (each optional filter present or not), so the
 * statement cache holds at most 8 of them.  The result has at most one
 * row per (jobType, status), in jobType order.
 */
static const char *
gw_store_jobs_sql(const struct gw_job_filter *f, char *buf, size_t len)
{
	snprintf(buf, len, "SELECT job_type, status, sum(n) FROM job_counts "
	    "WHERE tenant_id = ?%s%s%s GROUP BY job_type, status "
	    "ORDER BY job_type, status",
	    f->project != NULL ? " AND project_id = ?" : "",
	    f->job_type != NULL ? " AND job_type = ?" : "",
	    f->source_id != NULL ? " AND source_id = ?" : "");
	return buf;
}

enum gw_err
gw_store_jobs_summary(struct gw_store *s, struct gw_arena *a,
    const struct gw_job_filter *f, struct gw_job_counts *total,
    struct gw_job_counts **typesp, size_t *ntypesp)
{
	struct gw_job_counts	*types = NULL, *t;
	struct gw_stmt		*st;
	const char		*jt;
	char			 sql[256];
	size_t			 n = 0, cap = 0;
	int64_t			 c;
	int			 i = 1, k, row;
	enum gw_err		 e;

	memset(total, 0, sizeof(*total));
	*typesp = NULL;
	*ntypesp = 0;
	if ((e = gw_db_prepare(s->db, gw_store_jobs_sql(f, sql, sizeof(sql)),
	    &st)) != GW_OK)
		return e;
	gw_stmt_bind_text(st, i++, f->tenant);
	if (f->project != NULL)
		gw_stmt_bind_text(st, i++, f->project);
	if (f->job_type != NULL)
		gw_stmt_bind_text(st, i++, f->job_type);
	if (f->source_id != NULL)
		gw_stmt_bind_text(st, i++, f->source_id);
	while ((e = gw_stmt_step(st, &row)) == GW_OK && row) {
		jt = gw_stmt_text(st, 0);
		if ((k = gw_store_enum_index(gw_job_statuses,
		    gw_stmt_text(st, 1))) == -1)
			continue;	/* the CHECK constraint forbids it */
		c = gw_stmt_int(st, 2);
		if (n == 0 || strcmp(types[n - 1].job_type, jt) != 0) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				t = gw_arena_alloc(a, cap * sizeof(*t));
				if (n > 0)
					memcpy(t, types, n * sizeof(*t));
				types = t;
			}
			memset(&types[n], 0, sizeof(types[n]));
			types[n++].job_type = gw_arena_strdup(a, jt);
		}
		types[n - 1].by_status[k] += c;
		types[n - 1].total += c;
		total->by_status[k] += c;
		total->total += c;
	}
	gw_stmt_reset(st);
	if (e != GW_OK)
		return e;
	*typesp = types;
	*ntypesp = n;
	return GW_OK;
}
