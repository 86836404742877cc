/*
 * check_replay.c: the DPoP replay table of a SQLite store (gw_replay.c).
 *
 * The unique constraint (one live record per key, however many processes
 * race for it), expiry taken over in place, a full table refused, a
 * process killed while holding the lock, a table kept across processes
 * and made anew when it may have lost records, who may use a file, and
 * where the default one lives.  Each test works in a folder of its own.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define NOW	1800000000LL
#define LEEWAY	60

static char	 dir[64];
static char	 path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_replay.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/replay", dir);
}

static void
teardown(void)
{
	char	 fn[160];

	unlink(path);
	snprintf(fn, sizeof(fn), "%s/db", dir);
	unlink(fn);
	snprintf(fn, sizeof(fn), "%s/link", dir);
	unlink(fn);
	rmdir(dir);
}

static struct gw_replay *
open_table(const char *p, uint32_t slots, int64_t now)
{
	struct gw_replay	*r;
	char			 err[512];

	ck_assert_msg(gw_replay_open(p, NULL, slots, LEEWAY, now, &r, err,
	    sizeof(err)) == GW_OK, "%s", err);
	return r;
}

static struct gw_replay_info
info_of(struct gw_replay *r, int64_t now)
{
	struct gw_replay_info	 info;

	ck_assert_int_eq(gw_replay_info(r, now, &info), 1);
	return info;
}

/* ---------------------------------------------------------------- */

/* A record is live while expires >= now; then its slot is taken over. */
START_TEST(unique_while_live_then_taken_over)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);

	ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 180, NOW), GW_OK);
	ck_assert_int_eq(gw_replay_expires(r, "k", "j", NOW), NOW + 180);
	ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 500, NOW + 180),
	    GW_ERR_CONFLICT);
	ck_assert_int_eq(gw_replay_expires(r, "k", "j", NOW + 181), 0);
	ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 500, NOW + 181),
	    GW_OK);
	ck_assert_int_eq(gw_replay_expires(r, "k", "j", NOW + 181), NOW + 500);
	ck_assert_uint_eq(info_of(r, NOW + 181).live, 1);
	ck_assert_uint_eq(info_of(r, NOW + 181).written, 2);
	gw_replay_close(r);
}
END_TEST

/* RFC 9449 §11.1: a jti is unique per key; ("ab", "c") is not ("a", "bc"). */
START_TEST(key_is_the_pair)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);

	ck_assert_int_eq(gw_replay_record(r, "k1", "j", NOW + 9, NOW), GW_OK);
	ck_assert_int_eq(gw_replay_record(r, "k2", "j", NOW + 9, NOW), GW_OK);
	ck_assert_int_eq(gw_replay_record(r, "ab", "c", NOW + 9, NOW), GW_OK);
	ck_assert_int_eq(gw_replay_record(r, "a", "bc", NOW + 9, NOW), GW_OK);
	ck_assert_int_eq(gw_replay_record(r, "k2", "j", NOW + 9, NOW),
	    GW_ERR_CONFLICT);
	ck_assert_uint_eq(info_of(r, NOW).live, 4);
	gw_replay_close(r);
}
END_TEST

/*
 * 16 slots are two buckets, the two of every key: 16 live records fill
 * the table, the 17th is refused and counted, and once they expire their
 * slots are written over, with no purge.
 */
START_TEST(full_table_refuses_then_expired_slots_are_reused)
{
	struct gw_replay	*r = open_table(NULL, 16, NOW);
	struct gw_replay_info	 info;
	char			 jti[16];
	int			 i;

	for (i = 0; i < 16; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		ck_assert_int_eq(gw_replay_record(r, "k", jti, NOW + 10, NOW),
		    GW_OK);
	}
	ck_assert_int_eq(gw_replay_record(r, "k", "one-more", NOW + 10, NOW),
	    GW_ERR_UNAVAILABLE);
	ck_assert_int_eq(gw_replay_expires(r, "k", "one-more", NOW), 0);
	info = info_of(r, NOW);
	ck_assert_uint_eq(info.live, 16);
	ck_assert_uint_eq(info.refused_full, 1);
	ck_assert_uint_eq(info.slots, 16);
	/* Still the unique constraint while full. */
	ck_assert_int_eq(gw_replay_record(r, "k", "j3", NOW + 10, NOW),
	    GW_ERR_CONFLICT);
	for (i = 0; i < 16; i++) {
		snprintf(jti, sizeof(jti), "n%d", i);
		ck_assert_int_eq(gw_replay_record(r, "k", jti, NOW + 99,
		    NOW + 11), GW_OK);
	}
	ck_assert_uint_eq(info_of(r, NOW + 11).live, 16);
	ck_assert_int_eq(gw_replay_expires(r, "k", "j3", NOW + 11), 0);
	gw_replay_close(r);
}
END_TEST

