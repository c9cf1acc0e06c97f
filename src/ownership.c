/*
 * ownership.c - containers belong to the users who started them.
 *
 * MUST: for every subcommand that names containers, each name, id or id
 * prefix is resolved through the Engine API to the full id of a container
 * the caller owns (userdocker.owner.uid label, or the reference tool's
 * USERDOCKER_UID env mark), and docker is given that full id, so it cannot
 * resolve to something else later.  A container of someone else and one
 * that does not exist get the same answer.  root owns everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerapi.h"
#include "userdocker.h"

/* Which positionals name containers: the first only, or all of them. */
static const struct {
	const char *cmd;
	int all;
} container_cmds[] = {
	{ "attach", 0 }, { "logs", 0 },    { "port", 0 }, { "top", 0 },   { "exec", 0 },
	{ "stop", 1 },   { "kill", 1 },    { "rm", 1 },   { "restart", 1 }, { "start", 1 },
	{ "wait", 1 },   { "stats", 1 },   { "inspect", 1 },
};

int ownership_needed(const char *subcmd)
{
	size_t i;

	for (i = 0; i < sizeof container_cmds / sizeof container_cmds[0]; i++)
		if (!strcmp(subcmd, container_cmds[i].cmd))
			return container_cmds[i].all ? 2 : 1;
	return 0;
}

static int force_opt(struct ud_request *r, const char *name, const char *value,
		     struct ud_err *err)
{
	const struct ud_flag *f = flag_lookup(r->subcmd, name);

	if (!f)
		return ud_fail(err, UD_EX_SOFTWARE, "%s has no option %s", r->subcmd, name);
	return request_add_opt(r, f, value, err);
}

static int has_true(const struct ud_request *r, const char *name)
{
	size_t i;
	int on = 0;

	for (i = 0; i < r->nopts; i++)
		if (!strcmp(r->opts[i].flag->name, name))
			on = !strcmp(r->opts[i].value, "true");
	return on;
}

/* RUN_PULL = never arrives as --pull=never: say clearly when the image
 * is missing, before docker does it in its own words. */
int image_check(struct dapi *d, const char *sock, const struct ud_request *r,
		struct ud_err *err)
{
	int never = 0, present;
	size_t i;

	if (strcmp(r->subcmd, "run") != 0 || r->nargs == 0)
		return 0;
	for (i = 0; i < r->nopts; i++)
		if (!strcmp(r->opts[i].flag->name, "--pull"))
			never = !strcmp(r->opts[i].value, "never");
	if (!never)
		return 0;
	if (dapi_open(d, sock, err))
		return -1;
	present = dapi_image_present(d, r->args[0], err);
	if (present < 0)
		return -1;
	if (!present)
		return ud_fail(err, UD_EX_DENIED,
			       "image not present locally: %s (only local images may be run here)", r->args[0]);
	return 0;
}

int ownership_resolve(struct dapi *d, const char *sock, const struct ud_caller *c,
		      struct ud_request *r, struct ud_err *err)
{
	int mode = ownership_needed(r->subcmd);
	size_t i, n;
	char uidgid[64];

	if (!mode)
		return 0;
	if (r->nargs == 0)
		return ud_fail(err, UD_EX_USAGE, "%s needs the name or id of one of your containers",
			       r->subcmd);
	if (!strcmp(r->subcmd, "top") && r->nargs > 1)
		return ud_fail(err, UD_EX_DENIED,
			       "top options not allowed: %s (docker runs ps with them on the host)", r->args[1]);
	if (!strcmp(r->subcmd, "exec") && has_true(r, "--privileged"))
		return ud_fail(err, UD_EX_DENIED, "exec option not allowed: --privileged");
	if (dapi_open(d, sock, err))
		return -1;
	n = mode == 2 ? r->nargs : 1;
	for (i = 0; i < n; i++) {
		struct dapi_container ct;
		char *id;
		int found = dapi_container(d, r->args[i], &ct, err);

		if (found < 0)
			return -1;
		if (found == 1 || (c->uid != 0 && (!ct.has_owner || ct.owner != c->uid)))
			return ud_fail(err, UD_EX_DENIED, "no such container of yours: %s", r->args[i]);
		if ((!strcmp(r->subcmd, "start") || !strcmp(r->subcmd, "restart")) &&
		    (ct.staged_binds || ct.reserved_gpus))
			return ud_fail(err, UD_EX_DENIED,
				       "cannot %s %s: its %s checked for one run only (start a new container)",
				       r->subcmd, r->args[i],
				       ct.staged_binds ? "bind mounts were" : "GPU reservation was");
		id = strdup(ct.id);
		if (!id)
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		free(r->args[i]);
		r->args[i] = id;
	}
	if (!strcmp(r->subcmd, "exec")) {
		/* Last wins: whatever else was asked, exec runs as the caller. */
		snprintf(uidgid, sizeof uidgid, "%u:%u", (unsigned)c->uid, (unsigned)c->gid);
		if (force_opt(r, "--user", uidgid, err))
			return -1;
	}
	if (!strcmp(r->subcmd, "inspect") && flag_lookup("inspect", "--type"))
		return force_opt(r, "--type", "container", err);
	return 0;
}
