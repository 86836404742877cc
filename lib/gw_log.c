/*
 * gw_log.c: one line per event on stderr, which Apache and lighttpd copy
 * into their error log:
 *
 *	2026-11-27T09:58:45Z jobengine-sources[1234] info trace=01J... message
 *
 * Messages often carry text a client chose (a path, a header).  Every
 * control character in them becomes '?', so a client cannot end our line
 * and forge the next one.  Never log a token, a proof or a secret.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define LOG_MAXMSG	1024

static char	 log_prog[64] = "jobengine-gateway";
static int	 log_level = GW_LOG_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

/* Replace control characters in place, so the line stays one line. */
static void
gw_log_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
gw_log_init(const char *prog, int level)
{
	if (prog != NULL) {
		snprintf(log_prog, sizeof(log_prog), "%s", prog);
		gw_log_clean(log_prog);
	}
	log_level = level;
}

void
gw_log(int level, const char *trace_id, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[LOG_MAXMSG], trace[129], when[21], line[LOG_MAXMSG + 256];
	int	 n;

	if (level > log_level || level < GW_LOG_ERROR || level > GW_LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gw_log_clean(msg);
	snprintf(trace, sizeof(trace), "%s", trace_id != NULL ? trace_id : "-");
	gw_log_clean(trace);
	gw_time_format(gw_now(), when);

	/*
	 * One write(2) per line: FastCGI processes share the error log, and
	 * a write of at most PIPE_BUF bytes is not interleaved with another.
	 */
	n = snprintf(line, sizeof(line), "%s %s[%ld] %s trace=%s %s\n", when,
	    log_prog, (long)getpid(), log_names[level], trace, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Nowhere left to report a failed write to the error log. */
	if (write(STDERR_FILENO, line, n) == -1)
		return;
}
