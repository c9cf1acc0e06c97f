/*
 * caller.c - stage 2: who is calling.  Ids come from the kernel (never
 * from SUDO_UID or any other variable); names and home from NSS.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "userdocker.h"

static int dup_str(char **dst, const char *src, struct ud_err *err)
{
	*dst = strdup(src);
	if (!*dst)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	return 0;
}

static int group_name_of(gid_t gid, char **out, struct ud_err *err)
{
	struct group *gr;
	char num[32];

	errno = 0;
	gr = getgrgid(gid);
	if (gr)
		return dup_str(out, gr->gr_name, err);
	/* A gid without a name is legal; configs can still match gid files. */
	snprintf(num, sizeof num, "%u", (unsigned)gid);
	return dup_str(out, num, err);
}

static void find_tty(struct ud_caller *c)
{
	int fd;

	snprintf(c->tty, sizeof c->tty, "unknown");
	for (fd = 0; fd <= 2; fd++) {
		char *name = ttyname(fd);

		if (name) {
			snprintf(c->tty, sizeof c->tty, "%s", name);
			return;
		}
	}
}

int caller_identify(struct ud_caller *c, struct ud_err *err)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct passwd *pw;
	int n;
	size_t i;

	if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot read process ids");
	if (euid != 0) {
		if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
			return ud_fail(err, UD_EX_SOFTWARE,
				       "not running as root: no_new_privs is set in this process, so the setuid bit had no effect");
		return ud_fail(err, UD_EX_SOFTWARE,
			       "not running as root: userdocker must be installed setuid root (and its file system mounted without nosuid)");
	}
	c->uid = ruid;
	c->gid = rgid;
	n = getgroups(UD_MAX_GROUPS, c->groups);
	if (n < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot read your groups");
	c->ngroups = (size_t)n;
	/* The primary group counts too, whether or not it is listed. */
	for (i = 0; i < c->ngroups && c->groups[i] != rgid; i++)
		;
	if (i == c->ngroups) {
		if (c->ngroups == UD_MAX_GROUPS)
			return ud_fail(err, UD_EX_CONFIG, "too many groups");
		c->groups[c->ngroups++] = rgid;
	}

	errno = 0;
	pw = getpwuid(ruid);
	if (!pw)
		return ud_fail(err, UD_EX_CONFIG, "uid %u has no passwd entry", (unsigned)ruid);
	if (dup_str(&c->user_name, pw->pw_name, err) || dup_str(&c->home, pw->pw_dir, err))
		return -1;
	if (c->home[0] != '/')
		return ud_fail(err, UD_EX_CONFIG, "home directory of %s is not absolute: %s",
			       c->user_name, c->home);
	if (group_name_of(rgid, &c->group_name, err))
		return -1;
	c->group_names = calloc(c->ngroups + 1, sizeof *c->group_names);
	if (!c->group_names)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	for (i = 0; i < c->ngroups; i++)
		if (group_name_of(c->groups[i], &c->group_names[i], err))
			return -1;
	find_tty(c);
	if (!getcwd(c->cwd, sizeof c->cwd))
		snprintf(c->cwd, sizeof c->cwd, "(unknown)");
	return 0;
}

/*
 * Become plain root (real, effective and saved ids, no supplementary
 * groups).  From here on the caller can no longer send us signals other
 * than through the terminal, so they cannot stop or kill the root process
 * at a moment of their choosing; the policy child gets their ids back.
 */
int caller_become_root(struct ud_err *err)
{
	if (setgroups(0, NULL) || setresgid(0, 0, 0) || setresuid(0, 0, 0))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot switch to root");
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
