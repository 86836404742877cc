/*
 * gateway.h: the one header the jobengine-gateway programs include.
 *
 * libgateway owns the request/response cycle, authentication, tenancy,
 * scopes, pagination, deterministic JSON, ETags and storage.  A program is a
 * route table and handlers that turn store rows into JSON; everything else
 * happens here.  Prototypes are grouped under the file that defines them,
 * and every function's prefix names that file (gw_json_* is in gw_json.c).
 *
 * Ownership: strings handed to a handler are borrowed from the request and
 * live until the request is freed (after the response is written).  Memory a
 * handler needs for the same span comes from the request's arena
 * (gw_arena_alloc); nothing of it has to be freed by hand.
 */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Every fallible call returns one of these.  GW_OK is 0; every other value
 * is an API error code (SPEC §8) that gw_err.c maps to an HTTP status, a
 * stable "ERR_*" string and a default message.  Keep the order of this enum
 * and the table in gw_err.c in step.
 */
enum gw_err {
	GW_OK = 0,
	GW_ERR_ROUTE_NOT_FOUND,		/* 404 */
	GW_ERR_METHOD_NOT_ALLOWED,	/* 405, with Allow */
	GW_ERR_PAYLOAD_TOO_LARGE,	/* 413 */
	GW_ERR_UNSUPPORTED_MEDIA_TYPE,	/* 415 */
	GW_ERR_AUTHENTICATION_REQUIRED,	/* 401, no error= in the challenge */
	GW_ERR_INVALID_TOKEN,		/* 401 */
	GW_ERR_INVALID_DPOP_PROOF,	/* 401 */
	GW_ERR_TENANT_MISMATCH,		/* 400 */
	GW_ERR_SCOPE_HEADER_FORBIDDEN,	/* 403 */
	GW_ERR_SCOPE_MISMATCH,		/* 403 */
	GW_ERR_OPERATOR_REASON_REQUIRED,/* 400 */
	GW_ERR_INVALID_OPERATOR_TICKET,	/* 400 */
	GW_ERR_INVALID_ID,		/* 400 */
	GW_ERR_INVALID_QUERY,		/* 400 */
	GW_ERR_INVALID_LIMIT,		/* 400 */
	GW_ERR_INVALID_BODY,		/* 400 */
	GW_ERR_INVALID_CONTINUATION_TOKEN, /* 400 */
	GW_ERR_CONTINUATION_TOKEN_EXPIRED, /* 400 */
	GW_ERR_INVALID_IDEMPOTENCY_KEY,	/* 400 */
	GW_ERR_VALIDATION,		/* 422 */
	GW_ERR_IDEMPOTENCY_KEY_REUSED,	/* 422 */
	GW_ERR_PRECONDITION_FAILED,	/* 412 */
	GW_ERR_CONFLICT,		/* 409, a unique constraint */
	GW_ERR_IDEMPOTENCY_IN_PROGRESS,	/* 409 */
	GW_ERR_SOURCE_NOT_FOUND,	/* 404 */
	GW_ERR_QUOTA_NOT_FOUND,		/* 404 */
	GW_ERR_QUOTA_EXISTS,		/* 409 */
	GW_ERR_DEADLETTER_NOT_FOUND,	/* 404 */
	GW_ERR_DEADLETTER_NOT_RETRYABLE,/* 409 */
	GW_ERR_DEADLETTER_NOT_PENDING,	/* 409 */
	GW_ERR_PACKRUN_NOT_FOUND,	/* 404 */
	GW_ERR_PACKRUN_TERMINAL,	/* 409 */
	GW_ERR_PACKRUN_NOT_RETRYABLE,	/* 409 */
	GW_ERR_PACKRUN_RETRY_IN_PROGRESS,/* 409 */
	GW_ERR_UNAVAILABLE,		/* 503, with Retry-After */
	GW_ERR_INTERNAL,		/* 500: always a bug or a broken host */
	GW_ERR__MAX
};

/* ---------------------------------------------------------------- */
/* gw_util.c: arena, growable buffer, bounded numbers, encodings, time. */

/*
 * A bump allocator.  Everything allocated from it is released by one
 * gw_arena_reset() or gw_arena_free().  Allocation failure aborts the
 * process (the FastCGI manager restarts it): a half-served request is worse
 * than a restarted worker, and no caller has to check for NULL.
 */
