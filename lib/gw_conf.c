/*
 * gw_conf.c: the configuration file and its environment overrides
 * (SPEC §12).
 *
 * The file is a list of "key = value" lines.  A line whose first non-blank
 * character is '#' is a comment; a '#' anywhere else belongs to the value,
 * so
 *
 *	auth.issuer = https://authority.example.org/#realm   # not a comment
 *
 * sets the issuer to everything after the '=' (trimmed), comment text
 * included.  Values are never quoted: quotes would become part of them.
 *
 * Every key can be overridden by JOBENGINE_<KEY> in the environment, the
 * key upper-cased with dots turned into underscores (auth.jwks_file is
 * JOBENGINE_AUTH_JWKS_FILE).  Other JOBENGINE_* variables are ignored, so
 * JOBENGINE_GATEWAY_CONFIG, which names the file, can live beside them.
 *
 * A bad configuration is refused whole with one line naming where the bad
 * value came from ("FILE:LINE: key: ..." or "JOBENGINE_KEY: ..."), because
 * that line is all an operator sees in the web server's error log.  No
 * message repeats a value: the database URI may hold a password.
 */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "extern.h"

#ifndef GW_SYSCONFDIR
#define GW_SYSCONFDIR	"/etc"
#endif

#define CONF_MAXLINE	4096
#define CONF_KEYMIN	32
#define CONF_KEYMAX	4096

enum conf_type {
	CONF_DATABASE,		/* "sqlite:PATH" or a libpq URI */
	CONF_URL,		/* http(s)://host[:port], nothing after */
	CONF_FILE,		/* a file name, relative to the file's dir */
	CONF_STRING,
	CONF_LIST,		/* space-separated words */
	CONF_INT,
	CONF_LONG,
	CONF_BOOL,		/* exactly true or false */
	CONF_LEVEL,		/* error|warn|info|debug */
	CONF_IDENT,		/* an SQL identifier: [a-z_][a-z0-9_]{0,62} */
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	const char	*def;		/* NULL: the key is required */
	long long	 min;
	long long	 max;
	size_t		 off;		/* the member of struct gw_conf */
	size_t		 noff;		/* CONF_LIST: its count */
};

#define M(f)	offsetof(struct gw_conf, f)

static const struct conf_key conf_keys[] = {
	{ "database", CONF_DATABASE, NULL, 0, 0, M(database), 0 },
	{ "server.public_base_url", CONF_URL, NULL, 0, 0,
	    M(public_base_url), 0 },
	{ "server.key_file", CONF_FILE, NULL, 0, 0, M(key_file), 0 },
	{ "auth.issuer", CONF_STRING, NULL, 0, 0, M(issuer), 0 },
	{ "auth.audiences", CONF_LIST, "stellaops-gateway stellaops-web",
	    0, 0, M(audiences), M(naudiences) },
	{ "auth.jwks_file", CONF_FILE, NULL, 0, 0, M(jwks_file), 0 },
	{ "auth.leeway_seconds", CONF_INT, "60", 0, 300, M(leeway), 0 },
	{ "auth.max_token_lifetime_seconds", CONF_INT, "86400", 60, 604800,
	    M(max_token_lifetime), 0 },
	{ "auth.tenant_claims", CONF_LIST, "stellaops:tenant tid ten", 0, 0,
	    M(tenant_claims), M(ntenant_claims) },
	{ "auth.require_dpop", CONF_BOOL, "false", 0, 0, M(require_dpop), 0 },
	{ "auth.dpop_max_age_seconds", CONF_INT, "60", 1, 3600,
	    M(dpop_max_age), 0 },
	{ "auth.allow_scope_header", CONF_BOOL, "false", 0, 0,
	    M(allow_scope_header), 0 },
	{ "pagination.token_ttl_seconds", CONF_INT, "86400", 60, 2592000,
	    M(token_ttl), 0 },
	{ "cache.max_age", CONF_INT, "60", 0, 86400, M(cache_max_age), 0 },
	{ "cache.stale_if_error", CONF_INT, "300", 0, 86400,
	    M(cache_stale_if_error), 0 },
	{ "limits.max_body_bytes", CONF_LONG, "65536", 1024, 16777216,
	    M(max_body_bytes), 0 },
	{ "log.level", CONF_LEVEL, "info", 0, 0, M(log_level), 0 },
	{ "store.busy_timeout_ms", CONF_INT, "5000", 0, 60000,
	    M(busy_timeout_ms), 0 },
	{ "store.pg_schema", CONF_IDENT, "jobengine", 0, 0, M(pg_schema), 0 },
	{ "store.statement_timeout_ms", CONF_INT, "5000", 100, 600000,
	    M(statement_timeout_ms), 0 },
	{ "store.dpop_replay_slots", CONF_INT, "1048576", 4096, 67108864,
	    M(dpop_replay_slots), 0 },
	{ "store.dpop_replay_file", CONF_FILE, "", 0, 0,
	    M(dpop_replay_file), 0 },
};

