/*
 * gw_audit.c: the tamper-evident audit log (SPEC §11, docs/audit.md).
 *
 * Each tenant's records form one chain: a record's hash is
 *
 *	hex(HMAC-SHA256(server key, prev ‖ canonical record))
 *
 * where prev is the hex hash of the tenant's previous record ("" for the
 * first) and the canonical record is the compact JSON object of every
 * field but hash, seq included, in one fixed member order.  Changing a
 * byte, moving a record to another seq, or inserting one without the key
 * breaks the hash of that record; deleting one breaks the link of the
 * next (or, at the end, the chain head in audit_chain).
 *
 * The reason and the ticket are stored as the operator sent them (stage 6
 * checked them) and are never written to a log line.
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"

void
gw_audit_target(struct gw_req *req, const char *type, const char *id)
{
	req->audit_type = type != NULL ?
	    gw_arena_strdup(req->arena, type) : NULL;
	req->audit_id = id != NULL ? gw_arena_strdup(req->arena, id) : NULL;
}

/* "orch:quota orch:read" -> ["orch:quota","orch:read"] */
static void
gw_audit_scopes(struct gw_json *j, const char *s)
{
	struct gw_buf	 one;
	const char	*e;

	gw_buf_init(&one);
	gw_json_arr_open(j);
	while (s != NULL && *s != '\0') {
		if ((e = strchr(s, ' ')) == NULL)
			e = s + strlen(s);
		if (e > s) {
			gw_buf_reset(&one);
			gw_buf_add(&one, s, (size_t)(e - s));
			gw_json_str(j, one.data);
		}
		s = *e == ' ' ? e + 1 : e;
	}
	gw_json_arr_close(j);
	gw_buf_free(&one);
}

void
gw_audit_json(struct gw_json *j, const struct gw_audit_item *r,
    int with_hash)
{
	gw_json_obj_open(j);
	gw_json_kint(j, "seq", r->seq);
	gw_json_ktime(j, "occurredAt", r->occurred_at);
	gw_json_kstr(j, "tenantId", r->tenant_id);
	gw_json_kstr(j, "projectId", r->project_id);
	gw_json_kstr(j, "actor", r->actor);
	gw_json_kstr(j, "clientId", r->client_id);
	gw_json_key(j, "scopes");
	gw_audit_scopes(j, r->scopes);
	gw_json_kstr(j, "action", r->action);
	gw_json_kstr(j, "targetType", r->target_type);
	gw_json_kstr(j, "targetId", r->target_id);
	gw_json_kstr(j, "reason", r->reason);
	gw_json_kstr(j, "ticket", r->ticket);
	gw_json_kstr(j, "traceId", r->trace_id);
	gw_json_kstr(j, "idempotencyKey", r->idempotency_key);
	gw_json_kint(j, "outcome", r->outcome);
	if (with_hash)
		gw_json_kstr(j, "hash", r->hash);
	gw_json_obj_close(j);
}

void
gw_audit_canonical(const struct gw_audit_item *r, struct gw_buf *out)
{
	struct gw_json	 j;

	gw_json_init(&j, out);
	gw_audit_json(&j, r, 0);
}

void
gw_audit_hash(const unsigned char *key, size_t keylen, const char *prev,
    const struct gw_buf *canonical, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	struct gw_buf		 m;
	unsigned char		 md[32];
	size_t			 i;

	gw_buf_init(&m);
	gw_buf_puts(&m, prev);
	gw_buf_add(&m, canonical->data, canonical->len);
	gw_hmac_sha256(key, keylen, m.data, m.len, md);
	gw_buf_free(&m);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[64] = '\0';
}

enum gw_err
gw_audit_append(struct gw_req *req, const char *action, const char *type,
    const char *id, int outcome)
{
	struct gw_store		*s = req->app->store;
	const struct gw_conf	*conf = s->conf;
	struct gw_audit_item	 r;
	struct gw_buf		 c;
	char			 prev[65], hash[65];
	int64_t			 head;
	enum gw_err		 e;

	/* Outside a transaction the record could commit without its
	 * change, or the chain fork: a bug in the caller. */
	if (!s->db->in_txn) {
		gw_log(GW_LOG_ERROR, req->trace_id, "audit: %s outside a "
		    "transaction", action);
		return GW_ERR_INTERNAL;
	}
	memset(&r, 0, sizeof(r));
	r.occurred_at = req->now;
	r.tenant_id = req->principal.tenant;
	r.project_id = req->principal.project;
	r.actor = req->principal.sub;
	r.client_id = req->principal.client_id;
	r.scopes = req->principal.scopes != NULL ? req->principal.scopes : "";
	r.action = action;
	r.target_type = type;
	r.target_id = id;
	r.reason = req->reason != NULL ? req->reason : "";
	r.ticket = req->ticket;
	r.trace_id = req->trace_id;
	r.idempotency_key = req->idem_key;
	r.outcome = outcome;

	if ((e = gw_store_audit_lock_head(s, r.tenant_id, &head,
	    prev)) != GW_OK)
		return e;
	if ((e = gw_store_audit_insert(s, &r, prev, &r.seq)) != GW_OK)
		return e;
	gw_buf_init(&c);
	gw_audit_canonical(&r, &c);
	gw_audit_hash(conf->server_key, conf->server_keylen, prev, &c, hash);
	gw_buf_free(&c);
	if ((e = gw_store_audit_set_hash(s, r.seq, hash)) != GW_OK)
		return e;
	return gw_store_audit_set_head(s, r.tenant_id, r.seq, hash);
}