struct gw_arena;
struct gw_arena	*gw_arena_new(void);
void		 gw_arena_free(struct gw_arena *);
void		 gw_arena_reset(struct gw_arena *);
void		*gw_arena_alloc(struct gw_arena *, size_t);
char		*gw_arena_strdup(struct gw_arena *, const char *);
char		*gw_arena_strndup(struct gw_arena *, const char *, size_t);
char		*gw_arena_printf(struct gw_arena *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* A growable byte buffer, always NUL-terminated. */
struct gw_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void	 gw_buf_init(struct gw_buf *);
void	 gw_buf_free(struct gw_buf *);
void	 gw_buf_reset(struct gw_buf *);
void	 gw_buf_add(struct gw_buf *, const void *, size_t);
void	 gw_buf_puts(struct gw_buf *, const char *);
void	 gw_buf_putc(struct gw_buf *, char);
void	 gw_buf_reserve(struct gw_buf *, size_t);	/* room for n + NUL */
void	 gw_buf_printf(struct gw_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * strtonum(3) semantics on a NUL-terminated string: decimal digits only,
 * an optional leading '-' only when minval < 0, no '+', no spaces, no
 * leading zeros other than "0" itself.  On failure returns 0 and sets
 * *errstr to "invalid", "too small" or "too large"; on success *errstr is
 * NULL.  Every number that comes from outside goes through here.
 */
long long	 gw_strtonum(const char *, long long minval, long long maxval,
		    const char **errstr);

/* base64url without padding (RFC 4648 §5).  Decoding is strict: only the
 * URL alphabet, no '=', no remainder of one character.  Returns the decoded
 * length or -1. The output buffer must hold gw_b64url_declen(len) bytes. */
size_t		 gw_b64url_enclen(size_t);
size_t		 gw_b64url_declen(size_t);
size_t		 gw_b64url_encode(const void *, size_t, char *out);
long		 gw_b64url_decode(const char *, size_t, unsigned char *out);

/* Constant-time comparison of two equal-length byte strings: 1 if equal. */
int		 gw_ct_equal(const void *, const void *, size_t);

/* SHA-256 and HMAC-SHA-256 (32-byte outputs). */
void		 gw_sha256(const void *, size_t, unsigned char out[32]);
void		 gw_sha256_parts(const void *const *, const size_t *,
		    size_t nparts, unsigned char out[32]);	/* concatenated */
void		 gw_hmac_sha256(const void *key, size_t keylen,
		    const void *, size_t, unsigned char out[32]);

/* Identifiers: lowercase UUIDv7 (RFC 9562 §5.7), 36 chars + NUL; and a
 * ULID (26 chars + NUL) for trace ids. */
void		 gw_uuidv7(char out[37]);
void		 gw_ulid(char out[27]);

/* RFC 3339 UTC, second precision, with 'Z': "2026-11-27T09:58:45Z".
 * gw_time_parse accepts exactly that form; returns 0 or -1. */
void		 gw_time_format(int64_t, char out[21]);
int		 gw_time_parse(const char *, int64_t *);

/* The clock every check uses.  Seconds since the epoch. */
int64_t		 gw_now(void);

/* Character-set checks used where strings enter (SPEC §4, §6, §7). */
int		 gw_valid_id(const char *);	/* [A-Za-z0-9._:-]{1,128} */
int		 gw_valid_tenant(const char *);	/* [A-Za-z0-9._-]{1,64} */
int		 gw_valid_utf8(const char *, size_t);

/* ---------------------------------------------------------------- */
/* gw_json.c: deterministic JSON output, strict JSON input. */

/*
 * A streaming writer into a gw_buf.  Members are written in the order the
 * caller writes them, so a handler that writes a resource in one fixed
 * order produces identical bytes for identical data.  Strings are escaped
 * minimally ('"', '\\', control characters; '/' is not escaped; non-ASCII
 * UTF-8 is copied as is).  Output is compact: no spaces.
 */
#define GW_JSON_MAXDEPTH 32
struct gw_json {
	struct gw_buf	*buf;
	int		 depth;
	unsigned char	 first[GW_JSON_MAXDEPTH];	/* no comma yet at depth */
	int		 after_key;
};
void	gw_json_init(struct gw_json *, struct gw_buf *);
void	gw_json_obj_open(struct gw_json *);
void	gw_json_obj_close(struct gw_json *);
void	gw_json_arr_open(struct gw_json *);
void	gw_json_arr_close(struct gw_json *);
void	gw_json_key(struct gw_json *, const char *);
void	gw_json_str(struct gw_json *, const char *);	/* NULL writes null */
void	gw_json_int(struct gw_json *, int64_t);
void	gw_json_bool(struct gw_json *, int);
void	gw_json_null(struct gw_json *);
void	gw_json_time(struct gw_json *, int64_t);	/* 0 writes null */
void	gw_json_fixed4(struct gw_json *, double);	/* at most 4 decimals */
void	gw_json_raw(struct gw_json *, const char *);	/* trusted JSON text */
/* key + value shorthands */
void	gw_json_kstr(struct gw_json *, const char *, const char *);
void	gw_json_kint(struct gw_json *, const char *, int64_t);
void	gw_json_kbool(struct gw_json *, const char *, int);
void	gw_json_ktime(struct gw_json *, const char *, int64_t);
void	gw_json_knull(struct gw_json *, const char *);

/* ---------------------------------------------------------------- */
/* gw_req.c: the request as a handler sees it. */

struct gw_req;
struct gw_resp;
struct gw_conf;
struct gw_store;

enum gw_method {
	GW_GET = 1 << 0,
	GW_HEAD = 1 << 1,
	GW_POST = 1 << 2,
	GW_PUT = 1 << 3,
	GW_DELETE = 1 << 4,
};

/* The validated principal: filled by authentication and tenancy. */
struct gw_principal {
	const char	*sub;		/* token "sub" */
	const char	*client_id;	/* "client_id" claim, or NULL */
	const char	*tenant;	/* validated X-Stella-Tenant */
	const char	*project;	/* validated X-Stella-Project, or NULL */
	const char	*scopes;	/* granted scopes, sorted, space-separated */
	const char	*jkt;		/* cnf.jkt of a DPoP-bound token, or NULL */
	int		 dpop;		/* 1 if authenticated with the DPoP scheme */
};

struct gw_arena			*gw_req_arena(struct gw_req *);
enum gw_method			 gw_req_method(const struct gw_req *);
const char			*gw_req_path(const struct gw_req *);
const char			*gw_req_trace_id(const struct gw_req *);
const struct gw_principal	*gw_req_principal(const struct gw_req *);
/* A request header by its HTTP name ("If-Match"), or NULL. */
const char			*gw_req_header(const struct gw_req *, const char *);
/* The {id} segment of the matched route, already checked by gw_valid_id. */
const char			*gw_req_id(const struct gw_req *);
/* A documented query parameter, already validated, or NULL if absent. */
const char			*gw_req_query(const struct gw_req *, const char *);
/* The parsed JSON body (a json-c object, opaque here), or NULL. */
const void			*gw_req_body(const struct gw_req *);
/* Operator audit headers of a mutation (SPEC §6); ticket may be NULL. */
const char			*gw_req_reason(const struct gw_req *);
const char			*gw_req_ticket(const struct gw_req *);
const char			*gw_req_idempotency_key(const struct gw_req *);
struct gw_store			*gw_req_store(struct gw_req *);
const struct gw_conf		*gw_req_conf(const struct gw_req *);

/*
 * Record why a request failed and return the code, so a handler can write
 * `return gw_fail(req, GW_ERR_INVALID_BODY, "/maxActive", "must be an
 * integer");`.  pointer (a JSON pointer, or a query parameter name) may be
 * NULL; a non-NULL pointer adds an entry to the error's "details".  The
 * message replaces the code's default message when given.
 */
enum gw_err	gw_fail(struct gw_req *, enum gw_err, const char *pointer,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- */
/* gw_resp.c: what a handler answers. */

/* The body writer; the handler writes exactly one JSON value into it. */
struct gw_json	*gw_resp_json(struct gw_resp *);
/* Status other than 200 (201, 202, 204). */
void		 gw_resp_status(struct gw_resp *, int);
/* An extra header, e.g. Location.  Name and value are copied. */
void		 gw_resp_header(struct gw_resp *, const char *, const char *);
/* Use this ETag instead of the body hash (a quota's version tag). */
void		 gw_resp_etag(struct gw_resp *, const char *);
/* Use this Cache-Control instead of the configured private policy
 * (e.g. "no-store" for a health check). */
void		 gw_resp_cache(struct gw_resp *, const char *);

/* ---------------------------------------------------------------- */
/* gw_page.c: keyset pagination with signed continuation tokens. */

#define GW_PAGE_MAXKEY 4
struct gw_page {
	int		 limit;			/* 1..200, default 50 */
	int		 nkey;			/* 0 on the first page */
	const char	*key[GW_PAGE_MAXKEY];	/* sort key of the last item */
};

/*
 * Read `limit` and `continuationToken` of the current request.  The token
 * must have been minted for the same tenant, project, route and filters
 * (every other documented query parameter) and not have expired
 * (SPEC §9).
 */
enum gw_err	gw_page_begin(struct gw_req *, struct gw_page *);
/*
 * Write "continuationToken": <token> for a page whose last item has the
 * given sort key, or null when more == 0.
 */
void		gw_page_end(struct gw_req *, struct gw_json *, int more,
		    const char *const *key, int nkey);

/* ---------------------------------------------------------------- */
/* gw_store*.c: storage.  Handlers call these; none of them sees SQL. */

struct gw_store;

/* Rows: strings are arena-allocated; NULL for SQL NULL; times are epoch
 * seconds, 0 for NULL. */
struct gw_source {
	const char	*source_id;
	const char	*tenant_id;
	const char	*project_id;
	const char	*name;
	const char	*source_type;
	int		 enabled;
	int		 paused;
	const char	*pause_reason;
	int64_t		 created_at;
	int64_t		 updated_at;
};

struct gw_source_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*source_type;	/* NULL: any */
	int		 enabled;	/* -1: any, else 0 or 1 */
};

/* Returns up to page->limit rows after page->key in (name, sourceId)
 * order; *more is 1 when a further row exists. */
enum gw_err	gw_store_sources_list(struct gw_store *, struct gw_arena *,
		    const struct gw_source_filter *, const struct gw_page *,
		    struct gw_source **, size_t *, int *more);
enum gw_err	gw_store_source_get(struct gw_store *, struct gw_arena *,
		    const char *tenant, const char *project, const char *id,
		    struct gw_source *);
/* A cheap round trip to the store: GW_OK or GW_ERR_UNAVAILABLE. */
enum gw_err	gw_store_ping(struct gw_store *);

/* ---------------------------------------------------------------- */
/* gw_store_quotas.c: quotas and the quota summary (jobengine-quotas). */

struct gw_quota {
	const char	*quota_id;
	const char	*tenant_id;
	const char	*project_id;	/* NULL: every project */
	const char	*job_type;
	int64_t		 max_active;
	int64_t		 max_per_hour;
	int64_t		 burst;
	int		 paused;
	const char	*pause_reason;	/* these four NULL/0 unless paused */
	const char	*pause_ticket;
	int64_t		 paused_at;
	const char	*paused_by;
	int64_t		 version;	/* 1, +1 per change */
	int64_t		 created_at;
	int64_t		 updated_at;
	const char	*updated_by;
};

struct gw_quota_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*job_type;	/* NULL: any */
	int		 paused;	/* -1: any, else 0 or 1 */
};

/* Which quota a call acts on: the request's tenant and project (NULL: any
 * project) and the path's id. */
struct gw_quota_key {
	const char	*tenant;
	const char	*project;
	const char	*id;
};

/* The new limits of a create or a PUT (burst already defaulted). */
struct gw_quota_limits {
	int64_t		 max_active;
	int64_t		 max_per_hour;
	int64_t		 burst;
};

/* Who changes a quota, and why (pause stamps reason and ticket). */
struct gw_quota_change {
	const char	*actor;
	const char	*reason;
	const char	*ticket;
	int64_t		 now;
};

/* The strong ETag of a quota, derived from its id and version:
 * "\"q<version>-<16 base64url chars>\"" (SPEC §9). */
#define GW_QUOTA_ETAG_MAX 48
void		gw_store_quota_etag(const struct gw_quota *,
		    char out[GW_QUOTA_ETAG_MAX]);

/* Up to page->limit rows after page->key in (jobType, quotaId) order. */
enum gw_err	gw_store_quotas_list(struct gw_store *, struct gw_arena *,
		    const struct gw_quota_filter *, const struct gw_page *,
		    struct gw_quota **, size_t *, int *more);
enum gw_err	gw_store_quota_get(struct gw_store *, struct gw_arena *,
		    const struct gw_quota_key *, struct gw_quota *);
/*
 * The mutations run inside the caller's write transaction and never begin
 * or commit one.  if_match is the If-Match field or NULL; when given and
 * no tag in it matches the quota's ETag (strong comparison), the call is
 * GW_ERR_PRECONDITION_FAILED and changes nothing.  *q is the quota as it
 * is afterwards.
 */
/* q->quota_id, tenant_id, project_id, job_type set by the caller; an
 * existing (tenant, project, jobType) is GW_ERR_QUOTA_EXISTS. */
enum gw_err	gw_store_quota_create(struct gw_store *, struct gw_quota *,
		    const struct gw_quota_limits *,
		    const struct gw_quota_change *);
enum gw_err	gw_store_quota_update(struct gw_store *, struct gw_arena *,
		    const struct gw_quota_key *, const char *if_match,
		    const struct gw_quota_limits *,
		    const struct gw_quota_change *, struct gw_quota *);
enum gw_err	gw_store_quota_delete(struct gw_store *, struct gw_arena *,
		    const struct gw_quota_key *, const char *if_match);
/* pause != 0 pauses, else resumes; pausing a paused quota or resuming a
 * running one changes nothing (*changed = 0). */
enum gw_err	gw_store_quota_pause(struct gw_store *, struct gw_arena *,
		    const struct gw_quota_key *, int pause,
		    const struct gw_quota_change *, struct gw_quota *,
		    int *changed);

/* One item of GET /jobengine/quotas/summary (SPEC §10). */
struct gw_quota_load {
	struct gw_quota	 q;
	int64_t		 active;		/* leased + running */
	int64_t		 queued;		/* pending + scheduled */
	int64_t		 admitted_last_hour;
	int64_t		 tokens_available;
	const char	*backpressure;	/* paused saturated elevated normal */
};

/* Every quota of the tenant (of the project, when given) in (jobType,
 * quotaId) order with its load at time now. */
enum gw_err	gw_store_quota_summary(struct gw_store *, struct gw_arena *,
		    const char *tenant, const char *project, int64_t now,
		    struct gw_quota_load **, size_t *);

/* ---------------------------------------------------------------- */
/* gw_body.c: JSON request bodies against a member table (SPEC §7). */

enum gw_btype {
	GW_B_INT,		/* a JSON integer in min..max */
	GW_B_BOOL,
	GW_B_TEXT,		/* min..max bytes, no control characters */
	GW_B_ID,		/* gw_valid_id */
	GW_B_JOB_TYPE,		/* [a-z0-9][a-z0-9._-]{0,63} */
	GW_B_TIME,		/* RFC 3339 UTC string; epoch in .i */
	GW_B_IDS,		/* array of min..max distinct ids */
	GW_B_OBJECT,		/* an object checked against .sub */
};

#define GW_B_REQUIRED	0x01
#define GW_B_NULLABLE	0x02	/* null reads as absent */

/* A table ends with a member whose name is NULL. */
struct gw_bmember {
	const char		*name;
	enum gw_btype		 type;
	unsigned		 flags;
	int64_t			 min, max;
	const struct gw_bmember	*sub;		/* GW_B_OBJECT */
};

/* One value per table entry, same index.  Strings live in the arena. */
struct gw_bval {
	int		 present;
	int64_t		 i;		/* INT, BOOL, TIME */
	const char	*s;		/* TEXT, ID, JOB_TYPE, TIME */
	const char	**ids;		/* IDS, NULL-terminated */
	size_t		 nids;
	struct gw_bval	*sub;		/* OBJECT */
};

/* Check the request's body (none reads as {}) against the table: every
 * bad, missing or unknown member is one entry of the details of a 400
 * GW_ERR_INVALID_BODY. */
enum gw_err	gw_body_check(struct gw_req *, const struct gw_bmember *,
		    struct gw_bval *);
int		gw_body_valid_job_type(const char *);

/* ---------------------------------------------------------------- */
/* gw_store_jobs.c, gw_store_deadletter.c: job counts and the deadletter
 * queue (jobengine-jobs, jobengine-deadletter). */

/* The enumerations of SPEC §10, in the order the responses list them. */
#define GW_JOB_NSTATUS	8
#define GW_DL_NSTATUS	4
extern const char *const gw_job_statuses[GW_JOB_NSTATUS + 1];
extern const char *const gw_dl_statuses[GW_DL_NSTATUS + 1];
/* Index of s in a NULL-terminated list, or -1. */
int		gw_store_enum_index(const char *const *, const char *s);

/* Job counts of one jobType (or of all of them: job_type NULL). */
struct gw_job_counts {
	const char	*job_type;
	int64_t		 total;
	int64_t		 by_status[GW_JOB_NSTATUS];
};

struct gw_job_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*job_type;	/* NULL: any */
	const char	*source_id;	/* NULL: any */
};

