/*
 * pam_userdocker.c - PAM session module: when a login session ends, stop
 * and remove the containers the user started through userdocker.
 *
 *   session  optional  pam_userdocker.so record session_only grace=30
 *
 * Options (any other word is a configuration error: PAM_SERVICE_ERR):
 *   record         open_session gives the session a random id (see the
 *                  contract below); without it, opening does nothing.
 *   session_only   on close, only containers labelled with this session's
 *                  id; with no id recorded for the session, none at all.
 *   last_session   on close, do nothing while the user still has processes
 *                  outside the closing session (see below).
 *   grace=SECONDS  clean up in a background process after SECONDS (0 to
 *                  86400; 0 = at once), so that the caller is not held up;
 *                  last_session is checked after the wait.  Without it the
 *                  cleanup runs in pam_close_session itself.
 *   socket=PATH    the docker daemon's socket (default /var/run/docker.sock).
 *   debug          log what is decided and why, not only what is done.
 *
 * What is removed: the containers the daemon lists for the label filter
 * userdocker.owner.uid=<uid of PAM_USER> (and userdocker.session=<id> with
 * session_only) in one request, each re-checked against the same labels
 * before it is touched: docker stop with a 5 second timeout, then docker rm
 * --force --volumes.  Containers of the reference tool, which carry env
 * marks only, are never touched.  Every removal is logged (authpriv,
 * notice).  Closing a session never fails because of the cleanup: errors
 * (daemon down, unknown user) are logged and the module returns
 * PAM_SUCCESS; only a misconfigured option gives PAM_SERVICE_ERR.
 *
 * The session id contract (record):
 *   pam_sm_open_session draws 128 random bits and sets the PAM environment
 *   variable USERDOCKER_SESSION=<id>, <id> being exactly 32 lowercase hex
 *   digits ([0-9a-f]{32}); it also keeps the id as PAM data
 *   ("pam_userdocker.session"), which pam_sm_close_session reads first, and
 *   falls back to the PAM environment when the application closes the
 *   session with another handle.  Applications that export the PAM
 *   environment (sshd, login, su, Slurm) pass it to the session's
 *   processes.  userdocker reads USERDOCKER_SESSION from its caller's
 *   environment and, when it has exactly that form, labels the containers
 *   it creates userdocker.session=<id>; any other value is not used.  The id
 *   is not a secret and grants nothing: a user may set any value, which
 *   only chooses which of the user's *own* containers a session_only close
 *   removes, since the owner label is always matched too.
 *
 * last_session: the user still has another session when some process whose
 * real uid is the user's is alive (not a zombie) outside the process tree
 * of the closing process (the application that called pam_close_session).
 * Processes of the user's systemd manager (cgroup user@UID.service) are
 * not sessions and do not count.  When /proc cannot be read, the user is
 * taken to be busy: nothing is removed on a guess.
 *
 * grace: the cleanup process is detached (own session, fds 0-2 on
 * /dev/null, no other fd of the caller) but stays in the caller's cgroup:
 * where everything in the session's cgroup is killed at its end (logind
 * KillUserProcesses=yes, Slurm's proctrack/cgroup), leave grace out.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "dockerapi.h"
#include "dockerapi_write.h"
#include "error.h"

#define SESSION_ENV "USERDOCKER_SESSION"
#define SESSION_DATA "pam_userdocker.session"
#define SESSION_ID_LEN 32
#define LABEL_UID "userdocker.owner.uid"
#define LABEL_SESSION "userdocker.session"
#define DEFAULT_SOCKET "/var/run/docker.sock"
#define GRACE_MAX 86400L
#define STOP_SECONDS 5
#define MAX_PROCS (1u << 22) /* the kernel's largest pid_max */
#define MAX_TREE_DEPTH 4096

struct opts {
	int record;
	int session_only;
	int last_session;
	int debug;
	long grace; /* -1: no background cleanup */
	const char *sock;
};

/* Whose containers, and which of them. */
struct target {
	char user[256];
	char uid[16];                         /* decimal, as in the label */
	uid_t uid_n;
	char session[SESSION_ID_LEN + 1];     /* "" without session_only */
};

#define DBG(o, pamh, ...) \
	do { \
		if ((o)->debug) \
			pam_syslog((pamh), LOG_DEBUG, __VA_ARGS__); \
	} while (0)

