/*
 * floor: the smallest honest FastCGI responder, the anchor that
 * bench/list.sh measures jobengine-sources against in the same run.
 *
 * Every request gets one fixed JSON body of FLOOR_BYTES bytes (bench/list.sh
 * sets it to the size of the first sources page) and the headers a list
 * page carries, so that what separates the two figures is the gateway's own
 * work: authentication, the SQLite page and the JSON.
 *
 * Not part of the automake build: cc -O2 floor.c -o floor -lfcgi
 */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#define FLOOR_MIN	16
#define FLOOR_MAX	(16L * 1024 * 1024)

static volatile sig_atomic_t	 floor_stop;

/*
 * libfcgi's accept() loop retries on EINTR unless a shutdown is pending,
 * so the flag alone would not end the wait for the next request.
 */
static void
floor_onterm(int sig)
{
	(void)sig;
	floor_stop = 1;
	FCGX_ShutdownPending();
}

/* {"items":[],"pad":"xxxx"}: valid JSON of exactly n bytes. */
static char *
floor_body(long n)
{
	static const char	 pre[] = "{\"items\":[],\"pad\":\"";
	static const char	 post[] = "\"}";
	char			*b;

	if ((b = malloc(n)) == NULL)
		return NULL;
	memset(b, 'x', n);
	memcpy(b, pre, sizeof(pre) - 1);
	memcpy(b + n - (sizeof(post) - 1), post, sizeof(post) - 1);
	return b;
}

int
main(void)
{
	FCGX_Request		 req;
	struct sigaction	 sa;
	const char		*s, *method;
	char			*body, *end, head[512];
	long			 n;
	int			 hlen;

	n = 1024;
	if ((s = getenv("FLOOR_BYTES")) != NULL) {
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' ||
		    n < FLOOR_MIN || n > FLOOR_MAX) {
			fprintf(stderr, "floor: FLOOR_BYTES: bad value\n");
			return 1;
		}
	}
	if ((body = floor_body(n)) == NULL) {
		fprintf(stderr, "floor: out of memory\n");
		return 1;
	}

	/*
	 * libfcgi's FCGX_FPrintF does not know %zu (it wrote a broken
	 * Content-Length), hence snprintf once and FCGX_PutStr.
	 */
	hlen = snprintf(head, sizeof(head),
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %ld\r\n"
	    "ETag: \"floor\"\r\n"
	    "Cache-Control: private, max-age=60, stale-if-error=300\r\n"
	    "Vary: Authorization, X-Stella-Tenant, X-Stella-Project\r\n"
	    "\r\n", n);
	if (hlen < 0 || (size_t)hlen >= sizeof(head)) {
		free(body);
		return 1;
	}

	/* No SA_RESTART: SIGTERM must interrupt accept() (lighttpd's stop). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = floor_onterm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		free(body);
		return 1;
	}
	while (!floor_stop && FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(head, hlen, req.out);
		method = FCGX_GetParam("REQUEST_METHOD", req.envp);
		if (method == NULL || strcmp(method, "HEAD") != 0)
			FCGX_PutStr(body, (int)n, req.out);
		FCGX_Finish_r(&req);
	}
	FCGX_Free(&req, 1);
	free(body);
	return 0;
}