START_TEST(slots_must_be_a_power_of_two)
{
	struct gw_replay	*r;
	char			 err[256];

	ck_assert_int_eq(gw_replay_open(NULL, NULL, 24, LEEWAY, NOW, &r, err,
	    sizeof(err)), GW_ERR_INTERNAL);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(gw_replay_open(NULL, NULL, 8, LEEWAY, NOW, &r, err,
	    sizeof(err)), GW_ERR_INTERNAL);
}
END_TEST

/*
 * Four processes, each with its own mapping of the file, write the same
 * 400 records at once: each record is written exactly once.  A child
 * answers through a pipe (under valgrind its exit status is valgrind's).
 */
START_TEST(racing_processes_write_each_record_once)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);
	int			 fd[2], i, k, got, ok = 0, conflict = 0;
	pid_t			 pid[4];

	ck_assert_int_eq(pipe(fd), 0);
	for (k = 0; k < 4; k++) {
		if ((pid[k] = fork()) == 0) {
			struct gw_replay	*c;
			char			 err[256], jti[16];
			int			 res[2] = { 0, 0 };

			close(fd[0]);
			if (gw_replay_open(path, NULL, 4096, LEEWAY, NOW, &c,
			    err, sizeof(err)) != GW_OK)
				_exit(1);
			for (i = 0; i < 400; i++) {
				snprintf(jti, sizeof(jti), "j%d", i);
				switch (gw_replay_record(c, "k", jti, NOW + 60,
				    NOW)) {
				case GW_OK:
					res[0]++;
					break;
				case GW_ERR_CONFLICT:
					res[1]++;
					break;
				default:
					break;
				}
			}
			gw_replay_close(c);
			(void)write(fd[1], res, sizeof(res));
			_exit(0);
		}
		ck_assert_int_gt(pid[k], 0);
	}
	close(fd[1]);
	for (k = 0; k < 4; k++) {
		int	 res[2];

		ck_assert_int_eq(read(fd[0], res, sizeof(res)), sizeof(res));
		ok += res[0];
		conflict += res[1];
		ck_assert_int_eq(waitpid(pid[k], &got, 0), pid[k]);
	}
	close(fd[0]);
	ck_assert_int_eq(ok, 400);
	ck_assert_int_eq(conflict, 3 * 400);
	ck_assert_uint_eq(info_of(r, NOW).live, 400);
	ck_assert_uint_eq(info_of(r, NOW).written, 400);
	gw_replay_close(r);
}
END_TEST

/* A process killed while it holds the lock does not stop the others. */
START_TEST(lock_of_a_dead_process_is_taken_over)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);
	pid_t			 pid;
	int			 st;

	if ((pid = fork()) == 0) {
		struct gw_replay	*c;
		char			 err[256];

		if (gw_replay_open(path, NULL, 4096, LEEWAY, NOW, &c, err,
		    sizeof(err)) != GW_OK || !gw_replay_lock(c))
			_exit(1);
		_exit(0);		/* dies holding it */
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(gw_replay_record(r, "k", "after", NOW + 9, NOW),
	    GW_OK);
	ck_assert_int_eq(gw_replay_record(r, "k", "after", NOW + 9, NOW),
	    GW_ERR_CONFLICT);
	ck_assert_int_eq(gw_replay_record(r, "k", "next", NOW + 9, NOW),
	    GW_OK);
	gw_replay_close(r);
}
END_TEST