/* GET /jobs/summary: read from job_counts only, so its cost follows the
 * number of (project, jobType, source, status) combinations, never the
 * number of jobs.  *types in jobType order. */
enum gw_err	gw_store_jobs_summary(struct gw_store *, struct gw_arena *,
		    const struct gw_job_filter *, struct gw_job_counts *total,
		    struct gw_job_counts **types, size_t *ntypes);

struct gw_dl_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*job_type;	/* NULL: any (and so on) */
	const char	*source_id;
	const char	*status;	/* summary */
	const char	*category;	/* replay/pending */
	const char	*error_code;	/* replay/pending */
	int64_t		 failed_before;	/* pending: failedAt < it, or */
	int64_t		 failed_after;	/* pending: failedAt >= it, or */
};
#define GW_DL_NOTIME	INT64_MIN	/* ... no bound */

/* A cluster of pending entries: one (category, errorCode). */
#define GW_DL_TOPERRORS	10
struct gw_dl_cluster {
	const char	*category;
	const char	*error_code;
	int64_t		 count;
	int64_t		 retryable;	/* of them, retryable */
	int64_t		 last_failed_at;
	const char	*sample_message;	/* of the newest of them */
};

struct gw_dl_category {
	const char	*category;
	int64_t		 count;
};

struct gw_dl_stats {
	int64_t			 total;
	int64_t			 by_status[GW_DL_NSTATUS];
	int64_t			 retryable;	/* pending and retryable */
	int64_t			 oldest_pending_failed_at;	/* 0: none */
	int64_t			 newest_failed_at;		/* 0: none */
	struct gw_dl_category	*categories;	/* category order */
	size_t			 ncategories;
	struct gw_dl_cluster	 top[GW_DL_TOPERRORS];
	size_t			 ntop;
};

