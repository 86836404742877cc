/*
 * mint_libjwt: print an RS256 token made by libjwt (typ JWT), so the
 * end-to-end tests can show that tokens from a second, independent JOSE
 * implementation are accepted exactly like gw_mint_token ones.
 *
 *	mint_libjwt KEY.pem 'CLAIMS_JSON' [kid]
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>

#include <jwt.h>

#define MAXKEY	(64 * 1024)

int
main(int argc, char *argv[])
{
	FILE		*f;
	jwt_t		*jwt;
	char		*tok;
	unsigned char	*key;
	size_t		 n;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: mint_libjwt KEY.pem CLAIMS_JSON [kid]\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL)
		err(1, "%s", argv[1]);
	if ((key = malloc(MAXKEY)) == NULL)
		err(1, NULL);
	n = fread(key, 1, MAXKEY, f);
	if (ferror(f) || n == MAXKEY)
		errx(1, "%s: cannot read the key", argv[1]);
	fclose(f);

	if (jwt_new(&jwt) != 0)
		errx(1, "jwt_new failed");
	if (jwt_add_grants_json(jwt, argv[2]) != 0)
		errx(1, "claims are not a JSON object");
	if (argc == 4 && jwt_add_header(jwt, "kid", argv[3]) != 0)
		errx(1, "cannot set kid");
	if (jwt_set_alg(jwt, JWT_ALG_RS256, key, (int)n) != 0)
		errx(1, "cannot use the key for RS256");
	if ((tok = jwt_encode_str(jwt)) == NULL)
		errx(1, "signing failed");
	printf("%s\n", tok);
	free(tok);
	jwt_free(jwt);
	free(key);
	return 0;
}
