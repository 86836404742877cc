/*
 * gw_fcgi.c: the transport.  FastCGI through libfcgi's FCGX_* API (never
 * fcgi_stdio.h, which redefines FILE and printf), or one plain-CGI request
 * when the program was not started by a FastCGI manager.
 *
 * Which listener (fastcgi-deploy.md §1.8):
 *	LISTEN_PID = our pid, LISTEN_FDS = 1	systemd socket activation: fd 3
 *	fd 0 is a listening socket		lighttpd, mod_fcgid, spawn-fcgi
 *	anything else				plain CGI, one request
 * FCGX_Accept_r has no CGI fallback of its own (it fails with -ENOTSOCK),
 * hence the second path below.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "extern.h"

extern char **environ;

static volatile sig_atomic_t quit;

/*
 * SIGTERM (lighttpd's kill-signal, systemd's stop, mod_fcgid's idle
 * reaping) and SIGUSR1 end the serve loop after the request in flight.
 * Installed without SA_RESTART so a blocked accept returns at once.
 */
static void
fcgi_on_signal(int sig)
{
	(void)sig;
	quit = 1;
	FCGX_ShutdownPending();
}

static int
fcgi_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = fcgi_on_signal;
	sa.sa_flags = 0;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		return -1;
	/* A client that went away must not kill the worker. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static int
fcgi_read(void *ctx, char *buf, int n)
{
	return FCGX_GetStr(buf, n, ctx);
}

static int
cgi_read(void *ctx, char *buf, int n)
{
	ssize_t	 r;

	(void)ctx;
	do
		r = read(STDIN_FILENO, buf, (size_t)n);
	while (r == -1 && errno == EINTR);
	return (int)r;
}

static int64_t
fcgi_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Whether all the body the front end announced was read: none announced
 * (no CONTENT_LENGTH, or 0), or exactly CONTENT_LENGTH bytes.  Then only
 * FCGI_STDIN's empty end record can be left to read.
 */
static int
fcgi_body_done(const struct gw_req *req)
{
	const char	*cl, *errstr;
	long long	 len;

	if ((cl = gw_req_env(req, "CONTENT_LENGTH")) == NULL || *cl == '\0')
		return req->body == NULL || req->bodylen == 0;
	len = gw_strtonum(cl, 0, LLONG_MAX, &errstr);
	if (errstr != NULL)
		return 0;
	return len == 0 || (req->body != NULL && (long long)req->bodylen == len);
}

/*
 * What goes back to the front end: the head (status and headers), then
 * the body if it is sent.  Both buffers live as long as the process, so a
 * response is written into memory the last one already grew, and the body
 * goes out from where the handler wrote it rather than from a copy.
 */
#define FCGI_KEEP_MAX	(256 * 1024)

struct fcgi_out {
	struct gw_buf	 head;
	struct gw_buf	 body;
	int		 send_body;
};

/* One request through the pipeline into out. */
static int
fcgi_one(struct gw_app *app, struct gw_arena *arena, char **envp,
    gw_read_fn readfn, void *readctx, struct fcgi_out *out)
{
	struct gw_req	 req;
	struct gw_resp	 resp;
	int64_t		 t0 = fcgi_usec();
	int		 done;

	gw_req_init(&req, app, arena, envp, readfn, readctx);
	gw_resp_init(&resp, arena);
	/* A rare big response is not kept for the life of the process. */
	if (out->body.cap > FCGI_KEEP_MAX)
		gw_buf_free(&out->body);
	gw_buf_free(&resp.body);
	resp.body = out->body;
	gw_buf_reset(&resp.body);
	gw_app_handle(app, &req, &resp);
	gw_buf_reset(&out->head);
	out->send_body = gw_resp_serialize_head(&req, &resp, &out->head);
	gw_log(GW_LOG_INFO, req.trace_id, "%.16s %.256s %d %lldus%s%.64s",
	    req.method_str, req.path, resp.status,
	    (long long)(fcgi_usec() - t0),
	    req.traceparent ? " traceparent=" : "",
	    req.traceparent ? req.traceparent : "");
	done = fcgi_body_done(&req);
	out->body = resp.body;
	gw_buf_init(&resp.body);
	gw_resp_cleanup(&resp);
	gw_req_cleanup(&req);
	return done;
}