/* GET /deadletter/stats (filters: tenant, project, job_type, source_id). */
enum gw_err	gw_store_deadletter_stats(struct gw_store *,
		    struct gw_arena *, const struct gw_dl_filter *,
		    struct gw_dl_stats *);

#define GW_DL_MAXJOBTYPES 20
struct gw_dl_group {
	const char	*category;
	const char	*error_code;
	int64_t		 count;
	int64_t		 pending;
	int64_t		 retryable;	/* pending and retryable */
	int64_t		 replayed;
	const char	*job_types[GW_DL_MAXJOBTYPES];	/* sorted */
	size_t		 njob_types;
	int64_t		 oldest_failed_at;
	int64_t		 newest_failed_at;
};

/* GET /deadletter/summary: up to page->limit groups after page->key in
 * (category, errorCode) order (filters: also status). */
enum gw_err	gw_store_deadletter_summary(struct gw_store *,
		    struct gw_arena *, const struct gw_dl_filter *,
		    const struct gw_page *, struct gw_dl_group **, size_t *,
		    int *more);

/* What a replay did. */
struct gw_dl_replay {
	const char	*entry_id;
	const char	*status;		/* "replayed" */
	char		 replay_job_id[37];
	int64_t		 replayed_at;
	int64_t		 replay_count;
};

