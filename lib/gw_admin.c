/*
 * gw_admin.c: the operations behind jobengine-admin (SPEC §13).
 *
 * Each returns a process exit status: 0 done, 1 it failed (one line on
 * stderr says why).  Results go to stdout so they can be piped: a token
 * into a header, a JWKS into auth.jwks_file.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define ADMIN_TTL	3600	/* a development token's default lifetime */

extern char **environ;

static int
gw_admin_conf(struct gw_conf *conf, const char *config)
{
	char	 err[512];

	if (gw_conf_load(conf, config, environ, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

/*
 * Before this version a SQLite store kept its DPoP replay records in
 * PATH-dpop, a database attached to every connection; they are in the
 * replay table now (gw_replay.c), and the old file and its -wal and -shm
 * are removed.  A process of the old version still running keeps its
 * open files; its records were for minutes.
 */
static void
gw_admin_forget_dpop_file(const char *database)
{
	static const char *const sfx[] = { "-dpop", "-dpop-wal", "-dpop-shm" };
	char		 fn[4096];
	size_t		 i;

	if (strncmp(database, "sqlite:", 7) != 0)
		return;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(fn, sizeof(fn), "%s%s%s",
		    strncmp(database + 7, "file:", 5) == 0 ? "./" : "",
		    database + 7, sfx[i]) >= sizeof(fn))
			return;
		if (unlink(fn) == 0)
			printf("removed %s (the DPoP replay records are in "
			    "the replay table now: jobengine-admin dpop "
			    "status)\n", fn);
	}
}

int
gw_admin_migrate(const char *config)
{
	struct gw_conf	 conf;
	struct gw_db	*db = NULL;
	char		 err[512];
	enum gw_err	 e;
	int		 from = 0, to = 0, rc = 1;

	if (gw_admin_conf(&conf, config) == -1)
		return 1;
	if (gw_db_open(&conf, &db, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if ((e = gw_schema_migrate(db, &from, &to)) != GW_OK) {
		/* The database string may hold a password: never print it. */
		fprintf(stderr, "migrate: %s (at version %d)\n",
		    gw_err_info(e)->message, from);
		goto out;
	}
	printf("schema at version %d (was %d)\n", to, from);
	gw_admin_forget_dpop_file(conf.database);
	rc = 0;
out:
	if (db != NULL)
		gw_db_close(db);
	gw_conf_free(&conf);
	return rc;
}

/*
 * The DPoP replay records: where they are kept, how many are live and,
 * for a SQLite store's replay table, its size and history.  One "name
 * value" line each, for scripts (bench/dpop.sh reads "written").
 */
int
gw_admin_dpop_status(const char *config)
{
	struct gw_conf		 conf;
	struct gw_store		*store = NULL;
	struct gw_replay_info	 info;
	char			 err[512], since[21];
	int			 kind, rc = 1;

	if (gw_admin_conf(&conf, config) == -1)
		return 1;
	if (gw_store_open(&conf, &store, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if ((kind = gw_store_dpop_info(store, gw_now(), &info)) == -1) {
		fprintf(stderr, "dpop status: the replay records cannot be "
		    "read\n");
		goto out;
	}
	printf("records %s\nlive %u\n", kind == 1 ? "replay-table" :
	    "dpop_replay", info.live);
	if (kind == 1) {
		gw_time_format(info.since, since);
		printf("file %s\nslots %u\nwritten %llu\nrefused_full %llu\n"
		    "since %s\n", info.file != NULL ? info.file : "(memory)",
		    info.slots, (unsigned long long)info.written,
		    (unsigned long long)info.refused_full, since);
	}
	rc = 0;
out:
	if (store != NULL)
		gw_store_close(store);
	gw_conf_free(&conf);
	return rc;
}

int
gw_admin_import(const char *config, const char *file)
{
	struct gw_conf	 conf;
	struct gw_store	*store = NULL;
	FILE		*fp = NULL;
	char		 err[512];
	long		 n = 0;
	int		 rc = 1;

	if (gw_admin_conf(&conf, config) == -1)
		return 1;
	if (strcmp(file, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(file, "re")) == NULL) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		goto out;
	}
	if (gw_store_open(&conf, &store, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (gw_import(store, fp, &n, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s: %s\n", file, err);
		goto out;
	}
	printf("imported %ld records\n", n);
	rc = 0;
out:
	if (store != NULL)
		gw_store_close(store);
	if (fp != NULL && fp != stdin)
		fclose(fp);
	gw_conf_free(&conf);
	return rc;
}

/* What a program does at start, short of serving: the same refusals. */
int
gw_admin_config_check(const char *config)
{
	struct gw_conf		 conf;
	struct gw_keyset	*keys = NULL;
	struct gw_store		*store = NULL;
	char			 err[512];
	int			 rc = 1;

	if (gw_admin_conf(&conf, config) == -1)
		return 1;
	if (gw_auth_load_jwks(conf.jwks_file, &keys, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (gw_store_open(&conf, &store, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	printf("ok\n");
	rc = 0;
out:
	if (store != NULL)
		gw_store_close(store);
	if (keys != NULL)
		gw_auth_free_jwks(keys);
	gw_conf_free(&conf);
	return rc;
}

/*
 * Every chain (or one tenant's), one line each on stdout; a broken chain
 * names its first bad record and makes the exit status 1.
 */
int
gw_admin_audit_verify(const char *config, const char *tenant)
{
	struct gw_conf	 conf;
	struct gw_store	*store = NULL;
	char		 err[512];
	enum gw_err	 e;
	int		 nbad = 0, rc = 1;

	if (gw_admin_conf(&conf, config) == -1)
		return 1;
	if (tenant != NULL && !gw_valid_tenant(tenant)) {
		fprintf(stderr, "audit verify: --tenant: not a tenant id\n");
		goto out;
	}
	if (gw_store_open(&conf, &store, err, sizeof(err)) != GW_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if ((e = gw_audit_verify(store, tenant, stdout, &nbad)) != GW_OK) {
		fprintf(stderr, "audit verify: %s\n", gw_err_info(e)->message);
		goto out;
	}
	if (nbad > 0)
		fprintf(stderr, "audit verify: %d broken chain%s\n", nbad,
		    nbad == 1 ? "" : "s");
	else
		rc = 0;
out:
	if (store != NULL)
		gw_store_close(store);
	gw_conf_free(&conf);
	return rc;
}

/* Split a space-separated list into m->aud; copy is owned by the caller. */
static int
gw_admin_split_aud(struct gw_mint *m, char *copy)
{
	char	*w;

	while ((w = strsep(&copy, " \t")) != NULL) {
		if (*w == '\0')
			continue;
		if (m->naud == GW_CONF_MAXLIST)
			return -1;
		m->aud[m->naud++] = w;
	}
	return m->naud > 0 ? 0 : -1;
}

/*
 * Missing iss and aud come from the configuration, so that a minted token
 * fits the gateway it is meant for.  A configuration that does not load
 * is no error as long as both are given on the command line.
 */
int
gw_admin_token(const struct gw_admin_token *t)
{
	struct gw_conf	 conf;
	struct gw_mint	 m;
	char		 err[512], *aud = NULL, *tok = NULL;
	size_t		 i;
	int		 haveconf = 0, rc = 1;

	memset(&conf, 0, sizeof(conf));
	memset(&m, 0, sizeof(m));
	err[0] = '\0';
	if (t->iss == NULL || t->aud == NULL)
		haveconf = gw_conf_load(&conf, t->config, environ, err,
		    sizeof(err)) == 0;
	if (t->iss == NULL && !haveconf) {
		fprintf(stderr, "token: --iss is required when the "
		    "configuration cannot be loaded (%s)\n", err);
		goto out;
	}
	if (t->aud == NULL && !haveconf) {
		fprintf(stderr, "token: --aud is required when the "
		    "configuration cannot be loaded (%s)\n", err);
		goto out;
	}

	m.key_file = t->key_file;
	m.kid = t->kid;
	m.alg = t->alg;
	m.typ = t->typ;
	m.iss = t->iss != NULL ? t->iss : conf.issuer;
	m.sub = t->sub;
	m.tenant = t->tenant;
	m.scope = t->scope;
	m.cnf_jkt = t->cnf_jkt;
	m.client_id = t->client_id;
	m.ttl = t->ttl != 0 ? t->ttl : ADMIN_TTL;
	if (t->aud != NULL) {
		if ((aud = strdup(t->aud)) == NULL)
			abort();
		if (gw_admin_split_aud(&m, aud) == -1) {
			fprintf(stderr, "token: --aud must name 1 to %d "
			    "audiences\n", GW_CONF_MAXLIST);
			goto out;
		}
	} else {
		for (i = 0; i < conf.naudiences; i++)
			m.aud[i] = conf.audiences[i];
		m.naud = conf.naudiences;
	}

	if (gw_mint_token(&m, &tok, err, sizeof(err)) == -1) {
		fprintf(stderr, "token: %s\n", err);
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	free(tok);
	free(aud);
	gw_conf_free(&conf);
	return rc;
}

int
gw_admin_jwks(const char *key_file, const char *kid, const char *alg)
{
	char	 err[512], *out = NULL;

	if (gw_mint_jwks(key_file, kid, alg, &out, err, sizeof(err)) == -1) {
		fprintf(stderr, "jwks: %s\n", err);
		return 1;
	}
	printf("%s\n", out);
	free(out);
	return 0;
}
