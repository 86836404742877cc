/*
 * check_conf: the configuration file and its overrides (SPEC §12), and the
 * log line (gw_log.c).
 */

#include <sys/stat.h>

#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define MINIMAL \
	"database = sqlite:gw.db\n" \
	"server.public_base_url = https://gw.example.org\n" \
	"server.key_file = server.key\n" \
	"auth.issuer = https://authority.example.org\n" \
	"auth.jwks_file = jwks.json\n"

static char		 dir[128];
static char		 confpath[256];
static char		 err[512];
static struct gw_conf	 conf;

static void
write_file(const char *name, const char *data, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static void
write_key(const char *name, size_t len)
{
	char	*buf;

	ck_assert_ptr_nonnull(buf = malloc(len + 1));
	memset(buf, 'k', len);
	write_file(name, buf, len);
	free(buf);
}

static void
setup(void)
{
	char	 tmpl[] = "/tmp/check_conf.XXXXXX", *real;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_ptr_nonnull(real = realpath(tmpl, NULL));
	ck_assert_uint_lt(strlen(real), sizeof(dir));
	memcpy(dir, real, strlen(real) + 1);
	free(real);
	snprintf(confpath, sizeof(confpath), "%s/gateway.conf", dir);
	write_key("server.key", 32);
	write_file("jwks.json", "{\"keys\":[]}", 11);
	memset(&conf, 0, sizeof(conf));
	err[0] = '\0';
}

static void
teardown(void)
{
	char	 cmd[PATH_MAX + 16];

	gw_conf_free(&conf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Write MINIMAL followed by extra (the extra lines start at line 6). */
static int
load_env(const char *extra, char **envp)
{
	char	 body[8192];

	snprintf(body, sizeof(body), "%s%s", MINIMAL, extra);
	write_file("gateway.conf", body, strlen(body));
	gw_conf_free(&conf);
	return gw_conf_load(&conf, confpath, envp, err, sizeof(err));
}

static int
load(const char *extra)
{
	return load_env(extra, NULL);
}

static int
load_body(const char *body)
{
	write_file("gateway.conf", body, strlen(body));
	gw_conf_free(&conf);
	return gw_conf_load(&conf, confpath, NULL, err, sizeof(err));
}

/* err must be "<confpath><rest>". */
static void
assert_err(const char *rest)
{
	char	 want[PATH_MAX + 256];

	snprintf(want, sizeof(want), "%s%s", confpath, rest);
	ck_assert_str_eq(err, want);
}

static char *
in_dir(const char *name)
{
	static char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

START_TEST(minimal_file_loads_with_every_default)
{
	char	 db[PATH_MAX + 8];

	ck_assert_msg(load("") == 0, "%s", err);
	ck_assert_str_eq(conf.path, confpath);
	snprintf(db, sizeof(db), "sqlite:%s", in_dir("gw.db"));
	ck_assert_str_eq(conf.database, db);
	ck_assert_str_eq(conf.public_base_url, "https://gw.example.org");
	ck_assert_str_eq(conf.key_file, in_dir("server.key"));
	ck_assert_uint_eq(conf.server_keylen, 32);
	ck_assert_mem_eq(conf.server_key, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
	    32);
	ck_assert_str_eq(conf.issuer, "https://authority.example.org");
	ck_assert_uint_eq(conf.naudiences, 2);
	ck_assert_str_eq(conf.audiences[0], "stellaops-gateway");
	ck_assert_str_eq(conf.audiences[1], "stellaops-web");
	ck_assert_str_eq(conf.jwks_file, in_dir("jwks.json"));
	ck_assert_int_eq(conf.leeway, 60);
	ck_assert_int_eq(conf.max_token_lifetime, 86400);
	ck_assert_uint_eq(conf.ntenant_claims, 3);
	ck_assert_str_eq(conf.tenant_claims[0], "stellaops:tenant");
	ck_assert_str_eq(conf.tenant_claims[1], "tid");
	ck_assert_str_eq(conf.tenant_claims[2], "ten");
	ck_assert_int_eq(conf.require_dpop, 0);
	ck_assert_int_eq(conf.dpop_max_age, 60);
	ck_assert_int_eq(conf.allow_scope_header, 0);
	ck_assert_int_eq(conf.token_ttl, 86400);
	ck_assert_int_eq(conf.cache_max_age, 60);
	ck_assert_int_eq(conf.cache_stale_if_error, 300);
	ck_assert_int_eq(conf.max_body_bytes, 65536);
	ck_assert_int_eq(conf.log_level, GW_LOG_INFO);
	ck_assert_int_eq(conf.busy_timeout_ms, 5000);
	ck_assert_str_eq(conf.pg_schema, "jobengine");
	ck_assert_int_eq(conf.statement_timeout_ms, 5000);
	ck_assert_int_eq(conf.dpop_replay_slots, 1048576);
	/* Empty: the store names the file (gw_replay_default_path). */
	ck_assert_str_eq(conf.dpop_replay_file, "");
}
END_TEST

/* Each numeric key: the value just inside and just outside its bounds. */
static const struct {
	const char	*key;
	const char	*val;
	int		 ok;
	size_t		 off;
	int		 islong;
} bounds[] = {
#define B(k, v, ok, f)	{ k, v, ok, offsetof(struct gw_conf, f), 0 }
	B("auth.leeway_seconds", "0", 1, leeway),
	B("auth.leeway_seconds", "300", 1, leeway),
	B("auth.leeway_seconds", "-1", 0, leeway),
	B("auth.leeway_seconds", "301", 0, leeway),
	B("auth.max_token_lifetime_seconds", "60", 1, max_token_lifetime),
	B("auth.max_token_lifetime_seconds", "604800", 1, max_token_lifetime),
	B("auth.max_token_lifetime_seconds", "59", 0, max_token_lifetime),
	B("auth.max_token_lifetime_seconds", "604801", 0, max_token_lifetime),
	B("auth.dpop_max_age_seconds", "1", 1, dpop_max_age),
	B("auth.dpop_max_age_seconds", "3600", 1, dpop_max_age),
	B("auth.dpop_max_age_seconds", "0", 0, dpop_max_age),
	B("auth.dpop_max_age_seconds", "3601", 0, dpop_max_age),
	B("pagination.token_ttl_seconds", "60", 1, token_ttl),
	B("pagination.token_ttl_seconds", "2592000", 1, token_ttl),
	B("pagination.token_ttl_seconds", "59", 0, token_ttl),
	B("pagination.token_ttl_seconds", "2592001", 0, token_ttl),
	B("cache.max_age", "0", 1, cache_max_age),
	B("cache.max_age", "86400", 1, cache_max_age),
	B("cache.max_age", "-1", 0, cache_max_age),
	B("cache.max_age", "86401", 0, cache_max_age),
	B("cache.stale_if_error", "0", 1, cache_stale_if_error),
	B("cache.stale_if_error", "86400", 1, cache_stale_if_error),
	B("cache.stale_if_error", "-1", 0, cache_stale_if_error),
	B("cache.stale_if_error", "86401", 0, cache_stale_if_error),
	B("store.busy_timeout_ms", "0", 1, busy_timeout_ms),
	B("store.busy_timeout_ms", "60000", 1, busy_timeout_ms),
	B("store.busy_timeout_ms", "-1", 0, busy_timeout_ms),
	B("store.busy_timeout_ms", "60001", 0, busy_timeout_ms),
	B("store.statement_timeout_ms", "100", 1, statement_timeout_ms),
	B("store.statement_timeout_ms", "600000", 1, statement_timeout_ms),
	B("store.statement_timeout_ms", "99", 0, statement_timeout_ms),
	B("store.statement_timeout_ms", "600001", 0, statement_timeout_ms),
	B("store.dpop_replay_slots", "4096", 1, dpop_replay_slots),
	B("store.dpop_replay_slots", "67108864", 1, dpop_replay_slots),
	B("store.dpop_replay_slots", "4095", 0, dpop_replay_slots),
	B("store.dpop_replay_slots", "67108865", 0, dpop_replay_slots),
	/* Not numbers at all, or not in strtonum's one spelling. */
	B("auth.leeway_seconds", "abc", 0, leeway),
	B("auth.leeway_seconds", "+5", 0, leeway),
	B("auth.leeway_seconds", "05", 0, leeway),
	B("auth.leeway_seconds", "1e2", 0, leeway),
	B("auth.leeway_seconds", "6 0", 0, leeway),
#undef B
	{ "limits.max_body_bytes", "1024", 1,
	    offsetof(struct gw_conf, max_body_bytes), 1 },
	{ "limits.max_body_bytes", "16777216", 1,
	    offsetof(struct gw_conf, max_body_bytes), 1 },
	{ "limits.max_body_bytes", "1023", 0,
	    offsetof(struct gw_conf, max_body_bytes), 1 },
	{ "limits.max_body_bytes", "16777217", 0,
	    offsetof(struct gw_conf, max_body_bytes), 1 },
};

static long long
bound_min(const char *key)
{
	if (strcmp(key, "auth.max_token_lifetime_seconds") == 0 ||
	    strcmp(key, "pagination.token_ttl_seconds") == 0)
		return 60;
	if (strcmp(key, "auth.dpop_max_age_seconds") == 0)
		return 1;
	if (strcmp(key, "limits.max_body_bytes") == 0)
		return 1024;
	if (strcmp(key, "store.statement_timeout_ms") == 0)
		return 100;
	if (strcmp(key, "store.dpop_replay_slots") == 0)
		return 4096;
	return 0;
}

static long long
bound_max(const char *key)
{
	static const struct { const char *k; long long max; } t[] = {
		{ "auth.leeway_seconds", 300 },
		{ "auth.max_token_lifetime_seconds", 604800 },
		{ "auth.dpop_max_age_seconds", 3600 },
		{ "pagination.token_ttl_seconds", 2592000 },
		{ "cache.max_age", 86400 },
		{ "cache.stale_if_error", 86400 },
		{ "limits.max_body_bytes", 16777216 },
		{ "store.busy_timeout_ms", 60000 },
		{ "store.statement_timeout_ms", 600000 },
		{ "store.dpop_replay_slots", 67108864 },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].k, key) == 0)
			return t[i].max;
	return -1;
}

START_TEST(number_bounds)
{
	char	 line[128], want[256];
	long	 got;

	snprintf(line, sizeof(line), "%s = %s\n", bounds[_i].key,
	    bounds[_i].val);
	if (bounds[_i].ok) {
		ck_assert_msg(load(line) == 0, "%s: %s", line, err);
		if (bounds[_i].islong)
			got = *(long *)((char *)&conf + bounds[_i].off);
		else
			got = *(int *)((char *)&conf + bounds[_i].off);
		ck_assert_int_eq(got, atol(bounds[_i].val));
	} else {
		ck_assert_msg(load(line) == -1, "%s accepted", line);
		snprintf(want, sizeof(want),
		    ":6: %s: must be an integer from %lld to %lld",
		    bounds[_i].key, bound_min(bounds[_i].key),
		    bound_max(bounds[_i].key));
		assert_err(want);
	}
}
END_TEST

START_TEST(unknown_key_is_refused)
{
	ck_assert_int_eq(load("auth.leeway = 5\n"), -1);
	assert_err(":6: unknown key \"auth.leeway\"");
	/* Keys are case-sensitive. */
	ck_assert_int_eq(load("Auth.Issuer = x\n"), -1);
	assert_err(":6: unknown key \"Auth.Issuer\"");
}
END_TEST

START_TEST(repeated_key_is_refused)
{
	ck_assert_int_eq(load("auth.issuer = https://other.example.org\n"),
	    -1);
	assert_err(":6: auth.issuer: repeated (first set on line 4)");
}
END_TEST

START_TEST(line_without_equals_is_refused)
{
	ck_assert_int_eq(load("\n# fine\nauth.leeway_seconds 5\n"), -1);
	assert_err(":8: expected \"key = value\"");
	ck_assert_int_eq(load(" = 5\n"), -1);
	assert_err(":6: no key before '='");
}
END_TEST

static const struct {
	const char	*key;
	const char	*env;
} required[] = {
	{ "database", "JOBENGINE_DATABASE" },
	{ "server.public_base_url", "JOBENGINE_SERVER_PUBLIC_BASE_URL" },
	{ "server.key_file", "JOBENGINE_SERVER_KEY_FILE" },
	{ "auth.issuer", "JOBENGINE_AUTH_ISSUER" },
	{ "auth.jwks_file", "JOBENGINE_AUTH_JWKS_FILE" },
};

START_TEST(missing_required_key_is_refused)
{
	char	 body[1024], want[256], *p, *nl;

	/* MINIMAL without the line of this key. */
	snprintf(body, sizeof(body), "%s", MINIMAL);
	p = strstr(body, required[_i].key);
	ck_assert_ptr_nonnull(p);
	nl = strchr(p, '\n');
	memmove(p, nl + 1, strlen(nl + 1) + 1);
	ck_assert_int_eq(load_body(body), -1);
	snprintf(want, sizeof(want), ": %s: required (set it in the file or "
	    "as %s)", required[_i].key, required[_i].env);
	assert_err(want);
}
END_TEST

START_TEST(empty_value_is_refused)
{
	ck_assert_int_eq(load("auth.audiences =\n"), -1);
	assert_err(":6: auth.audiences: must not be empty");
	/* Only a key whose default is empty may be empty. */
	ck_assert_int_eq(load("store.dpop_replay_slots =\n"), -1);
	assert_err(":6: store.dpop_replay_slots: must not be empty");
	ck_assert_int_eq(load("store.dpop_replay_file =\n"), 0);
}
END_TEST

START_TEST(environment_overrides_the_file)
{
	char	*envp[] = {
		"PATH=/usr/bin",
		"JOBENGINE_AUTH_LEEWAY_SECONDS=10",
		"JOBENGINE_AUTH_AUDIENCES= a b ",
		"JOBENGINE_LOG_LEVEL=debug",
		NULL,
	};

	ck_assert_msg(load_env("auth.leeway_seconds = 20\n", envp) == 0,
	    "%s", err);
	ck_assert_int_eq(conf.leeway, 10);
	ck_assert_uint_eq(conf.naudiences, 2);
	ck_assert_str_eq(conf.audiences[0], "a");
	ck_assert_str_eq(conf.audiences[1], "b");
	ck_assert_int_eq(conf.log_level, GW_LOG_DEBUG);
}
END_TEST

START_TEST(environment_error_names_the_variable)
{
	char	*envp[] = { "JOBENGINE_AUTH_LEEWAY_SECONDS=301", NULL };

	ck_assert_int_eq(load_env("", envp), -1);
	ck_assert_str_eq(err, "JOBENGINE_AUTH_LEEWAY_SECONDS: must be an "
	    "integer from 0 to 300");
}
END_TEST

START_TEST(environment_supplies_a_required_key)
{
	char	*envp[] = { "JOBENGINE_AUTH_ISSUER=https://env.example.org",
			    NULL };
	char	 body[1024], *p, *nl;

	snprintf(body, sizeof(body), "%s", MINIMAL);
	p = strstr(body, "auth.issuer");
	nl = strchr(p, '\n');
	memmove(p, nl + 1, strlen(nl + 1) + 1);
	write_file("gateway.conf", body, strlen(body));
	ck_assert_msg(gw_conf_load(&conf, confpath, envp, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(conf.issuer, "https://env.example.org");
}
END_TEST

START_TEST(unknown_environment_variables_are_ignored)
{
	char	*envp[] = {
		"JOBENGINE_FOO=1",
		"JOBENGINE_AUTH_NOPE=x",
		"JOBENGINE_AUTH_LEEWAY=5",
		"JOBENGINE_GATEWAY_CONFIG=/nonexistent",
		NULL,
	};

	ck_assert_msg(load_env("", envp) == 0, "%s", err);
	ck_assert_int_eq(conf.leeway, 60);
}
END_TEST

START_TEST(config_path_from_environment_then_default)
{
	char	 env[PATH_MAX + 32];
	char	*envp[] = { env, NULL };

	write_file("gateway.conf", MINIMAL, strlen(MINIMAL));
	snprintf(env, sizeof(env), "JOBENGINE_GATEWAY_CONFIG=%s", confpath);
	ck_assert_msg(gw_conf_load(&conf, NULL, envp, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_str_eq(conf.path, confpath);
	gw_conf_free(&conf);

	/* An explicit path wins over the variable. */
	snprintf(env, sizeof(env), "JOBENGINE_GATEWAY_CONFIG=%s/none",
	    dir);
	ck_assert_msg(gw_conf_load(&conf, confpath, envp, err,
	    sizeof(err)) == 0, "%s", err);
	gw_conf_free(&conf);

	ck_assert_int_eq(gw_conf_load(&conf, NULL, envp, err, sizeof(err)),
	    -1);
	snprintf(env, sizeof(env), "%s/none: No such file or directory", dir);
	ck_assert_str_eq(err, env);
}
END_TEST

START_TEST(default_path_is_under_sysconfdir)
{
	const char	*p = gw_conf_default_path();
	const char	*tail = "/jobengine-gateway/gateway.conf";

	ck_assert_uint_gt(strlen(p), strlen(tail));
	ck_assert_str_eq(p + strlen(p) - strlen(tail), tail);
	ck_assert_int_eq(p[0], '/');
}
END_TEST

START_TEST(relative_paths_resolve_against_the_file_directory)
{
	char	 sub[PATH_MAX], want[PATH_MAX + 8];
	char	*envp[] = { "JOBENGINE_AUTH_JWKS_FILE=keys/jwks.json", NULL };

	snprintf(sub, sizeof(sub), "%s/keys", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	write_key("keys/server.key", 40);
	write_file("keys/jwks.json", "{}", 2);
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_msg(load_body(
	    "database = sqlite:./data/gw.db\n"
	    "server.public_base_url = https://gw.example.org\n"
	    "server.key_file = keys/server.key\n"
	    "auth.issuer = https://authority.example.org\n"
	    "auth.jwks_file = /etc/jobengine-gateway/jwks.json\n") == 0,
	    "%s", err);
	snprintf(want, sizeof(want), "sqlite:%s/data/gw.db", dir);
	ck_assert_str_eq(conf.database, want);
	ck_assert_str_eq(conf.key_file, in_dir("keys/server.key"));
	ck_assert_uint_eq(conf.server_keylen, 40);
	ck_assert_str_eq(conf.jwks_file, "/etc/jobengine-gateway/jwks.json");

	/* store.dpop_replay_file likewise; empty stays empty. */
	ck_assert_int_eq(load("store.dpop_replay_file = run/replay\n"), 0);
	ck_assert_str_eq(conf.dpop_replay_file, in_dir("run/replay"));
	ck_assert_int_eq(load("store.dpop_replay_file =\n"), 0);
	ck_assert_str_eq(conf.dpop_replay_file, "");

	/* From the environment too, against the same directory. */
	gw_conf_free(&conf);
	ck_assert_msg(gw_conf_load(&conf, confpath, envp, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(conf.jwks_file, in_dir("keys/jwks.json"));
}
END_TEST

START_TEST(key_file_size_is_checked)
{
	char	 want[PATH_MAX + 128];

	write_key("server.key", 31);
	ck_assert_int_eq(load(""), -1);
	snprintf(want, sizeof(want), ":3: server.key_file: %s: must hold "
	    "32 to 4096 bytes (has 31)", in_dir("server.key"));
	assert_err(want);

	write_key("server.key", 4097);
	ck_assert_int_eq(load(""), -1);
	snprintf(want, sizeof(want), ":3: server.key_file: %s: must hold "
	    "32 to 4096 bytes (more than 4096)", in_dir("server.key"));
	assert_err(want);

	write_key("server.key", 4096);
	ck_assert_msg(load("") == 0, "%s", err);
	ck_assert_uint_eq(conf.server_keylen, 4096);
}
END_TEST

START_TEST(missing_key_file_is_refused)
{
	char	 want[PATH_MAX + 128];

	ck_assert_int_eq(unlink(in_dir("server.key")), 0);
	ck_assert_int_eq(load(""), -1);
	snprintf(want, sizeof(want), ":3: server.key_file: %s: No such "
	    "file or directory", in_dir("server.key"));
	assert_err(want);
}
END_TEST

static const struct {
	const char	*val;
	int		 want;	/* -1: refused */
} booleans[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", -1 }, { "no", -1 },
	{ "1", -1 }, { "0", -1 }, { "True", -1 }, { "FALSE", -1 },
	{ "on", -1 },
};

START_TEST(booleans_are_exactly_true_or_false)
{
	char	 line[128];

	snprintf(line, sizeof(line), "auth.require_dpop = %s\n"
	    "auth.allow_scope_header = %s\n", booleans[_i].val,
	    booleans[_i].val);
	if (booleans[_i].want == -1) {
		ck_assert_int_eq(load(line), -1);
		assert_err(":6: auth.require_dpop: must be true or false");
	} else {
		ck_assert_msg(load(line) == 0, "%s", err);
		ck_assert_int_eq(conf.require_dpop, booleans[_i].want);
		ck_assert_int_eq(conf.allow_scope_header, booleans[_i].want);
	}
}
END_TEST

static const struct {
	const char	*val;
	const char	*want;	/* NULL: refused */
} urls[] = {
	{ "https://gw.example.org", "https://gw.example.org" },
	{ "https://gw.example.org/", "https://gw.example.org" },
	{ "http://localhost:8080", "http://localhost:8080" },
	{ "http://localhost:8080/", "http://localhost:8080" },
	{ "HTTPS://GW.Example.org", "HTTPS://GW.Example.org" },
	{ "https://[::1]:8443", "https://[::1]:8443" },
	{ "https://gw.example.org/jobengine", NULL },
	{ "https://gw.example.org//", NULL },
	{ "https://gw.example.org?x=1", NULL },
	{ "https://gw.example.org/?x=1", NULL },
	{ "https://gw.example.org#top", NULL },
	{ "https://user@gw.example.org", NULL },
	{ "https://gw.example.org:0", NULL },
	{ "https://gw.example.org:65536", NULL },
	{ "https://gw.example.org:", NULL },
	{ "https://", NULL },
	{ "ftp://gw.example.org", NULL },
	{ "gw.example.org", NULL },
};

START_TEST(public_base_url_is_an_origin)
{
	char	 body[1024];

	snprintf(body, sizeof(body),
	    "database = sqlite:gw.db\n"
	    "server.public_base_url = %s\n"
	    "server.key_file = server.key\n"
	    "auth.issuer = https://authority.example.org\n"
	    "auth.jwks_file = jwks.json\n", urls[_i].val);
	if (urls[_i].want == NULL) {
		ck_assert_msg(load_body(body) == -1, "%s accepted",
		    urls[_i].val);
		assert_err(":2: server.public_base_url: must be an http or "
		    "https URL with no path, query or fragment, e.g. "
		    "https://gw.example.org");
	} else {
		ck_assert_msg(load_body(body) == 0, "%s", err);
		ck_assert_str_eq(conf.public_base_url, urls[_i].want);
	}
}
END_TEST

START_TEST(database_forms)
{
	char	*pg[] = { "JOBENGINE_DATABASE=postgresql://gw:secret@db/gw",
			  NULL };
	char	*pg2[] = { "JOBENGINE_DATABASE=postgres://db/gw", NULL };
	char	*bad[] = { "JOBENGINE_DATABASE=mysql://gw:secret@db/gw", NULL };
	char	*empty[] = { "JOBENGINE_DATABASE=sqlite:", NULL };

	ck_assert_msg(load_env("", pg) == 0, "%s", err);
	ck_assert_str_eq(conf.database, "postgresql://gw:secret@db/gw");
	ck_assert_msg(load_env("", pg2) == 0, "%s", err);
	ck_assert_str_eq(conf.database, "postgres://db/gw");
	/* The refusal never repeats the value: it may hold a password. */
	ck_assert_int_eq(load_env("", bad), -1);
	ck_assert_str_eq(err, "JOBENGINE_DATABASE: must be \"sqlite:PATH\" "
	    "or a \"postgresql://\" URI");
	ck_assert_int_eq(load_env("", empty), -1);
}
END_TEST

START_TEST(comments_blank_lines_and_whitespace)
{
	ck_assert_msg(load_body(
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "   # an indented comment = not a key\n"
	    "\tdatabase\t=\tsqlite:gw.db   \n"
	    "server.public_base_url=https://gw.example.org\r\n"
	    "server.key_file = server.key\n"
	    "auth.issuer = https://authority.example.org/#realm  # kept\n"
	    "auth.jwks_file = jwks.json") == 0, "%s", err);
	ck_assert_str_eq(conf.issuer,
	    "https://authority.example.org/#realm  # kept");
	ck_assert_str_eq(conf.public_base_url, "https://gw.example.org");
}
END_TEST

START_TEST(control_characters_are_refused)
{
	ck_assert_int_eq(load("auth.issuer2 = a\x01" "b\n"), -1);
	assert_err(":6: contains a control character");
}
END_TEST

START_TEST(lists_split_on_blanks)
{
	ck_assert_msg(load("auth.tenant_claims =  tenant \t tid\n") == 0,
	    "%s", err);
	ck_assert_uint_eq(conf.ntenant_claims, 2);
	ck_assert_str_eq(conf.tenant_claims[0], "tenant");
	ck_assert_str_eq(conf.tenant_claims[1], "tid");
	ck_assert_int_eq(load("auth.audiences = a b c d e f g h i j k l m n "
	    "o p q\n"), -1);
	assert_err(":6: auth.audiences: must have at most 16 entries");
}
END_TEST

static const struct {
	const char	*line;
	int		 ok;
} enums[] = {
	{ "log.level = error\n", 1 },
	{ "log.level = warn\n", 1 },
	{ "log.level = debug\n", 1 },
	{ "log.level = warning\n", 0 },
	{ "log.level = INFO\n", 0 },
	{ "store.pg_schema = _gw\n", 1 },
	{ "store.pg_schema = gw_2\n", 1 },
	{ "store.pg_schema = "
	    "a23456789012345678901234567890123456789012345678901234567890123\n",
	    1 },
	{ "store.pg_schema = "
	    "a234567890123456789012345678901234567890123456789012345678901234\n",
	    0 },
	{ "store.pg_schema = Jobengine\n", 0 },
	{ "store.pg_schema = 2gw\n", 0 },
	{ "store.pg_schema = gw-x\n", 0 },
	{ "store.pg_schema = gw;drop\n", 0 },
};

START_TEST(enumerations_and_identifiers)
{
	ck_assert_msg(load(enums[_i].line) == (enums[_i].ok ? 0 : -1),
	    "%s: %s", enums[_i].line, err);
}
END_TEST

START_TEST(log_level_names_map_to_the_enum)
{
	ck_assert_int_eq(load("log.level = warn\n"), 0);
	ck_assert_int_eq(conf.log_level, GW_LOG_WARN);
	ck_assert_int_eq(load("log.level = bogus\n"), -1);
	assert_err(":6: log.level: must be one of error, warn, info, debug");
}
END_TEST

START_TEST(error_line_names_the_file_and_line)
{
	char	 want[PATH_MAX + 64];

	ck_assert_int_eq(load("\n\n\ncache.max_age = 1 day\n"), -1);
	snprintf(want, sizeof(want), "%s:9: cache.max_age: must be an "
	    "integer from 0 to 86400", confpath);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(missing_file_is_refused)
{
	char	 want[PATH_MAX + 64];

	ck_assert_int_eq(gw_conf_load(&conf, in_dir("nope.conf"), NULL, err,
	    sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory",
	    in_dir("nope.conf"));
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(free_is_null_safe_and_idempotent)
{
	gw_conf_free(NULL);
	ck_assert_int_eq(load(""), 0);
	gw_conf_free(&conf);
	gw_conf_free(&conf);
	ck_assert_ptr_null(conf.server_key);
}
END_TEST

/*
 * The sample documents every default: uncommenting each "#key = value"
 * line (but the alternative database) must change nothing.
 */
START_TEST(sample_documents_the_defaults)
{
	const char	*top = getenv("top_srcdir");
	char		 path[PATH_MAX], *line = NULL, *p;
	struct gw_buf	 out;
	size_t		 cap = 0, nkeys = 0;
	FILE		*fp;

	/* Outside "make check", find the source tree from this file. */
	if (top == NULL)
		snprintf(path, sizeof(path), "%.*s/samples/gateway.conf",
		    (int)(strlen(__FILE__) - strlen("/tests/check_conf.c")),
		    __FILE__);
	else
		snprintf(path, sizeof(path), "%s/samples/gateway.conf", top);
	ck_assert_msg((fp = fopen(path, "r")) != NULL, "%s", path);
	gw_buf_init(&out);
	while (getline(&line, &cap, fp) != -1) {
		p = line;
		/* "#key = value", or "#key =" where the default is empty. */
		if (p[0] == '#' && islower((unsigned char)p[1]) &&
		    (strstr(p, " = ") != NULL || strstr(p, " =\n") != NULL) &&
		    strchr(p, '\t') == NULL &&
		    strncmp(p, "#database", 9) != 0) {
			p++;
			nkeys++;
		}
		gw_buf_puts(&out, p);
	}
	free(line);
	fclose(fp);
	ck_assert_uint_eq(nkeys, 17);
	ck_assert_msg(load_body(out.data) == 0, "%s", err);
	gw_buf_free(&out);
	ck_assert_str_eq(conf.database,
	    "sqlite:/var/lib/jobengine-gateway/gateway.db");
	ck_assert_uint_eq(conf.naudiences, 2);
	ck_assert_uint_eq(conf.ntenant_claims, 3);
	ck_assert_int_eq(conf.leeway, 60);
	ck_assert_int_eq(conf.max_token_lifetime, 86400);
	ck_assert_int_eq(conf.dpop_max_age, 60);
	ck_assert_int_eq(conf.token_ttl, 86400);
	ck_assert_int_eq(conf.cache_max_age, 60);
	ck_assert_int_eq(conf.cache_stale_if_error, 300);
	ck_assert_int_eq(conf.max_body_bytes, 65536);
	ck_assert_int_eq(conf.log_level, GW_LOG_INFO);
	ck_assert_str_eq(conf.pg_schema, "jobengine");
	ck_assert_int_eq(conf.dpop_replay_slots, 1048576);
	ck_assert_str_eq(conf.dpop_replay_file, "");
}
END_TEST

/* gw_log: run fn with stderr sent to a file; return what it wrote. */
static char *
capture(void (*fn)(void))
{
	static char	 out[4096];
	char		 path[PATH_MAX];
	ssize_t		 n;
	int		 fd, saved;

	snprintf(path, sizeof(path), "%s/log", dir);
	ck_assert_int_ne(fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), -1);
	ck_assert_int_ne(saved = dup(STDERR_FILENO), -1);
	ck_assert_int_ne(dup2(fd, STDERR_FILENO), -1);
	fn();
	ck_assert_int_ne(dup2(saved, STDERR_FILENO), -1);
	close(saved);
	ck_assert_int_ne(n = pread(fd, out, sizeof(out) - 1, 0), -1);
	out[n] = '\0';
	close(fd);
	return out;
}

static void
log_forged(void)
{
	gw_log_init("jobengine-test", GW_LOG_INFO);
	gw_log(GW_LOG_INFO, "01JTRACE", "path %s", "/x\n2026-01-01T00:00:00Z "
	    "jobengine-sources[1] error trace=- forged\r\x1b[31m");
}

static void
log_levels(void)
{
	gw_log_init("jobengine-test", GW_LOG_WARN);
	gw_log(GW_LOG_INFO, NULL, "dropped");
	gw_log(GW_LOG_DEBUG, NULL, "dropped");
	gw_log(GW_LOG_WARN, NULL, "kept");
	gw_log(GW_LOG_ERROR, NULL, "kept too");
}

START_TEST(log_line_replaces_control_characters)
{
	char	*out, *p, want[256];

	out = capture(log_forged);
	/* "2026-11-27T09:58:45Z " then the rest. */
	ck_assert_uint_gt(strlen(out), 21);
	ck_assert_int_eq(out[20], ' ');
	ck_assert_int_eq(out[19], 'Z');
	snprintf(want, sizeof(want), "jobengine-test[%ld] info trace=01JTRACE "
	    "path /x?2026-01-01T00:00:00Z jobengine-sources[1] error trace=- "
	    "forged??[31m\n", (long)getpid());
	ck_assert_str_eq(out + 21, want);
	p = strchr(out, '\n');
	ck_assert_ptr_eq(p, out + strlen(out) - 1);
}
END_TEST

START_TEST(log_drops_lines_above_the_level)
{
	char	*out, want[256];
	long	 pid = (long)getpid();

	out = capture(log_levels);
	ck_assert_uint_gt(strlen(out), 21);
	snprintf(want, sizeof(want), "jobengine-test[%ld] warn trace=- kept\n",
	    pid);
	ck_assert_int_eq(strncmp(out + 21, want, strlen(want)), 0);
	out = strchr(out, '\n') + 1;
	snprintf(want, sizeof(want),
	    "jobengine-test[%ld] error trace=- kept too\n", pid);
	ck_assert_str_eq(out + 21, want);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("conf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, minimal_file_loads_with_every_default);
	tcase_add_loop_test(tc, number_bounds, 0,
	    sizeof(bounds) / sizeof(bounds[0]));
	tcase_add_test(tc, unknown_key_is_refused);
	tcase_add_test(tc, repeated_key_is_refused);
	tcase_add_test(tc, line_without_equals_is_refused);
	tcase_add_loop_test(tc, missing_required_key_is_refused, 0,
	    sizeof(required) / sizeof(required[0]));
	tcase_add_test(tc, empty_value_is_refused);
	tcase_add_test(tc, environment_overrides_the_file);
	tcase_add_test(tc, environment_error_names_the_variable);
	tcase_add_test(tc, environment_supplies_a_required_key);
	tcase_add_test(tc, unknown_environment_variables_are_ignored);
	tcase_add_test(tc, config_path_from_environment_then_default);
	tcase_add_test(tc, default_path_is_under_sysconfdir);
	tcase_add_test(tc, relative_paths_resolve_against_the_file_directory);
	tcase_add_test(tc, key_file_size_is_checked);
	tcase_add_test(tc, missing_key_file_is_refused);
	tcase_add_loop_test(tc, booleans_are_exactly_true_or_false, 0,
	    sizeof(booleans) / sizeof(booleans[0]));
	tcase_add_loop_test(tc, public_base_url_is_an_origin, 0,
	    sizeof(urls) / sizeof(urls[0]));
	tcase_add_test(tc, database_forms);
	tcase_add_test(tc, comments_blank_lines_and_whitespace);
	tcase_add_test(tc, control_characters_are_refused);
	tcase_add_test(tc, lists_split_on_blanks);
	tcase_add_loop_test(tc, enumerations_and_identifiers, 0,
	    sizeof(enums) / sizeof(enums[0]));
	tcase_add_test(tc, log_level_names_map_to_the_enum);
	tcase_add_test(tc, error_line_names_the_file_and_line);
	tcase_add_test(tc, missing_file_is_refused);
	tcase_add_test(tc, free_is_null_safe_and_idempotent);
	tcase_add_test(tc, sample_documents_the_defaults);
	tcase_add_test(tc, log_line_replaces_control_characters);
	tcase_add_test(tc, log_drops_lines_above_the_level);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(conf_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