/*
 * Replay one entry inside the caller's write transaction: the entry
 * becomes replayed only if it is pending and (retryable or force), in one
 * conditional UPDATE, so two processes racing for it replay it once; then
 * the new high-priority job.  GW_ERR_DEADLETTER_NOT_FOUND (missing, of
 * another tenant or project), _NOT_PENDING, _NOT_RETRYABLE.
 */
enum gw_err	gw_store_deadletter_replay(struct gw_store *,
		    const char *tenant, const char *project,
		    const char *entry_id, int force, const char *actor,
		    int64_t now, struct gw_dl_replay *);
/* The oldest pending retryable entry matching f strictly after
 * (after_failed_at, after_id) (after_id NULL: from the start);
 * *id is NULL when there is none. */
enum gw_err	gw_store_deadletter_next(struct gw_store *, struct gw_arena *,
		    const struct gw_dl_filter *, int64_t after_failed_at,
		    const char *after_id, const char **id,
		    int64_t *failed_at);
/* The count of pending retryable entries matching f. */
enum gw_err	gw_store_deadletter_replayable(struct gw_store *,
		    const struct gw_dl_filter *, int64_t *);
/* The stable code ("ERR_DEADLETTER_NOT_PENDING") and default message of
 * an error, for the per-entry results of batch and pending replay. */