/*
 * libfcgi ends a connection with shutdown(2), then waits in poll(2) until
 * the front end has read everything and closed its side, so that unread
 * input cannot turn the close into a reset that loses the response.  That
 * wait is a sleep and a wake-up per request, a fifth of the process's CPU
 * time per list page behind lighttpd.  When the input has been read to its
 * end there is nothing to reset over, and the connection is simply closed:
 * FCGX_Detach tells FCGX_Finish_r to skip the wait.  Anything unexpected
 * left in FCGI_STDIN keeps libfcgi's wait, which drains it.
 */
static void
fcgi_close_early(FCGX_Request *r, int body_done)
{
	char	 c;

	if (r->keepConnection)
		return;
	if (FCGX_HasSeenEOF(r->in) != EOF && (!body_done ||
	    FCGX_GetStr(&c, 1, r->in) != 0 || FCGX_HasSeenEOF(r->in) != EOF))
		return;
	FCGX_Detach(r);
}

static int
fcgi_listen_fd(void)
{
	const char	*pid = getenv("LISTEN_PID");
	const char	*fds = getenv("LISTEN_FDS");
	const char	*errstr;
	long long	 p;

	if (pid == NULL || fds == NULL || strcmp(fds, "1") != 0)
		return -1;
	p = gw_strtonum(pid, 1, INT32_MAX, &errstr);
	if (errstr != NULL || p != (long long)getpid())
		return -1;
	return 3;
}

int
gw_fcgi_serve(struct gw_app *app)
{
	FCGX_Request	 r;
	struct gw_arena	*arena;
	struct fcgi_out	 out;
	int		 fd, done, rc = 0;

	if (fcgi_signals() == -1) {
		gw_log(GW_LOG_ERROR, NULL, "sigaction: %s", strerror(errno));
		return 1;
	}
	if (FCGX_Init() != 0) {
		gw_log(GW_LOG_ERROR, NULL, "FCGX_Init failed");
		return 1;
	}
	arena = gw_arena_new();
	gw_buf_init(&out.head);
	gw_buf_init(&out.body);

	if ((fd = fcgi_listen_fd()) == -1 && FCGX_IsCGI()) {
		fcgi_one(app, arena, environ, cgi_read, NULL, &out);
		if (fwrite(out.head.data, 1, out.head.len, stdout) !=
		    out.head.len ||
		    (out.send_body && fwrite(out.body.data, 1, out.body.len,
		    stdout) != out.body.len) ||
		    fflush(stdout) != 0)
			rc = 1;
		goto done;
	}
	if (fd == -1)
		fd = 0;
	if (FCGX_InitRequest(&r, fd, 0) != 0) {
		gw_log(GW_LOG_ERROR, NULL, "FCGX_InitRequest failed");
		rc = 1;
		goto done;
	}
	while (!quit && FCGX_Accept_r(&r) >= 0) {
		done = fcgi_one(app, arena, r.envp, fcgi_read, r.in, &out);
		/* A failed write means the client left: nothing to do. */
		FCGX_PutStr(out.head.data, (int)out.head.len, r.out);
		if (out.send_body)
			FCGX_PutStr(out.body.data, (int)out.body.len, r.out);
		fcgi_close_early(&r, done);
		FCGX_Finish_r(&r);
		gw_arena_reset(arena);
	}
	FCGX_Free(&r, 1);
done:
	gw_buf_free(&out.head);
	gw_buf_free(&out.body);
	gw_arena_free(arena);
	return rc;
}