static int parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct opts *o)
{
	int i;

	memset(o, 0, sizeof *o);
	o->grace = -1;
	o->sock = DEFAULT_SOCKET;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "record") == 0) {
			o->record = 1;
		} else if (strcmp(a, "session_only") == 0) {
			o->session_only = 1;
		} else if (strcmp(a, "last_session") == 0) {
			o->last_session = 1;
		} else if (strcmp(a, "debug") == 0) {
			o->debug = 1;
		} else if (strncmp(a, "grace=", 6) == 0) {
			const char *v = a + 6;
			char *end;

			errno = 0;
			o->grace = strtol(v, &end, 10);
			if (!isdigit((unsigned char)*v) || *end || errno || o->grace > GRACE_MAX) {
				pam_syslog(pamh, LOG_ERR, "bad option %s: seconds from 0 to %ld", a, GRACE_MAX);
				return -1;
			}
		} else if (strncmp(a, "socket=", 7) == 0) {
			o->sock = a + 7;
			if (o->sock[0] != '/' || strlen(o->sock) >= sizeof ((struct dapi *)0)->sock) {
				pam_syslog(pamh, LOG_ERR, "bad option %s: an absolute path under %zu bytes", a,
					   sizeof ((struct dapi *)0)->sock);
				return -1;
			}
		} else {
			pam_syslog(pamh, LOG_ERR, "unknown option: %s", a);
			return -1;
		}
	}
	return 0;
}

static int session_id_ok(const char *s)
{
	return s && strlen(s) == SESSION_ID_LEN && strspn(s, "0123456789abcdef") == SESSION_ID_LEN;
}

static void free_data(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	free(data);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[SESSION_ID_LEN / 2];
	char env[sizeof SESSION_ENV + SESSION_ID_LEN + 1];
	char *id;
	struct opts o;
	size_t i;
	ssize_t n;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o))
		return PAM_SERVICE_ERR;
	if (!o.record)
		return PAM_SUCCESS;

	do
		n = getrandom(raw, sizeof raw, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof raw) {
		pam_syslog(pamh, LOG_ERR, "cannot draw a session id: %m");
		return PAM_SESSION_ERR;
	}
	id = malloc(SESSION_ID_LEN + 1);
	if (!id) {
		pam_syslog(pamh, LOG_CRIT, "out of memory");
		return PAM_BUF_ERR;
	}
	for (i = 0; i < sizeof raw; i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[SESSION_ID_LEN] = '\0';
	snprintf(env, sizeof env, "%s=%s", SESSION_ENV, id);
	if (pam_putenv(pamh, env) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot set %s in the PAM environment", SESSION_ENV);
		free(id);
		return PAM_SESSION_ERR;
	}
	if (pam_set_data(pamh, SESSION_DATA, id, free_data) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot keep the session id");
		free(id);
		return PAM_SESSION_ERR;
	}
	DBG(&o, pamh, "session %s recorded", id);
	return PAM_SUCCESS;
}

/* This session's id: the one we recorded on this handle, else the PAM
 * environment's; NULL when neither is well-formed. */
static const char *session_id(pam_handle_t *pamh)
{
	const void *data = NULL;
	const char *env;

	if (pam_get_data(pamh, SESSION_DATA, &data) == PAM_SUCCESS && session_id_ok(data))
		return data;
	env = pam_getenv(pamh, SESSION_ENV);
	return session_id_ok(env) ? env : NULL;
}

/* --- last_session: the user's processes outside the closing tree --- */

struct proc {
	pid_t pid;
	pid_t ppid;
	uid_t uid;
	int zombie;
};