void		gw_store_deadletter_error(enum gw_err, const char **code,
		    const char **message);

/* ---------------------------------------------------------------- */
/* gw_store_packruns.c, gw_store_audit.c: pack runs and the audit listing
 * (jobengine-packruns, jobengine-audit). */

struct gw_packrun {
	const char	*pack_run_id;
	const char	*tenant_id;
	const char	*project_id;
	const char	*pack_id;
	const char	*pack_version;
	const char	*status;
	int64_t		 attempt;
	const char	*retry_of;
	const char	*reason;
	int64_t		 created_at;
	int64_t		 started_at;
	int64_t		 finished_at;
	int64_t		 updated_at;
	const char	*canceled_by;
};

struct gw_packrun_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*status;	/* NULL: any */
	const char	*pack_id;	/* NULL: any */
};

/* 1 if s is one of the seven pack run statuses of SPEC §10. */
int		gw_packrun_status_valid(const char *);
/* Up to page->limit rows after page->key in (createdAt desc, packRunId)
 * order; the page key is (createdAt as decimal seconds, packRunId). */
enum gw_err	gw_store_packruns_list(struct gw_store *, struct gw_arena *,
		    const struct gw_packrun_filter *, const struct gw_page *,
		    struct gw_packrun **, size_t *, int *more);