/* The records outlive the processes; the table keeps its size and start. */
START_TEST(table_is_kept_across_opens)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);
	int64_t			 since = gw_replay_since(r);

	ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 180, NOW), GW_OK);
	gw_replay_close(r);
	r = open_table(path, 8192, NOW + 50);
	ck_assert_int_eq(gw_replay_expires(r, "k", "j", NOW + 50), NOW + 180);
	ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 230, NOW + 50),
	    GW_ERR_CONFLICT);
	ck_assert_int_eq(gw_replay_since(r), since);
	ck_assert_uint_eq(info_of(r, NOW).slots, 4096);
	gw_replay_close(r);
}
END_TEST

/*
 * A table that may have lost records is made anew, empty, from now +
 * leeway: one from another boot (the boot id at offset 16 of the header,
 * after the magic, the slot count and the mutex size) or a damaged one.
 */
START_TEST(table_that_may_have_lost_records_is_made_anew)
{
	static const struct {
		off_t		 off;
		const char	*bytes;
		size_t		 len;
	} damage[] = {
		{ 16, "00000000-0000-0000-0000-000000000000", 36 },
		{ 0, "XXXX", 4 },
		{ 8, "\003\000\000\000", 4 },	/* 3 slots */
	};
	struct gw_replay	*r;
	size_t			 i;
	int			 fd;

	for (i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		r = open_table(path, 4096, NOW);
		ck_assert_int_eq(gw_replay_record(r, "k", "j", NOW + 180, NOW),
		    GW_OK);
		gw_replay_close(r);
		ck_assert_int_ge(fd = open(path, O_WRONLY), 0);
		ck_assert_int_eq(pwrite(fd, damage[i].bytes, damage[i].len,
		    damage[i].off), (ssize_t)damage[i].len);
		close(fd);
		r = open_table(path, 4096, NOW + 10);
		ck_assert_msg(gw_replay_expires(r, "k", "j", NOW + 10) == 0,
		    "damage %zu kept the record", i);
		ck_assert_int_eq(gw_replay_since(r), NOW + 10 + LEEWAY);
		gw_replay_close(r);
		unlink(path);
	}
}
END_TEST

/* /proc/stat's btime, read here independently of gw_replay.c. */
static int64_t
boot_time(void)
{
	FILE		*f;
	char		 line[256];
	long long	 t = 0;

	ck_assert_ptr_nonnull(f = fopen("/proc/stat", "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lld", &t) == 1)
			break;
	fclose(f);
	ck_assert_int_gt(t, 0);
	return t;
}

/*
 * A new table is complete from boot + leeway: it refuses the proofs that
 * may have been used before the reboot, and none minted since, not even
 * one minted a second before the table was made.
 */
START_TEST(new_table_starts_at_boot_plus_leeway)
{
	struct gw_replay	*r = open_table(path, 4096, NOW);

	ck_assert_int_eq(gw_replay_since(r), boot_time() + LEEWAY);
	gw_replay_close(r);
	unlink(path);
	r = open_table(NULL, 16, NOW);
	ck_assert_int_eq(gw_replay_since(r), NOW);
	gw_replay_close(r);
}
END_TEST

/*
 * /dev/shm is everyone's: a file there is used only when it is a regular
 * file of this user (or of the database's owner), writable by nobody the
 * database is not.
 */
START_TEST(file_of_another_user_or_too_open_is_not_used)
{
	struct gw_replay	*r;
	struct stat		 like;
	char			 err[512], link[160];

	/* Too open: group-writable while the database is not. */
	gw_replay_close(open_table(path, 4096, NOW));
	ck_assert_int_eq(chmod(path, 0664), 0);
	memset(&like, 0, sizeof(like));
	like.st_uid = geteuid();
	like.st_mode = S_IFREG | 0644;
	ck_assert_int_eq(gw_replay_open(path, &like, 4096, LEEWAY, NOW, &r,
	    err, sizeof(err)), GW_ERR_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(err, "not used"));
	/* The same mode as a group-writable database is fine. */
	like.st_mode = S_IFREG | 0664;
	ck_assert_int_eq(gw_replay_open(path, &like, 4096, LEEWAY, NOW, &r,
	    err, sizeof(err)), GW_OK);
	gw_replay_close(r);
	ck_assert_int_eq(chmod(path, 0644), 0);

	/* A symbolic link is never followed. */
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(gw_replay_open(link, NULL, 4096, LEEWAY, NOW, &r,
	    err, sizeof(err)), GW_ERR_UNAVAILABLE);

	if (geteuid() != 0)
		return;
	/* Another user's. */
	ck_assert_int_eq(chown(path, 65534, 65534), 0);
	ck_assert_int_eq(gw_replay_open(path, NULL, 4096, LEEWAY, NOW, &r,
	    err, sizeof(err)), GW_ERR_UNAVAILABLE);
	/* ... unless that user owns the database. */
	like.st_uid = 65534;
	like.st_mode = S_IFREG | 0644;
	ck_assert_int_eq(gw_replay_open(path, &like, 4096, LEEWAY, NOW, &r,
	    err, sizeof(err)), GW_OK);
	gw_replay_close(r);
}
END_TEST

