/*
 * gw_replay.c: the DPoP replay records of a SQLite store (SPEC §3,
 * RFC 9449 §11.1), a hash table in a file that every FastCGI process of
 * the machine maps: by default /dev/shm/jobengine-gateway-replay-HASH,
 * HASH from the database's real path, or store.dpop_replay_file
 * (docs/dpop.md).
 *
 * Why not a table of the database: every DPoP request, GETs included,
 * writes a record, and a SQLite write from several processes at once is
 * a dozen lock calls, page reads and WAL writes.  On a 2-core machine that
 * made a DPoP GET cost four Bearer ones (bench/dpop.sh: 0.37-0.45 of
 * Bearer's requests/s, 0.76-0.81 with no record at all).  Here a record is
 * a hash, a lock and a 16-byte store into shared memory: no system call
 * unless two processes want the lock at the same moment.  PostgreSQL
 * stores keep the dpop_replay table, which every gateway machine sees.
 *
 * The table.  A record is 12 bytes of SHA-256(secret, jkt, NUL, jti) and
 * its expiry, 16 bytes; the secret is drawn when the table is made, so a
 * client cannot choose jtis that crowd one part of it.  Slots come in
 * buckets of GW_REPLAY_BUCKET (two cache lines), and a key may live in
 * either of two buckets that the rest of its hash names.  Writing a record
 * reads both: a live record with the key is a replay (the unique
 * constraint); otherwise the record takes a free or expired slot of the
 * bucket with more of them.  An expired record is therefore overwritten
 * where it lies and nothing is ever purged.  If both buckets hold only
 * live records the record cannot be written and the request is refused
 * (fail closed).  With two choices that stays rare far beyond half full:
 * filling 2^20 slots (the default) with random keys refused none of the
 * first 700 000 records, and 13 of the first 800 000 (a simulation of
 * this placement).  700 000 live records are those of 3 900 DPoP requests
 * a second, each kept 180 s with the default window and leeway;
 * store.dpop_replay_slots sizes the table.
 *
 * Faults.  The lock is a robust process-shared mutex: a process killed
 * while holding it leaves it to the next one (EOWNERDEAD), and what it was
 * writing is a record nobody was told about.  The records are in memory
 * shared through the page cache, so a killed process loses none.  The
 * default file is in tmpfs: a file on disk works, but the kernel's
 * writeback then write-protects the pages it cleans and the next record
 * into each costs a page fault (bench/dpop.sh: 0.65 of Bearer instead of
 * 0.75).  Either way a reboot loses records: the header carries the boot
 * id of the machine that made the table, and "since", the time from which
 * its records are complete.  Proofs issued before since are refused
 * (gw_dpop.c).  A new table is complete from boot time + leeway, since a
 * proof used before the reboot may carry an iat up to leeway ahead of its
 * use; made later than that, it refuses nothing, not even a proof minted
 * a second before it was made.  A table from another boot, or a damaged
 * one, may have lost records of this boot and is made anew from now +
 * leeway.  The file is allocated in full when made, so a
 * full disk or tmpfs cannot fault a store into it (SIGBUS).
 *
 * Who may write it.  /dev/shm is writable by every user, so a file found
 * there is used only when it is a regular file of this user or of the
 * database's owner, writable by nobody the database is not; otherwise
 * DPoP requests are refused (503) and the error log says why.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "extern.h"

#define GW_REPLAY_MAGIC		"jegw-rp2"
#define GW_REPLAY_HDRSIZE	4096
#define GW_REPLAY_KEYLEN	12

struct gw_replay_hdr {
	char		 magic[8];
	uint32_t	 slots;		/* a power of two */
	uint32_t	 mutex_size;	/* sizeof(pthread_mutex_t) */
	char		 boot_id[40];	/* of the machine that made it */
	int64_t		 since;		/* records complete from then */
	unsigned char	 secret[32];
	uint64_t	 written;	/* records written, ever */
	uint64_t	 refused_full;	/* records refused for want of room */
	pthread_mutex_t	 lock;
};

struct gw_replay_slot {
	uint32_t	 expires;	/* Unix time; 0: never used */
	unsigned char	 key[GW_REPLAY_KEYLEN];
};

struct gw_replay {
	struct gw_replay_hdr	*hdr;
	struct gw_replay_slot	*slot;
	size_t			 len;		/* of the mapping */
	uint32_t		 mask;		/* of a bucket number */
	char			*path;		/* NULL: anonymous */
};

