/*
 * jobengine-admin: schema migrations, imports, configuration checks and
 * development tokens (SPEC §13).  Exit status: 0 done, 1 the operation
 * failed, 2 the command line is wrong.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static const char	*config;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: jobengine-admin [-c config] migrate\n"
	    "       jobengine-admin [-c config] import file\n"
	    "       jobengine-admin [-c config] config check\n"
	    "       jobengine-admin [-c config] audit verify [--tenant tenant]\n"
	    "       jobengine-admin [-c config] dpop status\n"
	    "       jobengine-admin [-c config] token --key pem [--kid kid] "
	    "[--alg alg] [--typ typ]\n"
	    "           [--iss issuer] [--sub subject] [--tenant tenant] "
	    "[--scope \"a b\"]\n"
	    "           [--aud \"x y\"] [--client-id id] [--cnf-jkt jkt] "
	    "[--ttl seconds]\n"
	    "       jobengine-admin jwks --key pem [--kid kid] [--alg alg]\n");
	exit(2);
}

static int
cmd_migrate(int argc, char *argv[])
{
	(void)argv;
	if (argc != 1)
		usage();
	return gw_admin_migrate(config);
}

static int
cmd_import(int argc, char *argv[])
{
	if (argc != 2)
		usage();
	return gw_admin_import(config, argv[1]);
}

static int
cmd_config(int argc, char *argv[])
{
	if (argc != 2 || strcmp(argv[1], "check") != 0)
		usage();
	return gw_admin_config_check(config);
}

static int
cmd_audit(int argc, char *argv[])
{
	const char	*tenant = NULL;

	if (argc == 4 && strcmp(argv[2], "--tenant") == 0)
		tenant = argv[3];
	else if (argc != 2)
		usage();
	if (strcmp(argv[1], "verify") != 0)
		usage();
	return gw_admin_audit_verify(config, tenant);
}

static int
cmd_dpop(int argc, char *argv[])
{
	if (argc != 2 || strcmp(argv[1], "status") != 0)
		usage();
	return gw_admin_dpop_status(config);
}

enum {
	OPT_KEY = 1, OPT_KID, OPT_ALG, OPT_TYP, OPT_ISS, OPT_SUB, OPT_TENANT,
	OPT_SCOPE, OPT_AUD, OPT_CLIENT_ID, OPT_CNF_JKT, OPT_TTL,
};

static const struct option token_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ "typ", required_argument, NULL, OPT_TYP },
	{ "iss", required_argument, NULL, OPT_ISS },
	{ "sub", required_argument, NULL, OPT_SUB },
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "aud", required_argument, NULL, OPT_AUD },
	{ "client-id", required_argument, NULL, OPT_CLIENT_ID },
	{ "cnf-jkt", required_argument, NULL, OPT_CNF_JKT },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ NULL, 0, NULL, 0 },
};

/* jwks takes the first three of token's options. */
static const struct option jwks_opts[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "alg", required_argument, NULL, OPT_ALG },
	{ NULL, 0, NULL, 0 },
};

static void
parse_opts(int argc, char *argv[], const struct option *opts,
    struct gw_admin_token *t)
{
	const char	*errstr;
	int		 ch;

	optind = 0;	/* glibc: start over, with this optstring */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case OPT_KEY:
			t->key_file = optarg;
			break;
		case OPT_KID:
			t->kid = optarg;
			break;
		case OPT_ALG:
			t->alg = optarg;
			break;
		case OPT_TYP:
			t->typ = optarg;
			break;
		case OPT_ISS:
			t->iss = optarg;
			break;
		case OPT_SUB:
			t->sub = optarg;
			break;
		case OPT_TENANT:
			t->tenant = optarg;
			break;
		case OPT_SCOPE:
			t->scope = optarg;
			break;
		case OPT_AUD:
			t->aud = optarg;
			break;
		case OPT_CLIENT_ID:
			t->client_id = optarg;
			break;
		case OPT_CNF_JKT:
			t->cnf_jkt = optarg;
			break;
		case OPT_TTL:
			t->ttl = gw_strtonum(optarg, 1, 31536000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "jobengine-admin: --ttl %s: "
				    "must be 1 to 31536000 seconds\n", errstr);
				exit(2);
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc || t->key_file == NULL)
		usage();
}

static int
cmd_token(int argc, char *argv[])
{
	struct gw_admin_token	 t;

	memset(&t, 0, sizeof(t));
	t.config = config;
	parse_opts(argc, argv, token_opts, &t);
	if (t.sub == NULL) {
		fprintf(stderr, "jobengine-admin: token: --sub is required\n");
		exit(2);
	}
	return gw_admin_token(&t);
}

static int
cmd_jwks(int argc, char *argv[])
{
	struct gw_admin_token	 t;

	memset(&t, 0, sizeof(t));
	parse_opts(argc, argv, jwks_opts, &t);
	return gw_admin_jwks(t.key_file, t.kid, t.alg);
}

static const struct {
	const char	*name;
	int		 (*fn)(int, char *[]);
} cmds[] = {
	{ "migrate", cmd_migrate },
	{ "import", cmd_import },
	{ "config", cmd_config },
	{ "audit", cmd_audit },
	{ "dpop", cmd_dpop },
	{ "token", cmd_token },
	{ "jwks", cmd_jwks },
};

int
main(int argc, char *argv[])
{
	size_t	 i;
	int	 ch, rc;

	/* '+': options after the command belong to the command. */
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		usage();
	rc = cmds[i].fn(argc, argv);
	/* A token lost to a full disk or a closed pipe is a failure. */
	if (fflush(stdout) == EOF) {
		perror("jobengine-admin: stdout");
		return 1;
	}
	return rc;
}