static ssize_t read_small(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static int read_status(pid_t pid, struct proc *p)
{
	char path[64], buf[8192], *line, *next;
	int have = 0;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return -1;
	p->pid = pid;
	for (line = buf; line; line = next) {
		unsigned long v;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';

		if (strncmp(line, "State:", 6) == 0) {
			char state = 0;

			if (sscanf(line + 6, " %c", &state) == 1) {
				p->zombie = state == 'Z' || state == 'X';
				have |= 1;
			}
		} else if (strncmp(line, "PPid:", 5) == 0 && sscanf(line + 5, " %lu", &v) == 1) {
			p->ppid = (pid_t)v;
			have |= 2;
		} else if (strncmp(line, "Uid:", 4) == 0 && sscanf(line + 4, " %lu", &v) == 1) {
			p->uid = (uid_t)v;
			have |= 4;
		}
	}
	return have == 7 ? 0 : -1;
}

/* In the user's systemd manager (user@UID.service), which outlives
 * sessions by design. */
static int in_user_manager(pid_t pid, uid_t uid)
{
	char path[64], buf[8192], needle[48];
	const char *p;

	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
	if (read_small(path, buf, sizeof buf) <= 0)
		return 0;
	snprintf(needle, sizeof needle, "/user@%lu.service", (unsigned long)uid);
	for (p = strstr(buf, needle); p; p = strstr(p + 1, needle)) {
		char next = p[strlen(needle)];

		if (next == '/' || next == '\n' || next == '\0')
			return 1;
	}
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const struct proc *)a)->pid, y = ((const struct proc *)b)->pid;

	return (x > y) - (x < y);
}

static int in_tree(const struct proc *tab, size_t n, pid_t pid, pid_t root)
{
	struct proc key, *p;
	int hops;

	for (hops = 0; hops < MAX_TREE_DEPTH && pid > 0; hops++) {
		if (pid == root)
			return 1;
		key.pid = pid;
		p = bsearch(&key, tab, n, sizeof *tab, by_pid);
		if (!p)
			return 0;
		pid = p->ppid;
	}
	return 0;
}

/* 1 and *who when the user has a process outside root's tree, 0 when not,
 * -1 when /proc cannot tell. */
static int user_busy(pam_handle_t *pamh, uid_t uid, pid_t root, pid_t *who)
{
	struct proc *tab = NULL, *nt;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *dir;
	int busy = 0;

	dir = opendir("/proc");
	if (!dir) {
		pam_syslog(pamh, LOG_ERR, "cannot read /proc: %m");
		return -1;
	}
	while ((de = readdir(dir))) {
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtoul(de->d_name, &end, 10);
		if (*end || pid == 0 || pid > INT_MAX)
			continue;
		if (n == cap) {
			if (cap >= MAX_PROCS)
				break;
			cap = cap ? cap * 2 : 1024;
			nt = realloc(tab, cap * sizeof *tab);
			if (!nt) {
				pam_syslog(pamh, LOG_CRIT, "out of memory");
				closedir(dir);
				free(tab);
				return -1;
			}
			tab = nt;
		}
		memset(&tab[n], 0, sizeof tab[n]);
		/* Gone since readdir: not running. */
		if (read_status((pid_t)pid, &tab[n]) == 0)
			n++;
	}
	closedir(dir);
	if (n == 0 || n >= MAX_PROCS) {
		pam_syslog(pamh, LOG_ERR, "cannot list processes in /proc");
		free(tab);
		return -1;
	}
	qsort(tab, n, sizeof *tab, by_pid);
	for (i = 0; i < n && !busy; i++) {
		if (tab[i].uid != uid || tab[i].zombie || in_tree(tab, n, tab[i].pid, root) ||
		    in_user_manager(tab[i].pid, uid))
			continue;
		*who = tab[i].pid;
		busy = 1;
	}
	free(tab);
	return busy;
}

/* --- the cleanup --- */

static json_t *list_containers(struct dapi *d, const struct target *t, struct ud_err *err)
{
	char label[sizeof LABEL_SESSION + SESSION_ID_LEN + sizeof LABEL_UID + 32];
	json_t *labels, *filters, *list = NULL;
	char *fjson = NULL, *esc = NULL, *path = NULL;
	long status = 0;

	labels = json_array();
	filters = json_object();
	if (!labels || !filters || json_object_set(filters, "label", labels))
		goto oom;
	snprintf(label, sizeof label, "%s=%s", LABEL_UID, t->uid);
	if (json_array_append_new(labels, json_string(label)))
		goto oom;
	if (t->session[0]) {
		snprintf(label, sizeof label, "%s=%s", LABEL_SESSION, t->session);
		if (json_array_append_new(labels, json_string(label)))
			goto oom;
	}
	fjson = json_dumps(filters, JSON_COMPACT);
	esc = fjson ? curl_easy_escape(d->curl, fjson, 0) : NULL;
	if (!esc || asprintf(&path, "/containers/json?all=1&filters=%s", esc) < 0) {
		path = NULL;
		goto oom;
	}
	if (dapi_get(d, path, &status, &list, err))
		goto out;
	if (status != 200 || !json_is_array(list)) {
		ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon to the container list (HTTP %ld)%s%s",
			status, *dapi_message(list) ? ": " : "", dapi_message(list));
		json_decref(list);
		list = NULL;
	}
	goto out;