/* /proc/sys/kernel/random/boot_id: a new value every boot. */
static void
gw_replay_boot_id(char out[40])
{
	FILE	*f;

	memset(out, 0, 40);
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "r")) == NULL)
		return;
	if (fgets(out, 40, f) == NULL)
		memset(out, 0, 40);
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static int
gw_replay_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t	 a;
	int			 rc;

	if ((rc = pthread_mutexattr_init(&a)) != 0)
		return rc;
	if ((rc = pthread_mutexattr_setpshared(&a,
	    PTHREAD_PROCESS_SHARED)) == 0 &&
	    (rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST)) == 0)
		rc = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return rc;
}

/* /proc/stat's btime: the wall-clock time the machine booted, 0 if
 * unknown. */
static int64_t
gw_replay_boot_time(void)
{
	FILE		*f;
	char		 line[256];
	long long	 t = 0;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	fclose(f);
	return t;
}

int
gw_replay_default_path(const char *database, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];
	char			*real, name[17];
	size_t			 i;

	if ((real = realpath(database, NULL)) == NULL)
		return 0;
	gw_sha256(real, strlen(real), md);
	free(real);
	for (i = 0; i < 8; i++) {
		name[2 * i] = hex[md[i] >> 4];
		name[2 * i + 1] = hex[md[i] & 15];
	}
	name[16] = '\0';
	return (size_t)snprintf(out, outlen,
	    "/dev/shm/jobengine-gateway-replay-%s", name) < outlen;
}

/* A new, empty table in the mapping: its slots are already zero. */
static int
gw_replay_make(struct gw_replay_hdr *h, uint32_t slots, const char *boot,
    int64_t since)
{
	memset(h, 0, sizeof(*h));
	if (RAND_bytes(h->secret, sizeof(h->secret)) != 1 ||
	    gw_replay_mutex_init(&h->lock) != 0)
		return 0;
	h->slots = slots;
	h->mutex_size = sizeof(pthread_mutex_t);
	memcpy(h->boot_id, boot, sizeof(h->boot_id));
	h->since = since;
	/* Last: a header with its magic is a whole one. */
	memcpy(h->magic, GW_REPLAY_MAGIC, sizeof(h->magic));
	return 1;
}

static size_t
gw_replay_size(uint32_t slots)
{
	return GW_REPLAY_HDRSIZE + (size_t)slots *
	    sizeof(struct gw_replay_slot);
}

/*
 * The file, checked or made under flock(2), so that processes starting
 * together agree on one table: kept when its header is whole, of this
 * boot and as long as it says; made anew otherwise.  A table already in
 * use keeps its size when the configured one changes (only a new file,
 * made with the gateway stopped, takes a new size).
 */