/* Made by root, the file is the database owner's, with its mode. */
START_TEST(file_made_by_root_gets_the_database_owner)
{
	struct stat	 like, sb;

	if (geteuid() != 0)
		return;
	memset(&like, 0, sizeof(like));
	like.st_uid = 65534;
	like.st_gid = 65534;
	like.st_mode = S_IFREG | 0640;
	{
		struct gw_replay	*r;
		char			 err[512];

		ck_assert_msg(gw_replay_open(path, &like, 4096, LEEWAY, NOW,
		    &r, err, sizeof(err)) == GW_OK, "%s", err);
		gw_replay_close(r);
	}
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_uid, 65534);
	ck_assert_int_eq(sb.st_gid, 65534);
	ck_assert_int_eq(sb.st_mode & 0777, 0640);
	/* Allocated in full: no store into it can meet a full disk. */
	ck_assert_int_ge((long long)sb.st_blocks * 512,
	    4096 + 4096 * 16);
}
END_TEST

/* The default file: /dev/shm, named after the database's real path. */
START_TEST(default_path_is_named_after_the_real_path)
{
	char	 db[160], other[160], a[4096], b[4096], c[4096];
	size_t	 i;
	int	 fd;

	snprintf(db, sizeof(db), "%s/db", dir);
	ck_assert_int_ge(fd = open(db, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	ck_assert_int_eq(gw_replay_default_path(db, a, sizeof(a)), 1);
	snprintf(other, sizeof(other), "%s/./../%s/db", dir,
	    strrchr(dir, '/') + 1);
	ck_assert_int_eq(gw_replay_default_path(other, b, sizeof(b)), 1);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(strncmp(a, "/dev/shm/jobengine-gateway-replay-",
	    34), 0);
	ck_assert_uint_eq(strlen(a), 34 + 16);
	for (i = 34; i < 50; i++)
		ck_assert_ptr_nonnull(strchr("0123456789abcdef", a[i]));
	/* No such file, no room for the name. */
	ck_assert_int_eq(gw_replay_default_path(path, c, sizeof(c)), 0);
	ck_assert_int_eq(gw_replay_default_path(db, c, 20), 0);
	ck_assert_int_eq(gw_replay_default_path("/", c, sizeof(c)), 1);
	ck_assert_str_ne(a, c);
}
END_TEST

static Suite *
replay_suite(void)
{
	Suite	*s = suite_create("replay");
	TCase	*tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, unique_while_live_then_taken_over);
	tcase_add_test(tc, key_is_the_pair);
	tcase_add_test(tc, full_table_refuses_then_expired_slots_are_reused);
	tcase_add_test(tc, slots_must_be_a_power_of_two);
	tcase_add_test(tc, racing_processes_write_each_record_once);
	tcase_add_test(tc, lock_of_a_dead_process_is_taken_over);
	tcase_add_test(tc, table_is_kept_across_opens);
	tcase_add_test(tc, table_that_may_have_lost_records_is_made_anew);
	tcase_add_test(tc, new_table_starts_at_boot_plus_leeway);
	tcase_add_test(tc, file_of_another_user_or_too_open_is_not_used);
	tcase_add_test(tc, file_made_by_root_gets_the_database_owner);
	tcase_add_test(tc, default_path_is_named_after_the_real_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(replay_suite());
	int	 nfail;

	srunner_run_all(sr, CK_ENV);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