oom:
	ud_fail(err, UD_EX_OSERR, "out of memory");
out:
	free(path);
	curl_free(esc);
	free(fjson);
	json_decref(labels);
	json_decref(filters);
	return list;
}

/* The container's id when its labels are the target's; NULL otherwise. */
static const char *owned_id(const json_t *c, const struct target *t)
{
	const char *id = json_string_value(json_object_get(c, "Id"));
	json_t *labels = json_object_get(c, "Labels");
	const char *uid = json_string_value(json_object_get(labels, LABEL_UID));
	const char *sid = json_string_value(json_object_get(labels, LABEL_SESSION));

	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
		return NULL;
	if (!uid || strcmp(uid, t->uid) != 0)
		return NULL;
	if (t->session[0] && (!sid || strcmp(sid, t->session) != 0))
		return NULL;
	return id;
}

static const char *name_of(const json_t *c)
{
	const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
	size_t n;

	if (!name)
		return "?";
	if (name[0] == '/')
		name++;
	n = strlen(name);
	if (n == 0 || n > 128 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return "?";
	return name;
}

/* Stop, then remove; 0 when the container is gone or going. */
static int remove_container(pam_handle_t *pamh, const struct opts *o, struct dapi *d,
			    const char *id, const char *name)
{
	char path[128];
	struct ud_err err = { 0 };
	json_t *ans = NULL;
	long status = 0;

	snprintf(path, sizeof path, "/containers/%s/stop?t=%d", id, STOP_SECONDS);
	if (dapi_post(d, path, &status, &ans, &err)) {
		pam_syslog(pamh, LOG_ERR, "%s", err.msg);
		return -1;
	}
	/* 304: was not running; 404: removed meanwhile (--rm). */
	if (status != 204 && status != 304 && status != 404)
		pam_syslog(pamh, LOG_WARNING, "stopping container %.12s (%s): HTTP %ld %s", id, name,
			   status, dapi_message(ans));
	else
		DBG(o, pamh, "stop %.12s: HTTP %ld", id, status);
	json_decref(ans);
	ans = NULL;

	snprintf(path, sizeof path, "/containers/%s?force=1&v=1", id);
	if (dapi_delete(d, path, &status, &ans, &err)) {
		pam_syslog(pamh, LOG_ERR, "%s", err.msg);
		return -1;
	}
	/* 404: already gone; 409: its --rm removal is under way. */
	if (status != 204 && status != 404 && status != 409) {
		pam_syslog(pamh, LOG_ERR, "removing container %.12s (%s): HTTP %ld %s", id, name, status,
			   dapi_message(ans));
		json_decref(ans);
		return -1;
	}
	DBG(o, pamh, "remove %.12s: HTTP %ld", id, status);
	json_decref(ans);
	return 0;
}

/* root: the process tree of the session's closing process. */
static void clean(pam_handle_t *pamh, const struct opts *o, const struct target *t, pid_t root)
{
	struct ud_err err = { 0 };
	struct dapi d = { 0 };
	json_t *list, *c;
	unsigned removed = 0, failed = 0;
	size_t i;

	if (o->last_session) {
		pid_t who = 0;
		int busy = user_busy(pamh, t->uid_n, root, &who);

		if (busy) {
			if (busy > 0)
				DBG(o, pamh, "%s still has processes (pid %d): containers kept", t->user, (int)who);
			else
				pam_syslog(pamh, LOG_WARNING, "cannot tell whether %s has other sessions: containers kept",
					   t->user);
			return;
		}
	}
	if (dapi_open(&d, o->sock, &err)) {
		pam_syslog(pamh, LOG_ERR, "cannot clean up the containers of %s: %s", t->user, err.msg);
		return;
	}
	list = list_containers(&d, t, &err);
	if (!list) {
		pam_syslog(pamh, LOG_ERR, "cannot clean up the containers of %s: %s", t->user, err.msg);
		dapi_close(&d);
		return;
	}
	json_array_foreach(list, i, c) {
		const char *id = owned_id(c, t), *name = name_of(c);

		if (!id) {
			pam_syslog(pamh, LOG_WARNING,
				   "docker listed a container that is not %s's%s%s: left alone (%.12s)",
				   t->user, t->session[0] ? " in session " : "", t->session,
				   json_is_string(json_object_get(c, "Id")) ?
				   json_string_value(json_object_get(c, "Id")) : "no id");
			continue;
		}
		/* Labels inherited from the image prove nothing (anyone can
		 * build an image that carries them). */
		if (dapi_image_marks(&d, json_string_value(json_object_get(c, "ImageID")), &err) != 0) {
			pam_syslog(pamh, LOG_WARNING,
				   "container %.12s (%s) has its owner label from its image (or the image is unknown): left alone",
				   id, name);
			continue;
		}
		if (remove_container(pamh, o, &d, id, name)) {
			failed++;
			continue;
		}
		removed++;
		pam_syslog(pamh, LOG_NOTICE, "removed container %.12s (%s) of %s (uid %s)%s%s", id, name,
			   t->user, t->uid, t->session[0] ? " session " : "", t->session);
	}
	if (failed)
		pam_syslog(pamh, LOG_ERR, "%u container(s) of %s could not be removed", failed, t->user);
	DBG(o, pamh, "%s: %u container(s) removed, %u failed", t->user, removed, failed);
	json_decref(list);
	dapi_close(&d);
}

static void close_fds_from(int lowfd)
{
	struct rlimit rl;
	long fd, max = 65536;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max)
		max = (long)rl.rlim_cur;
	for (fd = lowfd; fd < max; fd++)
		close((int)fd);
}

