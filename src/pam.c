/*
 * pam.c - stage 3: the PAM account check, before anything else is read.
 * Admins decide who may use userdocker with their usual modules
 * (pam_access, pam_listfile, pam_succeed_if, pam_time) in the service
 * UD_PAM_SERVICE.  Nothing is asked of the user: the conversation refuses
 * every prompt, so only account-type decisions are possible.
 */
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "userdocker.h"

static int no_prompts(int n, const struct pam_message **msg, struct pam_response **resp,
		      void *data)
{
	(void)n;
	(void)msg;
	(void)data;
	*resp = NULL;
	return PAM_CONV_ERR;
}

/* The service for the caller, with the tty and the requesting user set. */
static pam_handle_t *start(const struct ud_caller *c, struct ud_err *err)
{
	static struct pam_conv conv = { no_prompts, NULL };
	pam_handle_t *ph = NULL;
	int rc;

	rc = pam_start(UD_PAM_SERVICE, c->user_name, &conv, &ph);
	if (rc != PAM_SUCCESS) {
		ud_fail(err, UD_EX_SOFTWARE, "PAM: cannot start service %s: %s", UD_PAM_SERVICE,
			pam_strerror(ph, rc));
		return NULL;
	}
	if (strcmp(c->tty, "unknown") != 0)
		pam_set_item(ph, PAM_TTY, c->tty);
	pam_set_item(ph, PAM_RUSER, c->user_name);
	return ph;
}

int pam_account(const struct ud_caller *c, struct ud_err *err)
{
	pam_handle_t *ph = start(c, err);
	int rc;

	if (!ph)
		return -1;
	rc = pam_acct_mgmt(ph, PAM_SILENT);
	if (rc != PAM_SUCCESS) {
		ud_fail(err, UD_EX_DENIED, "access denied by PAM (service %s): %s", UD_PAM_SERVICE,
			pam_strerror(ph, rc));
		pam_end(ph, rc);
		return -1;
	}
	pam_end(ph, PAM_SUCCESS | PAM_DATA_SILENT);
	return 0;
}

/*
 * PAM_SESSION: root opens a session for the caller (the service's session
 * lines: pam_limits, pam_systemd, pam_exec accounting, ...) before docker
 * runs and closes it when docker has exited; userdocker waits for docker
 * in between.
 */
void *pam_session_open(const struct ud_caller *c, struct ud_err *err)
{
	pam_handle_t *ph = start(c, err);
	int rc;

	if (!ph)
		return NULL;
	rc = pam_open_session(ph, PAM_SILENT);
	if (rc != PAM_SUCCESS) {
		ud_fail(err, UD_EX_DENIED, "PAM session refused (service %s): %s", UD_PAM_SERVICE,
			pam_strerror(ph, rc));
		pam_end(ph, rc);
		return NULL;
	}
	return ph;
}

void pam_session_close(void *session)
{
	pam_handle_t *ph = session;

	if (!ph)
		return;
	pam_end(ph, pam_close_session(ph, PAM_SILENT));
}