#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *const conf_levels[] = { "error", "warn", "info", "debug" };

/* Where each key's value came from, for the one error line. */
struct conf_src {
	char	*val;		/* trimmed, malloc'd; NULL: not set */
	size_t	 line;		/* line in the file; 0 if not from it */
	char	 env[64];	/* the JOBENGINE_ name, if from there */
};

struct conf_ctx {
	struct gw_conf	*conf;
	const char	*dir;		/* the file's absolute directory */
	struct conf_src	 src[CONF_NKEYS];
	char		*err;
	size_t		 errlen;
};

static int	conf_line_err(struct conf_ctx *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	conf_key_err(struct conf_ctx *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

const char *
gw_conf_default_path(void)
{
	return GW_SYSCONFDIR "/jobengine-gateway/gateway.conf";
}

static void
conf_env_name(const char *key, char *out, size_t outlen)
{
	size_t	 i;

	snprintf(out, outlen, "JOBENGINE_%s", key);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == '.')
			out[i] = '_';
		else
			out[i] = toupper((unsigned char)out[i]);
	}
}

/* The value of NAME in envp, or NULL. */
static const char *
conf_getenv(char **envp, const char *name)
{
	size_t	 len;

	if (envp == NULL)
		return NULL;
	len = strlen(name);
	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

static char *
conf_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A tab separates the words of a list; elsewhere it is refused too. */
static int
conf_has_ctl(const char *s, int tabok)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && !(tabok && *s == '\t')) ||
		    *s == 0x7f)
			return 1;
	return 0;
}

static char *
conf_strdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static const struct conf_key *
conf_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* Append the message after the prefix of n bytes already in ctx->err. */
static int
conf_verr(struct conf_ctx *ctx, int n, const char *fmt, va_list ap)
{
	if (n >= 0 && (size_t)n < ctx->errlen)
		vsnprintf(ctx->err + n, ctx->errlen - n, fmt, ap);
	return -1;
}