/* The route's action, and the target: the handler's, else the type the
 * action names ("quota.pause" -> "quota") and the path's {id}. */
enum gw_err
gw_audit_record(struct gw_req *req, int outcome)
{
	const char	*action, *dot, *type, *id;

	action = req->route->action != NULL ? req->route->action :
	    req->route->pattern;
	if ((dot = strchr(action, '.')) != NULL)
		type = gw_arena_strndup(req->arena, action,
		    (size_t)(dot - action));
	else
		type = action;
	if (req->audit_type != NULL)
		type = req->audit_type;
	id = req->audit_id != NULL ? req->audit_id : req->id;
	return gw_audit_append(req, action, type, id, outcome);
}

/* ---------------------------------------------------------------- */
/* jobengine-admin audit verify */

struct gw_audit_check {
	const unsigned char	*key;
	size_t			 keylen;
	char			 prev[65];	/* last good record's hash */
	int64_t			 prev_seq;	/* 0: none yet */
	int64_t			 n;
	struct gw_buf		 canon;
	char			 bad[160];	/* why the walk stopped */
};

/*
 * A record whose hash fails may still be intact: if it verifies against
 * the prev_hash it was written with, only the link is wrong, so the
 * record it was chained to has gone.
 */
static int
gw_audit_check_one(void *arg, const struct gw_audit_item *r,
    const char *stored_prev)
{
	struct gw_audit_check	*c = arg;
	char			 h[65];

	gw_buf_reset(&c->canon);
	gw_audit_canonical(r, &c->canon);
	gw_audit_hash(c->key, c->keylen, c->prev, &c->canon, h);
	if (r->hash != NULL && strcmp(h, r->hash) == 0) {
		memcpy(c->prev, h, sizeof(c->prev));
		c->prev_seq = r->seq;
		c->n++;
		return 0;
	}
	if (r->hash != NULL && stored_prev != NULL &&
	    strcmp(stored_prev, c->prev) != 0) {
		gw_audit_hash(c->key, c->keylen, stored_prev, &c->canon, h);
		if (strcmp(h, r->hash) == 0) {
			if (c->prev_seq == 0)
				snprintf(c->bad, sizeof(c->bad), "record "
				    "before seq %lld missing",
				    (long long)r->seq);
			else
				snprintf(c->bad, sizeof(c->bad), "record "
				    "after seq %lld missing",
				    (long long)c->prev_seq);
			return 1;
		}
	}
	snprintf(c->bad, sizeof(c->bad), "record seq %lld: hash does not "
	    "match (changed, reordered or forged)", (long long)r->seq);
	return 1;
}

/* One tenant's chain: 0 good, 1 broken (the line says where). */
static enum gw_err
gw_audit_verify_tenant(struct gw_store *s, const char *tenant, FILE *out,
    int *bad)
{
	struct gw_audit_check	 c;
	char			 head_hash[65];
	int64_t			 head;
	enum gw_err		 e;
	int			 found;

	*bad = 0;
	memset(&c, 0, sizeof(c));
	c.key = s->conf->server_key;
	c.keylen = s->conf->server_keylen;
	gw_buf_init(&c.canon);
	e = gw_store_audit_walk(s, tenant, gw_audit_check_one, &c);
	gw_buf_free(&c.canon);
	if (e != GW_OK)
		return e;
	if (c.bad[0] == '\0') {
		if ((e = gw_store_audit_head(s, tenant, &head, head_hash,
		    &found)) != GW_OK)
			return e;
		if (!found && c.n > 0)
			snprintf(c.bad, sizeof(c.bad), "chain head missing");
		else if (found && head > c.prev_seq && c.n == 0)
			snprintf(c.bad, sizeof(c.bad), "every record missing "
			    "(chain head at seq %lld)", (long long)head);
		else if (found && head > c.prev_seq)
			snprintf(c.bad, sizeof(c.bad), "record after seq %lld "
			    "missing (chain head at seq %lld)",
			    (long long)c.prev_seq, (long long)head);
		else if (found && (head != c.prev_seq ||
		    strcmp(head_hash, c.prev) != 0))
			snprintf(c.bad, sizeof(c.bad), "chain head (seq %lld) "
			    "does not match the last record (seq %lld)",
			    (long long)head, (long long)c.prev_seq);
	}
	if (c.bad[0] != '\0') {
		*bad = 1;
		fprintf(out, "tenant %s: %s\n", tenant, c.bad);
	} else
		fprintf(out, "tenant %s: ok, %lld record%s, head seq %lld\n",
		    tenant, (long long)c.n, c.n == 1 ? "" : "s",
		    (long long)c.prev_seq);
	return GW_OK;
}

enum gw_err
gw_audit_verify(struct gw_store *s, const char *tenant, FILE *out, int *nbad)
{
	struct gw_arena	*a;
	const char	**tenants;
	size_t		 i, n;
	enum gw_err	 e;
	int		 bad;

	*nbad = 0;
	if ((e = gw_db_begin(s->db, 0)) != GW_OK)
		return e;
	a = gw_arena_new();
	if (tenant != NULL) {
		tenants = &tenant;
		n = 1;
	} else if ((e = gw_store_audit_tenants(s, a, &tenants, &n)) != GW_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((e = gw_audit_verify_tenant(s, tenants[i], out,
		    &bad)) != GW_OK)
			goto out;
		*nbad += bad;
	}
out:
	gw_arena_free(a);
	if (e == GW_OK)
		return gw_db_commit(s->db);
	gw_db_rollback(s->db);
	return e;
}
