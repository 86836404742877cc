/*
 * extern.h: libgateway's internal interfaces.  Library files and the tests
 * include it; programs include only gateway.h.  Like gateway.h it names no
 * third-party type, so neither header drags libfcgi, cjose, json-c, SQLite
 * or libpq into a file that does not use them itself.
 */
#ifndef EXTERN_H
#define EXTERN_H

#include <stdio.h>

#include "gateway.h"

/* ---------------------------------------------------------------- */
/* gw_conf.c: the configuration file and its JOBENGINE_* overrides. */

#define GW_CONF_MAXLIST 16

struct gw_conf {
	char		*path;			/* the file it came from */
	char		*database;		/* "sqlite:PATH" or "postgresql://..." */
	char		*public_base_url;	/* "https://gw.example.org", no slash */
	char		*key_file;
	unsigned char	*server_key;		/* the key file's bytes, >= 32 */
	size_t		 server_keylen;
	char		*issuer;
	char		*audiences[GW_CONF_MAXLIST];
	size_t		 naudiences;
	char		*jwks_file;
	int		 leeway;		/* 0..300 */
	int		 max_token_lifetime;
	char		*tenant_claims[GW_CONF_MAXLIST];
	size_t		 ntenant_claims;
	int		 require_dpop;
	int		 dpop_max_age;
	int		 allow_scope_header;
	int		 token_ttl;		/* pagination.token_ttl_seconds */
	int		 cache_max_age;
	int		 cache_stale_if_error;
	long		 max_body_bytes;
	int		 log_level;		/* enum gw_loglevel */
	int		 busy_timeout_ms;	/* store.busy_timeout_ms */
	char		*pg_schema;		/* store.pg_schema */
	int		 statement_timeout_ms;	/* store.statement_timeout_ms */
	int		 dpop_replay_slots;	/* store.dpop_replay_slots */
	char		*dpop_replay_file;	/* "": gw_replay_default_path */
};

/* The default path, from configure's sysconfdir. */
const char	*gw_conf_default_path(void);
/*
 * Load path (or, when NULL, $JOBENGINE_GATEWAY_CONFIG, else the default),
 * apply JOBENGINE_<KEY> overrides from envp, validate every value and read
 * the server key.  Relative file names in the file are taken relative to
 * the file's directory.  On failure returns -1 with one line in err.
 */
int		 gw_conf_load(struct gw_conf *, const char *path, char **envp,
		    char *err, size_t errlen);
void		 gw_conf_free(struct gw_conf *);

/* ---------------------------------------------------------------- */
/* gw_log.c: one line per event on stderr (the web server's error log). */

enum gw_loglevel {
	GW_LOG_ERROR,
	GW_LOG_WARN,
	GW_LOG_INFO,
	GW_LOG_DEBUG,
};