/* "FILE:LINE: msg" for errors that belong to no key. */
static int
conf_line_err(struct conf_ctx *ctx, size_t line, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(ctx->err, ctx->errlen, "%s:%zu: ", ctx->conf->path, line);
	va_start(ap, fmt);
	conf_verr(ctx, n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "FILE:LINE: key: msg" or "JOBENGINE_KEY: msg". */
static int
conf_key_err(struct conf_ctx *ctx, size_t i, const char *fmt, ...)
{
	const struct conf_src	*src = &ctx->src[i];
	va_list			 ap;
	int			 n;

	if (src->env[0] != '\0')
		n = snprintf(ctx->err, ctx->errlen, "%s: ", src->env);
	else if (src->line > 0)
		n = snprintf(ctx->err, ctx->errlen, "%s:%zu: %s: ",
		    ctx->conf->path, src->line, conf_keys[i].name);
	else
		n = snprintf(ctx->err, ctx->errlen, "%s: %s: ",
		    ctx->conf->path, conf_keys[i].name);
	va_start(ap, fmt);
	conf_verr(ctx, n, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A relative name is taken from the configuration file's directory, not
 * from the working directory, which differs between Apache, lighttpd and
 * a shell running jobengine-admin.
 */
static char *
conf_resolve(const struct conf_ctx *ctx, const char *name)
{
	char	*p;
	size_t	 len;

	if (name[0] == '/')
		return conf_strdup(name);
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	len = strlen(ctx->dir) + 1 + strlen(name) + 1;
	if ((p = malloc(len)) == NULL)
		abort();
	snprintf(p, len, "%s/%s", ctx->dir, name);
	return p;
}

/*
 * server.public_base_url is the origin DPoP proofs are checked against
 * (RFC 9449 §4.3, htu): scheme and authority only.  One trailing slash is
 * dropped ("https://gw.example.org/" is stored as "https://gw.example.org")
 * so that appending a request path never doubles it; a real path, a query,
 * a fragment or user information is refused.
 */
static char *
conf_url(const char *v)
{
	const char	*p, *errstr;
	char		 port[6];
	size_t		 n;

	if (strncasecmp(v, "https://", 8) == 0)
		p = v + 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		p = v + 7;
	else
		return NULL;
	if (*p == '[') {
		n = strspn(p + 1, "0123456789abcdefABCDEF:.");
		if (n == 0 || p[1 + n] != ']')
			return NULL;
		p += n + 2;
	} else {
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
		if (n == 0)
			return NULL;
		p += n;
	}
	if (*p == ':') {
		p++;
		n = strspn(p, "0123456789");
		if (n == 0 || n >= sizeof(port))
			return NULL;
		memcpy(port, p, n);
		port[n] = '\0';
		gw_strtonum(port, 1, 65535, &errstr);
		if (errstr != NULL)
			return NULL;
		p += n;
	}
	if (!(*p == '\0' || (p[0] == '/' && p[1] == '\0')))
		return NULL;
	return strndup(v, p - v);
}

static int
conf_ident(const char *v)
{
	size_t	 n;

	if (!(islower((unsigned char)*v) || *v == '_'))
		return 0;
	n = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return v[n] == '\0' && n <= 63;
}

static int
conf_list(struct conf_ctx *ctx, size_t i, const char *v)
{
	const struct conf_key	*k = &conf_keys[i];
	char			**list, *copy, *w, *p;
	size_t			*np, n = 0;

	list = (char **)((char *)ctx->conf + k->off);
	np = (size_t *)((char *)ctx->conf + k->noff);
	copy = conf_strdup(v);
	for (p = copy; (w = strsep(&p, " \t")) != NULL; ) {
		if (*w == '\0')
			continue;
		if (n == GW_CONF_MAXLIST) {
			free(copy);
			return conf_key_err(ctx, i,
			    "must have at most %d entries", GW_CONF_MAXLIST);
		}
		list[n++] = conf_strdup(w);
		*np = n;
	}
	free(copy);
	return 0;
}

/* Check one value and store it in ctx->conf. */
static int
conf_set(struct conf_ctx *ctx, size_t i, const char *v)
{
	const struct conf_key	*k = &conf_keys[i];
	void			*dst = (char *)ctx->conf + k->off;
	const char		*errstr;
	char			*s;
	long long		 n;
	size_t			 j;

	/* Empty only where the default is: "the program chooses". */
	if (*v == '\0' && (k->def == NULL || *k->def != '\0'))
		return conf_key_err(ctx, i, "must not be empty");
	if (conf_has_ctl(v, k->type == CONF_LIST))
		return conf_key_err(ctx, i,
		    "must not contain control characters");

	switch (k->type) {
	case CONF_DATABASE:
		if (strncmp(v, "postgresql://", 13) == 0 ||
		    strncmp(v, "postgres://", 11) == 0) {
			*(char **)dst = conf_strdup(v);
			break;
		}
		if (strncmp(v, "sqlite:", 7) != 0 || v[7] == '\0')
			return conf_key_err(ctx, i, "must be \"sqlite:PATH\" "
			    "or a \"postgresql://\" URI");
		s = conf_resolve(ctx, v + 7);
		j = strlen(s) + 8;
		if ((*(char **)dst = malloc(j)) == NULL)
			abort();
		snprintf(*(char **)dst, j, "sqlite:%s", s);
		free(s);
		break;
	case CONF_URL:
		if ((*(char **)dst = conf_url(v)) == NULL)
			return conf_key_err(ctx, i, "must be an http or https "
			    "URL with no path, query or fragment, "
			    "e.g. https://gw.example.org");
		break;
	case CONF_FILE:
		*(char **)dst = *v == '\0' ? conf_strdup(v) :
		    conf_resolve(ctx, v);
		break;
	case CONF_STRING:
		*(char **)dst = conf_strdup(v);
		break;
	case CONF_LIST:
		return conf_list(ctx, i, v);
	case CONF_INT:
	case CONF_LONG:
		n = gw_strtonum(v, k->min, k->max, &errstr);
		if (errstr != NULL)
			return conf_key_err(ctx, i,
			    "must be an integer from %lld to %lld",
			    k->min, k->max);
		if (k->type == CONF_INT)
			*(int *)dst = (int)n;
		else
			*(long *)dst = (long)n;
		break;
	case CONF_BOOL:
		if (strcmp(v, "true") == 0)
			*(int *)dst = 1;
		else if (strcmp(v, "false") == 0)
			*(int *)dst = 0;
		else
			return conf_key_err(ctx, i, "must be true or false");
		break;
	case CONF_LEVEL:
		for (j = 0; j < sizeof(conf_levels) / sizeof(conf_levels[0]);
		    j++)
			if (strcmp(v, conf_levels[j]) == 0)
				break;
		if (j == sizeof(conf_levels) / sizeof(conf_levels[0]))
			return conf_key_err(ctx, i,
			    "must be one of error, warn, info, debug");
		*(int *)dst = (int)j;
		break;
	case CONF_IDENT:
		if (!conf_ident(v))
			return conf_key_err(ctx, i,
			    "must match [a-z_][a-z0-9_]{0,62}");
		*(char **)dst = conf_strdup(v);
		break;
	}
	return 0;
}

/* Read the file's "key = value" lines into ctx->src. */
static int
conf_parse(struct conf_ctx *ctx, FILE *fp)
{
	const struct conf_key	*k;
	char			*line = NULL, *p, *eq, *key, *val;
	size_t			 cap = 0, lineno = 0, i;
	ssize_t			 len;
	int			 rc = -1;

	while ((len = getline(&line, &cap, fp)) != -1) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			conf_line_err(ctx, lineno, "contains a NUL byte");
			goto out;
		}
		if (len > CONF_MAXLINE) {
			conf_line_err(ctx, lineno,
			    "longer than %d bytes", CONF_MAXLINE);
			goto out;
		}
		p = conf_trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		for (i = 0; p[i] != '\0'; i++)
			if (((unsigned char)p[i] < 0x20 && p[i] != '\t') ||
			    p[i] == 0x7f) {
				conf_line_err(ctx, lineno,
				    "contains a control character");
				goto out;
			}
		if ((eq = strchr(p, '=')) == NULL) {
			conf_line_err(ctx, lineno, "expected \"key = value\"");
			goto out;
		}
		*eq = '\0';
		key = conf_trim(p);
		val = conf_trim(eq + 1);
		if (*key == '\0') {
			conf_line_err(ctx, lineno, "no key before '='");
			goto out;
		}
		if ((k = conf_lookup(key)) == NULL) {
			conf_line_err(ctx, lineno, "unknown key \"%.64s\"",
			    key);
			goto out;
		}
		i = k - conf_keys;
		if (ctx->src[i].val != NULL) {
			conf_line_err(ctx, lineno,
			    "%s: repeated (first set on line %zu)",
			    k->name, ctx->src[i].line);
			goto out;
		}
		ctx->src[i].val = conf_strdup(val);
		ctx->src[i].line = lineno;
	}
	if (ferror(fp)) {
		snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->conf->path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	return rc;
}

/* server.key_file holds the HMAC key of continuation tokens and audit. */
static int
conf_read_key(struct conf_ctx *ctx, size_t i)
{
	struct gw_conf	*conf = ctx->conf;
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = open(conf->key_file, O_RDONLY | O_CLOEXEC)) == -1)
		return conf_key_err(ctx, i, "%s: %s", conf->key_file,
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_key_err(ctx, i, "%s: not a regular file", conf->key_file);
		goto out;
	}
	if ((buf = malloc(CONF_KEYMAX + 1)) == NULL)
		abort();
	while (len < CONF_KEYMAX + 1) {
		n = read(fd, buf + len, CONF_KEYMAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_key_err(ctx, i, "%s: %s", conf->key_file,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len < CONF_KEYMIN || len > CONF_KEYMAX) {
		conf_key_err(ctx, i, "%s: must hold %d to %d bytes (%s%zu)",
		    conf->key_file, CONF_KEYMIN, CONF_KEYMAX,
		    len > CONF_KEYMAX ? "more than " : "has ",
		    len > CONF_KEYMAX ? (size_t)CONF_KEYMAX : len);
		goto out;
	}
	conf->server_key = buf;
	conf->server_keylen = len;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, CONF_KEYMAX + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

int
gw_conf_load(struct gw_conf *conf, const char *path, char **envp,
    char *err, size_t errlen)
{
	struct conf_ctx	 ctx;
	FILE		*fp = NULL;
	const char	*v;
	char		*abs = NULL, *slash, name[64];
	size_t		 i, keyfile = 0;
	int		 rc = -1;

	memset(conf, 0, sizeof(*conf));
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = conf;
	ctx.err = err;
	ctx.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';

	if (path == NULL || *path == '\0')
		path = conf_getenv(envp, "JOBENGINE_GATEWAY_CONFIG");
	if (path == NULL || *path == '\0')
		path = gw_conf_default_path();

	if ((fp = fopen(path, "re")) == NULL ||
	    (abs = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	conf->path = conf_strdup(abs);
	slash = strrchr(abs, '/');
	slash[slash == abs ? 1 : 0] = '\0';
	ctx.dir = abs;

	if (conf_parse(&ctx, fp) == -1)
		goto out;

	for (i = 0; i < CONF_NKEYS; i++) {
		conf_env_name(conf_keys[i].name, name, sizeof(name));
		if ((v = conf_getenv(envp, name)) == NULL)
			continue;
		free(ctx.src[i].val);
		ctx.src[i].val = conf_strdup(v);
		ctx.src[i].line = 0;
		memcpy(ctx.src[i].env, name, sizeof(name));
		/* Trimmed like a value in the file: one rule for both. */
		v = conf_trim(ctx.src[i].val);
		memmove(ctx.src[i].val, v, strlen(v) + 1);
	}

	for (i = 0; i < CONF_NKEYS; i++) {
		if (ctx.src[i].val == NULL && conf_keys[i].def == NULL) {
			conf_env_name(conf_keys[i].name, name, sizeof(name));
			snprintf(err, errlen, "%s: %s: required (set it in the "
			    "file or as %s)", conf->path, conf_keys[i].name,
			    name);
			goto out;
		}
		v = ctx.src[i].val != NULL ? ctx.src[i].val : conf_keys[i].def;
		if (conf_set(&ctx, i, v) == -1)
			goto out;
		if (conf_keys[i].off == M(key_file))
			keyfile = i;
	}
	if (conf_read_key(&ctx, keyfile) == -1)
		goto out;
	rc = 0;
out:
	for (i = 0; i < CONF_NKEYS; i++)
		free(ctx.src[i].val);
	free(abs);
	if (fp != NULL)
		fclose(fp);
	if (rc == -1)
		gw_conf_free(conf);
	return rc;
}

void
gw_conf_free(struct gw_conf *conf)
{
	size_t	 i;

	if (conf == NULL)
		return;
	free(conf->path);
	free(conf->database);
	free(conf->public_base_url);
	free(conf->key_file);
	if (conf->server_key != NULL) {
		explicit_bzero(conf->server_key, conf->server_keylen);
		free(conf->server_key);
	}
	free(conf->issuer);
	for (i = 0; i < conf->naudiences; i++)
		free(conf->audiences[i]);
	free(conf->jwks_file);
	free(conf->dpop_replay_file);
	for (i = 0; i < conf->ntenant_claims; i++)
		free(conf->tenant_claims[i]);
	free(conf->pg_schema);
	memset(conf, 0, sizeof(*conf));
}