/* Nothing of the caller's that could keep its connection, terminal or
 * signals tied to us. */
static void detach(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig, fd;

	closelog();
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	close_fds_from(3);
	if (chdir("/"))
		_exit(1);
	umask(022);
}

/* Double fork: the caller waits only for the first child, which exits at
 * once; the second is reparented and cleans up after the grace period. */
static void clean_later(pam_handle_t *pamh, const struct opts *o, const struct target *t)
{
	pid_t root = getpid(), pid, w;

	pid = fork();
	if (pid < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot fork the cleanup of %s's containers: %m", t->user);
		return;
	}
	if (pid == 0) {
		struct timespec ts = { o->grace, 0 };

		if (setsid() < 0)
			_exit(1);
		pid = fork();
		if (pid != 0)
			_exit(pid < 0);
		detach();
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		clean(pamh, o, t, root);
		_exit(0);
	}
	do
		w = waitpid(pid, NULL, 0);
	while (w < 0 && errno == EINTR);
	DBG(o, pamh, "cleanup of %s's containers in %ld s", t->user, o->grace);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct passwd *pw;
	const void *item = NULL;
	const char *user, *sid;
	struct target t;
	struct opts o;

	(void)flags;
	if (parse_opts(pamh, argc, argv, &o))
		return PAM_SERVICE_ERR;
	if (pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS || !item || !*(const char *)item) {
		pam_syslog(pamh, LOG_ERR, "no user for the session: no container removed");
		return PAM_SUCCESS;
	}
	user = item;
	pw = pam_modutil_getpwnam(pamh, user);
	if (!pw) {
		pam_syslog(pamh, LOG_ERR, "unknown user %s: no container removed", user);
		return PAM_SUCCESS;
	}
	memset(&t, 0, sizeof t);
	snprintf(t.user, sizeof t.user, "%s", user);
	snprintf(t.uid, sizeof t.uid, "%lu", (unsigned long)pw->pw_uid);
	t.uid_n = pw->pw_uid;
	if (o.session_only) {
		sid = session_id(pamh);
		if (!sid) {
			pam_syslog(pamh, LOG_WARNING,
				   "session_only: no session id for this session of %s (record missing on open?): no container removed",
				   t.user);
			return PAM_SUCCESS;
		}
		memcpy(t.session, sid, SESSION_ID_LEN + 1);
	}
	if (o.grace >= 0)
		clean_later(pamh, &o, &t);
	else
		clean(pamh, &o, &t, getpid());
	return PAM_SUCCESS;
}