void	gw_log_init(const char *prog, int level);
void	gw_log(int level, const char *trace_id, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- */
/* gw_err.c: the one table from error code to status and envelope. */

struct gw_errinfo {
	int		 status;
	const char	*code;		/* "ERR_QUOTA_NOT_FOUND" */
	const char	*message;	/* "quota not found" */
};

const struct gw_errinfo	*gw_err_info(enum gw_err);
const char		*gw_err_reason_phrase(int status);
/* Turn req->err into the response: status, headers (WWW-Authenticate,
 * Allow, Retry-After, Cache-Control: no-store) and the envelope of SPEC §8. */
void			 gw_err_respond(struct gw_req *, struct gw_resp *);

/* ---------------------------------------------------------------- */
/* gw_req.c, gw_resp.c: the request and response objects. */

struct gw_detail {
	const char		*pointer;
	const char		*message;
	struct gw_detail	*next;
};

struct gw_kv {
	const char	*key;
	const char	*val;
};

/* How the transport hands the body over: read up to n bytes, 0 at EOF,
 * -1 on error. */
typedef int (*gw_read_fn)(void *, char *, int);

#define GW_MAXQUERY 16

struct gw_req {
	struct gw_arena		*arena;
	struct gw_app		*app;
	char			**envp;		/* CGI variables, borrowed */
	gw_read_fn		 read;
	void			*read_ctx;
	int64_t			 now;

	const char		*method_str;
	enum gw_method		 method;
	const char		*path;		/* from REQUEST_URI, no query */
	const char		*query_string;
	struct gw_kv		 query[GW_MAXQUERY];
	size_t			 nquery;

	const struct gw_route	*route;
	unsigned		 allow;		/* methods of the matched path */
	const char		*id;		/* the {id} segment */
	char			*body;
	size_t			 bodylen;
	void			*json;		/* json_object *, owned */

	const char		*trace_id;
	const char		*traceparent;
	const char		*auth_scheme;	/* "Bearer" or "DPoP" once seen */
	const char		*token;		/* the access token */
	struct gw_principal	 principal;
	const char		*reason;
	const char		*ticket;
	const char		*idem_key;
	const char		*audit_type;	/* gw_audit_target */
	const char		*audit_id;

	enum gw_err		 err;
	const char		*err_message;
	struct gw_detail	*details;
	struct gw_detail	**details_tail;
};

#define GW_RESP_MAXHDR 8

struct gw_resp {
	struct gw_arena	*arena;		/* the request's */
	int		 status;
	const char	*hdr_name[GW_RESP_MAXHDR];
	const char	*hdr_value[GW_RESP_MAXHDR];
	size_t		 nhdr;
	const char	*etag;
	const char	*cache_control;	/* NULL: chosen by the pipeline */
	struct gw_buf	 body;
	struct gw_json	 json;
	int		 json_started;
};

/* Fill a request from CGI variables; no I/O happens here. */
void	gw_req_init(struct gw_req *, struct gw_app *, struct gw_arena *,
	    char **envp, gw_read_fn, void *);
void	gw_req_cleanup(struct gw_req *);
/* The raw CGI variable, or NULL. */
const char *gw_req_env(const struct gw_req *, const char *);
/* Number of times a CGI variable appears (front ends may repeat one). */
int	gw_req_env_count(const struct gw_req *, const char *);
/* Read exactly len bytes (already checked against max), or, when len is
 * -1 (no CONTENT_LENGTH), to the end: more than max is a 413. */
enum gw_err gw_req_read_body(struct gw_req *, long len, long max);
/* Parse the query string into req->query (percent-decoded; repeated or
 * undocumented names are refused later, by the route's table). */
enum gw_err gw_req_parse_query(struct gw_req *);

void	gw_resp_init(struct gw_resp *, struct gw_arena *);
void	gw_resp_cleanup(struct gw_resp *);
/* Serialise status line, headers and (unless HEAD or 204/304) body. */
void	gw_resp_serialize(const struct gw_req *, const struct gw_resp *,
	    struct gw_buf *);
/* The same without the body; 1 when the body (resp->body) follows. */
int	gw_resp_serialize_head(const struct gw_req *, const struct gw_resp *,
	    struct gw_buf *);

/* ---------------------------------------------------------------- */
/* gw_route.c */

/* Find the route for req->method and req->path; sets req->route, req->id
 * and req->allow.  GW_ERR_ROUTE_NOT_FOUND, GW_ERR_METHOD_NOT_ALLOWED or
 * GW_ERR_INVALID_ID. */
enum gw_err	gw_route_match(struct gw_req *, const struct gw_route *,
		    size_t);
/* Check req->query against the route's table (SPEC §7). */
enum gw_err	gw_route_check_query(struct gw_req *);

/* ---------------------------------------------------------------- */
/* gw_json.c: strict input. */

/*
 * Parse one JSON object: UTF-8, depth <= 16, no duplicate member names,
 * nothing after it (SPEC §7).  Returns a json_object * the caller owns
 * (json_object_put), or NULL with a message in err.
 */
void	*gw_json_parse_object(const char *, size_t, char *err, size_t);
/* Canonical compact text of any JSON value (for stored payloads). */
char	*gw_json_canonical(const char *, size_t, struct gw_arena *);

/* ---------------------------------------------------------------- */
/* gw_auth.c: access tokens (SPEC §3) against the configured JWKS. */

struct gw_keyset;

int	gw_auth_load_jwks(const char *path, struct gw_keyset **,
	    char *err, size_t errlen);
void	gw_auth_free_jwks(struct gw_keyset *);

struct gw_claims {
	const char	*sub;
	const char	*client_id;
	const char	*tenant;	/* first present of auth.tenant_claims */
	const char	*scopes;	/* sorted, unique, space-separated */
	const char	*jkt;		/* cnf.jkt, or NULL */
	int64_t		 exp;
	int64_t		 iat;		/* 0 if absent */
};

/* Verify a compact JWS access token: every check of SPEC §3 but DPoP. */
enum gw_err	gw_auth_verify_token(const struct gw_conf *,
		    const struct gw_keyset *, struct gw_arena *,
		    const char *token, int64_t now, struct gw_claims *);
/* Pipeline stage 3: parse Authorization (and DPoP), verify, fill
 * req->principal.sub/client_id/scopes/jkt/dpop and req->auth_scheme. */
enum gw_err	gw_auth_request(struct gw_req *, const struct gw_keyset *,
		    const char **token_tenant);
/* 1 if the space-separated scope list holds scope exactly. */
int		gw_auth_has_scope(const char *scopes, const char *scope);

/* ---------------------------------------------------------------- */
/* gw_dpop.c, gw_store_dpop.c: DPoP proofs (RFC 9449) and their replay
 * record. */

#define GW_DPOP_MAXPROOF	4096	/* bytes of one proof */
#define GW_DPOP_PURGE_EVERY	64	/* records written per purge */

struct gw_dpop {
	char		 jkt[44];	/* RFC 7638 thumbprint of the jwk */
	const char	*jti;
	int64_t		 iat;
};

/*
 * Every check of SPEC §3 on one proof but the replay record: NULL when it
 * passes (d filled), else why it was refused (never quoting the proof).
 * token NULL skips ath (a proof sent without an access token); token_jkt
 * is the token's cnf.jkt or NULL.
 */
const char	*gw_dpop_check(const struct gw_conf *, struct gw_arena *,
		    const char *proof, const char *method, const char *path,
		    const char *token, const char *token_jkt, int64_t now,
		    struct gw_dpop *d);
/* Pipeline stage 3 for DPoP: the DPoP header, gw_dpop_check, the replay
 * record.  401 ERR_INVALID_DPOP_PROOF, or 503 when the record cannot be
 * written. */
enum gw_err	gw_dpop_request(struct gw_req *, const char *token_jkt);
/* RFC 7638 thumbprint of a public EC P-256 or RSA JWK (JSON text). */
int		gw_dpop_thumbprint(const char *jwk, size_t, char out[44]);
/* RFC 9449 §4.2 ath: base64url(SHA-256(token)). */
void		gw_dpop_ath(const char *token, char out[44]);

/* Record (jkt, jti) until expires: GW_OK the first time, GW_ERR_CONFLICT
 * while an unexpired record exists, another error if it cannot be
 * written.  A record is live while expires >= now.  In dpop_replay rows,
 * every GW_DPOP_PURGE_EVERY records, expired ones are deleted. */
enum gw_err	gw_store_dpop_record(struct gw_store *, const char *jkt,
		    const char *jti, int64_t expires, int64_t now);
/* Delete expired rows: an index range, never a scan (a replay table
 * needs none: its expired records are overwritten in place). */
enum gw_err	gw_store_dpop_purge(struct gw_store *, int64_t now);
extern const char gw_store_dpop_purge_sql[];
/* The time from which the records are complete: proofs issued before it
 * are refused (gw_replay.c); 0 for dpop_replay rows. */
int64_t		gw_store_dpop_since(struct gw_store *);
/* The live record's expiry, 0 when there is none, -1 on a store error. */
int64_t		gw_store_dpop_expires(struct gw_store *, const char *jkt,
		    const char *jti, int64_t now);
/* The records (a scan: admin and tests only): 1 for a replay table, all
 * of info filled; 0 for dpop_replay rows, only info->live; -1 on a store
 * error. */
struct gw_replay_info;
int		gw_store_dpop_info(struct gw_store *, int64_t now,
		    struct gw_replay_info *info);

/* ---------------------------------------------------------------- */
/* gw_replay.c: a SQLite store's DPoP replay records, a hash table in a
 * file that every process of the machine maps (docs/dpop.md). */

#define GW_REPLAY_BUCKET	8	/* slots; a key may live in two */

struct gw_replay;

struct gw_replay_info {
	const char	*file;		/* NULL: anonymous (in memory) */
	uint32_t	 slots;
	uint32_t	 live;		/* unexpired records */
	int64_t		 since;
	uint64_t	 written;
	uint64_t	 refused_full;
};

/* Map path's table (made when missing, from another boot or damaged,
 * with like's mode and owner), or with path NULL an anonymous one; slots
 * a power of two. */
struct stat;
enum gw_err	gw_replay_open(const char *path, const struct stat *like,
		    uint32_t slots, int64_t leeway, int64_t now,
		    struct gw_replay **, char *err, size_t errlen);
void		gw_replay_close(struct gw_replay *);
enum gw_err	gw_replay_record(struct gw_replay *, const char *jkt,
		    const char *jti, int64_t expires, int64_t now);
int64_t		gw_replay_expires(struct gw_replay *, const char *jkt,
		    const char *jti, int64_t now);
int		gw_replay_info(struct gw_replay *, int64_t now,
		    struct gw_replay_info *);
int64_t		gw_replay_since(const struct gw_replay *);
/* The table's lock, exposed for the tests (a process that dies holding
 * it): 1 when held. */
int		gw_replay_lock(struct gw_replay *);
void		gw_replay_unlock(struct gw_replay *);
/* /dev/shm/jobengine-gateway-replay-HASH for a database file (0 if its
 * real path cannot be had). */
int		gw_replay_default_path(const char *database, char *out,
		    size_t outlen);

/* ---------------------------------------------------------------- */
/* gw_tenant.c: pipeline stages 4 and 6. */

/* X-Stella-Tenant / alias / project / X-Stella-Scopes (SPEC §4). */
enum gw_err	gw_tenant_resolve(struct gw_req *, const char *token_tenant);
/* X-Stella-Operator-Reason / -Ticket and Idempotency-Key syntax (SPEC §6). */
enum gw_err	gw_tenant_operator(struct gw_req *);

/* ---------------------------------------------------------------- */
/* gw_etag.c: validators and preconditions (RFC 9110 §8.8.3, §13). */

/* "\"" + 22 base64url chars of SHA-256(tenant NUL route NUL body) + "\"" */
void	gw_etag_body(const char *tenant, const char *route, const char *,
	    size_t, char out[25]);
/* If-None-Match: "*" or a list, weak comparison.  1 on a match; a
 * malformed field never matches. */
int	gw_etag_none_match(const char *field, const char *etag);
/* If-Match: "*" or a list, strong comparison (weak tags never match). */
int	gw_etag_match(const char *field, const char *etag);

/* ---------------------------------------------------------------- */
/* gw_page.c */

/* Token internals, exposed for the tests. */
int	gw_page_encode(const unsigned char *key, size_t keylen,
	    const unsigned char binding[32], int64_t exp,
	    const char *const *sortkey, int nkey, struct gw_buf *out);
enum gw_err gw_page_decode(const unsigned char *key, size_t keylen,
	    const unsigned char binding[32], int64_t now, const char *token,
	    struct gw_arena *, const char **sortkey, int *nkey);
/* SHA-256 over tenant, project, route pattern and every filter. */
void	gw_page_binding(const struct gw_req *, unsigned char out[32]);

/* ---------------------------------------------------------------- */
/* gw_db.c, gw_db_sqlite.c, gw_db_pg.c: the driver interface under the
 * store.  SQL is written once with '?' placeholders; a driver rewrites what its dialect
 * needs (PostgreSQL's $n) when it prepares a statement. */

struct gw_db;
struct gw_stmt;

enum gw_dialect {
	GW_DIALECT_SQLITE,
	GW_DIALECT_PG,
};

struct gw_db_ops {
	enum gw_dialect	 dialect;
	void		 (*close)(struct gw_db *);
	enum gw_err	 (*exec)(struct gw_db *, const char *);
	enum gw_err	 (*begin)(struct gw_db *, int write);
	enum gw_err	 (*commit)(struct gw_db *);
	void		 (*rollback)(struct gw_db *);
	enum gw_err	 (*prepare)(struct gw_db *, const char *,
			    struct gw_stmt **);
	void		 (*bind_text)(struct gw_stmt *, int, const char *);
	void		 (*bind_int)(struct gw_stmt *, int, int64_t);
	enum gw_err	 (*step)(struct gw_stmt *, int *row);
	const char	*(*col_text)(struct gw_stmt *, int);
	int64_t		 (*col_int)(struct gw_stmt *, int);
	int64_t		 (*changes)(struct gw_stmt *);
	void		 (*reset)(struct gw_stmt *);
	/* The driver's own DPoP replay table (SQLite), NULL while it cannot
	 * be opened; a driver without one keeps dpop_replay rows. */
	struct gw_replay *(*replay)(struct gw_db *);
};

struct gw_db {
	const struct gw_db_ops	*ops;
	const struct gw_conf	*conf;
	int			 in_txn;
};

/* Every driver's struct gw_stmt begins with this, so that gw_db.c can
 * dispatch a statement call to the driver that prepared it. */
struct gw_stmt_head {
	struct gw_db		*db;
};

/* Open "sqlite:PATH" (or, with the PostgreSQL driver, a libpq URI). */
enum gw_err	gw_db_open(const struct gw_conf *, struct gw_db **,
		    char *err, size_t errlen);
void		gw_db_close(struct gw_db *);
enum gw_dialect	gw_db_dialect(const struct gw_db *);
/* 1 with *r the driver's replay table (NULL: unavailable), or 0 when the
 * records are rows of dpop_replay. */
int		gw_db_replay(struct gw_db *, struct gw_replay **r);
enum gw_err	gw_db_exec(struct gw_db *, const char *);
enum gw_err	gw_db_begin(struct gw_db *, int write);
enum gw_err	gw_db_commit(struct gw_db *);
void		gw_db_rollback(struct gw_db *);
/*
 * Prepare (once per process: statements are cached by their text) and
 * reset a statement.  Parameters are 1-based, columns 0-based.  A step
 * error is GW_ERR_CONFLICT for a unique or check constraint,
 * GW_ERR_UNAVAILABLE for busy, locked, full or gone, GW_ERR_INTERNAL
 * otherwise.
 */
enum gw_err	gw_db_prepare(struct gw_db *, const char *, struct gw_stmt **);
void		gw_stmt_bind_text(struct gw_stmt *, int, const char *);
void		gw_stmt_bind_int(struct gw_stmt *, int, int64_t);
enum gw_err	gw_stmt_step(struct gw_stmt *, int *row);
const char	*gw_stmt_text(struct gw_stmt *, int);	/* NULL for NULL */
char		*gw_stmt_dup(struct gw_stmt *, int, struct gw_arena *);
int64_t		gw_stmt_int(struct gw_stmt *, int);
int64_t		gw_stmt_changes(struct gw_stmt *);
void		gw_stmt_reset(struct gw_stmt *);

extern const struct gw_db_ops gw_db_sqlite_ops;
enum gw_err	gw_db_sqlite_open(const struct gw_conf *, const char *path,
		    struct gw_db **, char *err, size_t errlen);
extern const struct gw_db_ops gw_db_pg_ops;
/* A libpq URI; connects lazily, on first use (gw_db_pg.c). */
enum gw_err	gw_db_pg_open(const struct gw_conf *, const char *uri,
		    struct gw_db **, char *err, size_t errlen);

/* ---------------------------------------------------------------- */
/* gw_schema.c: versioned migrations. */

int		gw_schema_latest(void);
/* The schema version the database is at (0 when empty). */
enum gw_err	gw_schema_version(struct gw_db *, int *);
/* Apply every pending migration, each in its own transaction. */
enum gw_err	gw_schema_migrate(struct gw_db *, int *from, int *to);

/* ---------------------------------------------------------------- */
/* gw_store.c: the store handle. */

struct gw_store {
	struct gw_db		*db;
	const struct gw_conf	*conf;
	int			 checked;	/* schema version seen right */
};

/* Open the configured database and check that it is migrated; an
 * unreachable store is checked again later (gw_store_check). */
enum gw_err	gw_store_open(const struct gw_conf *, struct gw_store **,
		    char *err, size_t errlen);
enum gw_err	gw_store_check(struct gw_store *, char *err, size_t errlen);
void		gw_store_close(struct gw_store *);
/* One page of a list query (limit + 1 bound last), a row per fill. */
typedef void	(*gw_store_fill_fn)(struct gw_stmt *, struct gw_arena *,
		    void *);
enum gw_err	gw_store_page_rows(struct gw_stmt *, struct gw_arena *,
		    int limit, size_t size, gw_store_fill_fn, void **rowsp,
		    size_t *nrowsp, int *more);
/* The text of the sources list query for a filter, first page (keyset 0)
 * or a later one; exposed so the tests can EXPLAIN it. */
const char	*gw_store_sources_sql(const struct gw_source_filter *,
		    int keyset, char *buf, size_t);

/* ---------------------------------------------------------------- */
/* gw_store_quotas.c */

/* The text of the quotas list query (see gw_store_sources_sql). */
const char	*gw_store_quotas_sql(const struct gw_quota_filter *,
		    int keyset, char *buf, size_t);
/* The summary's admitted-last-hour statements, without and with a
 * project (for the plan tests). */
extern const char *const gw_store_quota_admitted_sql[2];

/* ---------------------------------------------------------------- */
/* gw_import.c: NDJSON import (SPEC §13), all or nothing per file. */

enum gw_err	gw_import(struct gw_store *, FILE *, long *nrecords,
		    char *err, size_t errlen);

/* ---------------------------------------------------------------- */
/* gw_mint.c: development tokens and JWKS from a PEM private key. */

struct gw_mint {
	const char	*key_file;	/* PEM private key (RSA or EC P-256) */
	const char	*kid;
	const char	*alg;		/* NULL: RS256 for RSA, ES256 for EC */
	const char	*typ;		/* NULL: "at+jwt"; "" omits it */
	const char	*iss;
	const char	*sub;
	const char	*tenant;	/* written as "stellaops:tenant" */
	const char	*scope;		/* space-separated */
	const char	*aud[GW_CONF_MAXLIST];
	size_t		 naud;
	const char	*cnf_jkt;
	const char	*client_id;
	long		 ttl;		/* seconds */
	int64_t		 now;		/* 0: gw_now() */
};

int	gw_mint_token(const struct gw_mint *, char **out, char *err, size_t);
/* The public JWKS ({"keys":[...]}) of a PEM private key. */
int	gw_mint_jwks(const char *key_file, const char *kid, const char *alg,
	    char **out, char *err, size_t);

/* ---------------------------------------------------------------- */
/* gw_idem.c, gw_store_idem.c, gw_audit.c, gw_store_audit.c: what stage 8
 * does around a mutation (docs/idempotency.md, docs/audit.md). */

#define GW_IDEM_TTL		86400	/* a stored response is kept 24 h */
#define GW_IDEM_LEASE		60	/* an in-flight key is held 60 s */
#define GW_IDEM_PURGE_INTERVAL	60	/* seconds between purges, per process */

struct gw_idem_key {
	const char	*tenant;
	const char	*key;
	const char	*method;
	const char	*path;
};

struct gw_idem_rec {
	const char	*fingerprint;
	int		 done;		/* else in flight */
	int		 status;
	const char	*headers;	/* "Name: value\n" lines */
	const char	*body;
	int64_t		 expires_at;
};

/* The idempotency state of one request. */
struct gw_idem {
	struct gw_idem_key key;
	char		 fingerprint[65];	/* hex SHA-256 of the body */
	int		 started;	/* our in-flight row is committed */
	int		 replayed;	/* resp holds the stored response */
};

/*
 * Before the handler of a POST with Idempotency-Key, in its own write
 * transaction: replay a stored response (idem->replayed), refuse a reused
 * key (422) or one in flight (409), or commit an in-flight row
 * (idem->started).  Without a key, or on other methods, does nothing.
 */
enum gw_err	gw_idem_begin(struct gw_req *, struct gw_resp *,
		    struct gw_idem *);
/* Store the response inside the caller's transaction. */
enum gw_err	gw_idem_finish(struct gw_req *, const struct gw_resp *,
		    const struct gw_idem *);
/* gw_idem_finish in a transaction of its own (GW_ROUTE_OWN_TXN routes). */
enum gw_err	gw_idem_complete(struct gw_req *, const struct gw_resp *,
		    struct gw_idem *);
/* Release the key after a refusal, so that the client may retry; best
 * effort, in its own transaction. */
void		gw_idem_abandon(struct gw_req *, struct gw_idem *);

enum gw_err	gw_store_idem_get(struct gw_store *, struct gw_arena *,
		    const struct gw_idem_key *, struct gw_idem_rec *,
		    int *found);
enum gw_err	gw_store_idem_start(struct gw_store *,
		    const struct gw_idem_key *, const char *fingerprint,
		    int64_t now, int64_t lease_end, int *taken);
enum gw_err	gw_store_idem_finish(struct gw_store *,
		    const struct gw_idem_key *, const char *fingerprint,
		    int status, const char *headers, const char *body,
		    int64_t now, int64_t expires_at);
enum gw_err	gw_store_idem_drop(struct gw_store *,
		    const struct gw_idem_key *, const char *fingerprint);
/* Delete records expired before now: an index range, never a scan. */
enum gw_err	gw_store_idem_purge(struct gw_store *, int64_t now);
extern const char gw_store_idem_purge_sql[];

/* The record of a handler that ran in the pipeline's transaction (ok) or
 * was refused (its transaction rolled back): action from the route. */
enum gw_err	gw_audit_record(struct gw_req *, int outcome);
/* The canonical record (docs/audit.md): the JSON object of every field
 * but hash, in the order of struct gw_audit_item. */
void		gw_audit_canonical(const struct gw_audit_item *,
		    struct gw_buf *);
/* hex(HMAC-SHA256(key, prev ‖ canonical)); prev is "" for a first record. */
void		gw_audit_hash(const unsigned char *key, size_t keylen,
		    const char *prev, const struct gw_buf *canonical,
		    char out[65]);
/* Check every tenant's chain, or one tenant's: one line per chain on out,
 * "tenant T: ok, N records, head seq S" or the first bad record;
 * *nbad is the number of broken chains. */
enum gw_err	gw_audit_verify(struct gw_store *, const char *tenant,
		    FILE *out, int *nbad);

/* The chain head of a tenant (seq 0 and hash "" before the first
 * record); _lock_ creates it if need be and holds its lock for the rest
 * of the transaction. */
enum gw_err	gw_store_audit_head(struct gw_store *, const char *tenant,
		    int64_t *seq, char hash[65], int *found);
enum gw_err	gw_store_audit_lock_head(struct gw_store *, const char *tenant,
		    int64_t *seq, char hash[65]);
enum gw_err	gw_store_audit_set_head(struct gw_store *, const char *tenant,
		    int64_t seq, const char *hash);
/* Insert r (its hash still empty) and return the seq it was given. */
enum gw_err	gw_store_audit_insert(struct gw_store *,
		    const struct gw_audit_item *, const char *prev_hash,
		    int64_t *seq);
enum gw_err	gw_store_audit_set_hash(struct gw_store *, int64_t seq,
		    const char *hash);
/* The tenants that have a chain head or a record, in byte order. */
enum gw_err	gw_store_audit_tenants(struct gw_store *, struct gw_arena *,
		    const char ***, size_t *);
/* Call fn on every record of the tenant in seq order; the strings are
 * valid during the call only.  A non-zero return from fn stops the walk. */
typedef int	(*gw_audit_walk_fn)(void *, const struct gw_audit_item *,
		    const char *prev_hash);
enum gw_err	gw_store_audit_walk(struct gw_store *, const char *tenant,
		    gw_audit_walk_fn, void *);

/* ---------------------------------------------------------------- */
/* gw_app.c, gw_fcgi.c: the application context, pipeline and transport. */

struct gw_app {
	const struct gw_app_def	*def;
	struct gw_conf		 conf;
	struct gw_store		*store;
	struct gw_keyset	*keys;
};

/* Run the whole pipeline of SPEC §2 on one request. */
void	gw_app_handle(struct gw_app *, struct gw_req *, struct gw_resp *);
/* Serve FastCGI or one CGI request until shutdown. */
int	gw_fcgi_serve(struct gw_app *);

#endif /* EXTERN_H */