enum gw_err	gw_store_packrun_get(struct gw_store *, struct gw_arena *,
		    const char *tenant, const char *project, const char *id,
		    struct gw_packrun *);
/*
 * Inside the caller's write transaction.  cancel: pending, scheduled or
 * running become canceled (*changed = 1); an already canceled run is
 * returned as it is (*changed = 0); any other status is
 * GW_ERR_PACKRUN_TERMINAL.  retry: a new pending run (attempt + 1,
 * retryOf = id) of a failed, canceled or timed_out run, returned in *r;
 * GW_ERR_PACKRUN_NOT_RETRYABLE, or GW_ERR_PACKRUN_RETRY_IN_PROGRESS
 * when a retry of it is still pending, scheduled or running.
 */
enum gw_err	gw_store_packrun_cancel(struct gw_store *, struct gw_arena *,
		    const char *tenant, const char *project, const char *id,
		    const char *actor, int64_t now, struct gw_packrun *,
		    int *changed);
enum gw_err	gw_store_packrun_retry(struct gw_store *, struct gw_arena *,
		    const char *tenant, const char *project, const char *id,
		    int64_t now, struct gw_packrun *);

/* One audit record as the listing shows it (SPEC §11). */
struct gw_audit_item {
	int64_t		 seq;
	int64_t		 occurred_at;
	const char	*tenant_id;
	const char	*project_id;
	const char	*actor;
	const char	*client_id;
	const char	*scopes;	/* space-separated */
	const char	*action;
	const char	*target_type;
	const char	*target_id;
	const char	*reason;
	const char	*ticket;
	const char	*trace_id;
	const char	*idempotency_key;
	int64_t		 outcome;
	const char	*hash;
};

struct gw_audit_filter {
	const char	*tenant;	/* required */
	const char	*project;	/* NULL: every project */
	const char	*action;	/* NULL: any */
	const char	*target_type;
	const char	*target_id;
	int64_t		 since;		/* occurredAt >= since; 0: any */
};

/* Up to page->limit records after page->key (one key: seq as decimal),
 * newest first. */
enum gw_err	gw_store_audit_list(struct gw_store *, struct gw_arena *,
		    const struct gw_audit_filter *, const struct gw_page *,
		    struct gw_audit_item **, size_t *, int *more);
/* The text of each list query, for a filter and a first (keyset 0) or
 * later page; exposed so the tests can EXPLAIN it. */
const char	*gw_store_packruns_sql(const struct gw_packrun_filter *,
		    int keyset, char *, size_t);
const char	*gw_store_audit_sql(const struct gw_audit_filter *,
		    int keyset, char *, size_t);

/* ---------------------------------------------------------------- */
/* gw_app.c: a program's definition and its serve loop. */

/* Route flags. */
#define GW_ROUTE_PUBLIC	0x01	/* no authentication, no tenant (status) */
#define GW_ROUTE_BODY	0x02	/* takes a JSON object body */
#define GW_ROUTE_OWN_TXN 0x04	/* a mutation that runs its own transactions
				   (gw_txn_*) and writes its own audit
				   records (gw_audit_append) */

enum gw_qtype {
	GW_Q_STRING,		/* 1-128 printable ASCII, no controls */
	GW_Q_ID,		/* gw_valid_id */
	GW_Q_BOOL,		/* exactly true or false */
	GW_Q_TIME,		/* RFC 3339 UTC */
	GW_Q_LIMIT,		/* 1..200, ERR_INVALID_LIMIT */
	GW_Q_TOKEN,		/* continuation token: checked by gw_page */
};

