/*
 * audit.c - one record per decision, allowed or not, like sudo's:
 *  - a syslog line (facility authpriv) sent as one datagram to
 *    UD_SYSLOG_SOCKET (/dev/log unless a test build names another);
 *  - when the directory UD_AUDIT_DIR exists (root-owned, not group/other
 *    writable), one JSON object per line appended to audit.jsonl with a
 *    single write under an exclusive lock, so concurrent records never
 *    interleave.
 * Logging never changes the outcome: a missing syslog daemon or audit
 * directory only means fewer copies of the record.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "userdocker.h"

#ifndef UD_SYSLOG_SOCKET
#define UD_SYSLOG_SOCKET "/dev/log"
#endif
#ifndef UD_AUDIT_DIR
#define UD_AUDIT_DIR "/var/log/userdocker"
#endif
#define SYSLOG_MAX 8192

static json_t *str_or_null(const char *s)
{
	char *clean;
	json_t *j;

	if (!s)
		return json_null();
	clean = utf8_sanitize(s);
	j = clean ? json_string(clean) : json_null();
	free(clean);
	return j ? j : json_null();
}

static json_t *str_array(char **v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a && v && (n < 0 ? v[i] != NULL : i < n); i++)
		json_array_append_new(a, str_or_null(v[i]));
	return a;
}

/* The argv as one printable line: shell-quoted, invalid bytes as \xNN. */
static char *line_of(char **v, int n)
{
	char **copy;
	char *q, *clean;
	int i, count = 0;

	if (!v)
		return NULL;
	while (n < 0 ? v[count] != NULL : count < n)
		count++;
	copy = calloc((size_t)count + 1, sizeof *copy);
	if (!copy)
		return NULL;
	for (i = 0; i < count; i++)
		copy[i] = v[i];
	q = shell_quote_argv(copy);
	free(copy);
	if (!q)
		return NULL;
	clean = utf8_sanitize(q);
	free(q);
	return clean;
}

static void to_syslog(const struct ud_audit *a, const char *request, const char *command)
{
	const struct ud_caller *c = a->caller;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char msg[SYSLOG_MAX], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, len;

	char *tty = text_printable(c->tty[0] ? c->tty : "unknown");
	char *cwd = text_printable(c->cwd[0] ? c->cwd : "?");
	char *reason = text_printable(a->reason ? a->reason : "-");
	char *req = text_printable(request ? request : "-");
	char *cmd = text_printable(command ? command : "-");

	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
	/* Every field on the one line: control characters escaped, so that
	 * no value can start a line or a field of its own. */
	len = snprintf(msg, sizeof msg,
		       "<%d>%s userdocker[%d]: %s : TTY=%s ; PWD=%s ; UID=%u ; DECISION=%s ; REASON=%s ; REQUEST=%s ; COMMAND=%s",
		       LOG_AUTHPRIV | (strcmp(a->decision, "allowed") && strcmp(a->decision, "dry-run")
					       ? LOG_WARNING : LOG_NOTICE),
		       stamp, (int)getpid(), c->user_name ? c->user_name : "?", tty ? tty : "?",
		       cwd ? cwd : "?", (unsigned)c->uid, a->decision, reason ? reason : "?",
		       req ? req : "?", cmd ? cmd : "?");
	free(tty);
	free(cwd);
	free(reason);
	free(req);
	free(cmd);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof msg) {
		/* Say so rather than cut silently; the JSON record has it all. */
		static const char mark[] = " ...(truncated, see audit.jsonl)";

		memcpy(msg + sizeof msg - sizeof mark, mark, sizeof mark);
		len = (int)sizeof msg - 1;
	}
	if (strlen(UD_SYSLOG_SOCKET) >= sizeof addr.sun_path)
		return;
	memcpy(addr.sun_path, UD_SYSLOG_SOCKET, strlen(UD_SYSLOG_SOCKET) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, (size_t)len, MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof addr);
	close(fd);
}

static void to_json_file(const struct ud_audit *a)
{
	const struct ud_caller *c = a->caller;
	struct ud_err err;
	struct stat st;
	json_t *rec;
	char *line, stamp[40];
	struct timespec ts;
	struct tm tm;
	size_t len;
	int fd;

	if (stat(UD_AUDIT_DIR, &st) || trusted_dir(UD_AUDIT_DIR, &err))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof stamp - strlen(stamp), ".%06ldZ", ts.tv_nsec / 1000);
	rec = json_pack("{s:s, s:i, s:o, s:i, s:o, s:o, s:o, s:s, s:o, s:o, s:o}",
			"time", stamp, "pid", (int)getpid(), "user", str_or_null(c->user_name),
			"uid", (int)c->uid, "tty", str_or_null(c->tty), "cwd", str_or_null(c->cwd),
			"argv", str_array(a->argv, a->argc), "decision", a->decision,
			"reason", str_or_null(a->reason),
			"status", a->status >= 0 ? json_integer(a->status) : json_null(),
			"command", a->command ? str_array(a->command, -1) : json_null());
	if (!rec)
		return;
	line = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(rec);
	if (!line)
		return;
	len = strlen(line);
	line[len] = '\n';
	fd = open(UD_AUDIT_DIR "/audit.jsonl",
		  O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd >= 0) {
		if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_uid == 0) {
			/* A partial record would corrupt the file: take it back. */
			if (write(fd, line, len + 1) != (ssize_t)(len + 1) && ftruncate(fd, st.st_size))
				syslog(LOG_AUTHPRIV | LOG_ERR, "cannot repair %s/audit.jsonl", UD_AUDIT_DIR);
		}
		close(fd);
	}
	free(line);
}

void audit_log(const struct ud_audit *a)
{
	char *request = line_of(a->argv, a->argc);
	char *command = line_of(a->command, -1);

	to_syslog(a, request, command);
	to_json_file(a);
	free(request);
	free(command);
}
