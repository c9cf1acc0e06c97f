/*
 * audit.c - one syslog line (authpriv, like sudo) per decision.
 */
#include <stdio.h>
#include <syslog.h>

#include "userdocker.h"

void audit_log(const struct ud_caller *c, const struct ud_cli *cli, const char *decision,
	       const char *detail)
{
	(void)cli;
	openlog("userdocker", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	syslog(LOG_NOTICE, "%s : TTY=%s ; PWD=%s ; UID=%u ; %s ; %s",
	       c->user_name ? c->user_name : "?", c->tty, c->cwd, (unsigned)c->uid, decision,
	       detail ? detail : "");
	closelog();
}