struct gw_qparam {
	const char	*name;
	enum gw_qtype	 type;
};

typedef enum gw_err (*gw_handler)(struct gw_req *, struct gw_resp *);

/*
 * One route.  The pattern is a full path; "{id}" stands for one segment
 * that must pass gw_valid_id (else ERR_INVALID_ID).  Routes are matched in
 * table order, so "/jobengine/quotas/summary" goes before
 * "/jobengine/quotas/{id}".  GET routes also answer HEAD.
 */
struct gw_route {
	unsigned		 methods;	/* one enum gw_method bit */
	const char		*pattern;
	const char		*scope;		/* required scope; NULL if public */
	unsigned		 flags;
	const struct gw_qparam	*query;		/* {NULL}-terminated, or NULL */
	const char		*action;	/* audit action of a mutation */
	gw_handler		 handler;
};

struct gw_app_def {
	const char		*name;		/* "jobengine-sources" */
	const struct gw_route	*routes;
	size_t			 nroutes;
};

/*
 * Load the configuration, open the store, then serve: FastCGI on fd 0 (or
 * the fd 3 listener of systemd socket activation), or one plain-CGI request
 * when fd 0 is not a socket.  Returns the process exit status; SIGTERM
 * finishes the request in flight and returns 0.
 */
int	gw_app_main(const struct gw_app_def *, int argc, char *argv[]);

/* ---------------------------------------------------------------- */
/* gw_audit.c: the tamper-evident audit log (SPEC §11).
 *
 * Every mutation (POST, PUT, DELETE) runs its handler inside one write
 * transaction that the pipeline opens; when the handler returns GW_OK the
 * pipeline appends the audit record (action from the route, outcome the
 * response status) and commits, so the change and its record commit
 * together or not at all.  A handler that returns an error has its
 * transaction rolled back and the refusal recorded on its own. */

/* What the mutation acts on: defaults to the type named by the route's
 * action ("quota.pause" -> "quota") and the path's {id}; a handler that
 * creates a resource names the new id here. */
void		gw_audit_target(struct gw_req *, const char *type,
		    const char *id);
/* For GW_ROUTE_OWN_TXN handlers: append one record inside the
 * transaction opened with gw_txn_begin. */
enum gw_err	gw_audit_append(struct gw_req *, const char *action,
		    const char *type, const char *id, int outcome);
/* One record as JSON: the canonical record of docs/audit.md (every field
 * but hash, in this fixed order), then "hash" when with_hash.  Written
 * with it, a listed item minus its hash is exactly what the hash covers. */
void		gw_audit_json(struct gw_json *, const struct gw_audit_item *,
		    int with_hash);

/* gw_app.c: the transactions of GW_ROUTE_OWN_TXN handlers.  Every other
 * handler already runs in the pipeline's transaction. */
enum gw_err	gw_txn_begin(struct gw_req *);
enum gw_err	gw_txn_commit(struct gw_req *);
void		gw_txn_rollback(struct gw_req *);

/* The actor of the current request, for store functions that stamp rows
 * (updatedBy, pausedBy, replayedBy, canceledBy): the token's sub. */
#define gw_req_actor(req)	(gw_req_principal(req)->sub)

/* ---------------------------------------------------------------- */
/* gw_admin.c: the operations behind jobengine-admin.  Each loads the
 * configuration (NULL: $JOBENGINE_GATEWAY_CONFIG or the default path),
 * prints its diagnostics on stderr and returns a process exit status. */

int	gw_admin_migrate(const char *config);
int	gw_admin_import(const char *config, const char *file);
int	gw_admin_config_check(const char *config);
/* Check every tenant's audit chain (or one): exit 1 naming the first bad
 * record of each broken chain. */
int	gw_admin_audit_verify(const char *config, const char *tenant);
/* The DPoP replay records (docs/dpop.md). */
int	gw_admin_dpop_status(const char *config);

struct gw_admin_token {
	const char	*config;	/* for iss and aud when not given */
	const char	*key_file;
	const char	*kid;
	const char	*alg;
	const char	*typ;
	const char	*iss;
	const char	*sub;
	const char	*tenant;
	const char	*scope;
	const char	*aud;		/* space-separated */
	const char	*cnf_jkt;
	const char	*client_id;
	long		 ttl;
};
int	gw_admin_token(const struct gw_admin_token *);
int	gw_admin_jwks(const char *key_file, const char *kid, const char *alg);

#endif /* GATEWAY_H */