static int
gw_replay_file(const char *path, const struct stat *like, uint32_t slots,
    int64_t leeway, int64_t now, struct gw_replay *r, char *err,
    size_t errlen)
{
	struct gw_replay_hdr	 h;
	struct stat		 sb;
	char			 boot[40];
	void			*m = MAP_FAILED;
	ssize_t			 n;
	int			 fd, e, fresh;

	/*
	 * A file made here takes the database file's mode and, when root
	 * makes it (jobengine-admin dpop status, say), its owner, as
	 * SQLite's -wal and -shm do: the web server's processes must map
	 * it.
	 */
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) != -1 && like != NULL) {
		if (fchmod(fd, like->st_mode & 0666) == -1 ||
		    (geteuid() == 0 && fchown(fd, like->st_uid, like->st_gid) ==
		    -1))
			gw_log(GW_LOG_WARN, NULL, "%s: cannot give it the "
			    "database's mode and owner: %s", path,
			    strerror(errno));
	} else if (fd == -1 && errno == EEXIST)
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (flock(fd, LOCK_EX) == -1 || fstat(fd, &sb) == -1)
		goto syserr;
	if (!S_ISREG(sb.st_mode) || (sb.st_uid != geteuid() &&
	    (like == NULL || sb.st_uid != like->st_uid)) ||
	    (sb.st_mode & 022 & ~(like != NULL ? like->st_mode : 0)) != 0) {
		snprintf(err, errlen, "%s: not a regular file of this user or "
		    "of the database's owner, writable by nobody else: not "
		    "used", path);
		goto fail;
	}
	gw_replay_boot_id(boot);
	n = pread(fd, &h, sizeof(h), 0);
	fresh = n == 0;
	if (n != sizeof(h) || memcmp(h.magic, GW_REPLAY_MAGIC,
	    sizeof(h.magic)) != 0 || h.mutex_size != sizeof(pthread_mutex_t) ||
	    h.slots < 2 * GW_REPLAY_BUCKET || (h.slots & (h.slots - 1)) != 0 ||
	    (off_t)gw_replay_size(h.slots) != sb.st_size ||
	    memcmp(h.boot_id, boot, sizeof(boot)) != 0) {
		/* Made anew: a file nobody had yet, or one that may have
		 * lost records (another boot, a damaged header). */
		if (ftruncate(fd, 0) == -1)
			goto syserr;
		if ((e = posix_fallocate(fd, 0, (off_t)gw_replay_size(slots)))
		    != 0) {
			errno = e;
			goto syserr;
		}
		if ((m = mmap(NULL, gw_replay_size(slots), PROT_READ |
		    PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
			goto syserr;
		if (!gw_replay_make(m, slots, boot, fresh ?
		    gw_replay_boot_time() + leeway :
		    now + leeway)) {
			snprintf(err, errlen, "%s: cannot make the table",
			    path);
			goto fail;
		}
		if (!fresh)
			gw_log(GW_LOG_WARN, NULL, "%s: replay records from "
			    "another boot or damaged, made anew: proofs "
			    "issued before now + %lld s are refused", path,
			    (long long)leeway);
	} else {
		slots = h.slots;
		if ((m = mmap(NULL, gw_replay_size(slots), PROT_READ |
		    PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
			goto syserr;
	}
	(void)flock(fd, LOCK_UN);
	close(fd);
	r->hdr = m;
	r->slot = (struct gw_replay_slot *)((char *)m + GW_REPLAY_HDRSIZE);
	r->len = gw_replay_size(slots);
	r->mask = slots / GW_REPLAY_BUCKET - 1;
	return 1;
syserr:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
fail:
	if (m != MAP_FAILED)
		munmap(m, gw_replay_size(slots));
	close(fd);
	return 0;
}

enum gw_err
gw_replay_open(const char *path, const struct stat *like, uint32_t slots,
    int64_t leeway, int64_t now, struct gw_replay **rp, char *err,
    size_t errlen)
{
	struct gw_replay	*r;
	char			 boot[40];
	void			*m;

	*rp = NULL;
	if (slots < 2 * GW_REPLAY_BUCKET || (slots & (slots - 1)) != 0) {
		snprintf(err, errlen, "replay table: %u slots: not a power of "
		    "two of at least %d", slots, 2 * GW_REPLAY_BUCKET);
		return GW_ERR_INTERNAL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "replay table: out of memory");
		return GW_ERR_INTERNAL;
	}
	if (path != NULL) {
		if ((r->path = strdup(path)) == NULL) {
			snprintf(err, errlen, "replay table: out of memory");
			free(r);
			return GW_ERR_INTERNAL;
		}
		if (!gw_replay_file(path, like, slots, leeway, now, r, err,
		    errlen)) {
			free(r->path);
			free(r);
			return GW_ERR_UNAVAILABLE;
		}
		*rp = r;
		return GW_OK;
	}
	/* An in-memory store: its processes' own, shared with children. */
	m = mmap(NULL, gw_replay_size(slots), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	gw_replay_boot_id(boot);
	if (m == MAP_FAILED || !gw_replay_make(m, slots, boot, now)) {
		snprintf(err, errlen, "replay table: %s", strerror(errno));
		if (m != MAP_FAILED)
			munmap(m, gw_replay_size(slots));
		free(r);
		return GW_ERR_UNAVAILABLE;
	}
	r->hdr = m;
	r->slot = (struct gw_replay_slot *)((char *)m + GW_REPLAY_HDRSIZE);
	r->len = gw_replay_size(slots);
	r->mask = slots / GW_REPLAY_BUCKET - 1;
	*rp = r;
	return GW_OK;
}

void
gw_replay_close(struct gw_replay *r)
{
	if (r == NULL)
		return;
	munmap(r->hdr, r->len);
	free(r->path);
	free(r);
}

/*
 * The record's key and its two buckets, from one SHA-256: bytes 0-11 the
 * key, 12-15 and 16-19 the buckets (two different ones).
 */
static void
gw_replay_key(const struct gw_replay *r, const char *jkt, const char *jti,
    unsigned char key[GW_REPLAY_KEYLEN], struct gw_replay_slot *b[2])
{
	const void	*p[] = { r->hdr->secret, jkt, jti };
	size_t		 n[] = { sizeof(r->hdr->secret), strlen(jkt) + 1,
	    strlen(jti) };
	unsigned char	 md[32];
	uint32_t	 i, j;

	gw_sha256_parts(p, n, 3, md);
	memcpy(key, md, GW_REPLAY_KEYLEN);
	memcpy(&i, md + 12, sizeof(i));
	memcpy(&j, md + 16, sizeof(j));
	i &= r->mask;
	if ((j &= r->mask) == i)
		j = i ^ 1;
	b[0] = &r->slot[(size_t)i * GW_REPLAY_BUCKET];
	b[1] = &r->slot[(size_t)j * GW_REPLAY_BUCKET];
}

/* Live at now: written, and expiring at now or later. */
static int
gw_replay_live(const struct gw_replay_slot *s, int64_t now)
{
	return s->expires != 0 && (int64_t)s->expires >= now;
}

/* The slot of both buckets live with key, or NULL; *room a free or
 * expired one of the bucket with the most, NULL when both are full. */
static struct gw_replay_slot *
gw_replay_find(struct gw_replay_slot *b[2], const unsigned char *key,
    int64_t now, struct gw_replay_slot **room)
{
	struct gw_replay_slot	*s, *first[2] = { NULL, NULL };
	int			 i, k, nfree[2] = { 0, 0 };

	for (k = 0; k < 2; k++)
		for (i = 0; i < GW_REPLAY_BUCKET; i++) {
			s = &b[k][i];
			if (!gw_replay_live(s, now)) {
				if (nfree[k]++ == 0)
					first[k] = s;
			} else if (memcmp(s->key, key, GW_REPLAY_KEYLEN) == 0)
				return s;
		}
	*room = first[nfree[1] > nfree[0]];
	return NULL;
}

/* A lock that a dead process held is ours, consistent again. */
int
gw_replay_lock(struct gw_replay *r)
{
	int	 rc = pthread_mutex_lock(&r->hdr->lock);

	if (rc == EOWNERDEAD) {
		gw_log(GW_LOG_WARN, NULL, "replay table: a process died "
		    "holding its lock; taken over");
		rc = pthread_mutex_consistent(&r->hdr->lock);
	}
	return rc == 0;
}

void
gw_replay_unlock(struct gw_replay *r)
{
	pthread_mutex_unlock(&r->hdr->lock);
}

enum gw_err
gw_replay_record(struct gw_replay *r, const char *jkt, const char *jti,
    int64_t expires, int64_t now)
{
	struct gw_replay_slot	*b[2], *room;
	unsigned char		 key[GW_REPLAY_KEYLEN];

	gw_replay_key(r, jkt, jti, key, b);
	if (!gw_replay_lock(r))
		return GW_ERR_UNAVAILABLE;
	if (gw_replay_find(b, key, now, &room) != NULL) {
		gw_replay_unlock(r);
		return GW_ERR_CONFLICT;
	}
	if (room == NULL) {
		r->hdr->refused_full++;
		gw_replay_unlock(r);
		gw_log(GW_LOG_WARN, NULL, "replay table: both buckets of a "
		    "record hold %d live records: raise "
		    "store.dpop_replay_slots", GW_REPLAY_BUCKET);
		return GW_ERR_UNAVAILABLE;
	}
	memcpy(room->key, key, sizeof(key));
	room->expires = expires > UINT32_MAX ? UINT32_MAX : expires < 1 ? 1 :
	    (uint32_t)expires;
	r->hdr->written++;
	gw_replay_unlock(r);
	return GW_OK;
}

int64_t
gw_replay_expires(struct gw_replay *r, const char *jkt, const char *jti,
    int64_t now)
{
	struct gw_replay_slot	*b[2], *room, *s;
	unsigned char		 key[GW_REPLAY_KEYLEN];
	int64_t			 exp;

	gw_replay_key(r, jkt, jti, key, b);
	if (!gw_replay_lock(r))
		return -1;
	s = gw_replay_find(b, key, now, &room);
	exp = s != NULL ? s->expires : 0;
	gw_replay_unlock(r);
	return exp;
}

/* A walk over every slot: for jobengine-admin and the tests, never for a
 * request. */
int
gw_replay_info(struct gw_replay *r, int64_t now, struct gw_replay_info *info)
{
	uint32_t	 i;

	memset(info, 0, sizeof(*info));
	if (!gw_replay_lock(r))
		return 0;
	info->file = r->path;
	info->slots = r->hdr->slots;
	info->since = r->hdr->since;
	info->written = r->hdr->written;
	info->refused_full = r->hdr->refused_full;
	for (i = 0; i < info->slots; i++)
		if (gw_replay_live(&r->slot[i], now))
			info->live++;
	gw_replay_unlock(r);
	return 1;
}

int64_t
gw_replay_since(const struct gw_replay *r)
{
	return r->hdr->since;
}
