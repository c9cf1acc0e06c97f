/*
 * userdocker.h - what the stages of one request hand each other.
 * main.c calls the stages in order; each takes what earlier ones built.
 */
#ifndef UD_USERDOCKER_H
#define UD_USERDOCKER_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "request.h"

#define UD_MAX_GROUPS 1024
#define UD_MAX_CONFIG_FILES 512
#define UD_MAX_FILE_BYTES (1u << 20)

/* Stage 1: what we keep of the caller's process environment, as data. */
struct ud_env {
	char **vars;    /* copy of the caller's environ ("K=V"), for -e KEY */
	size_t nvars;
	char *term;     /* TERM, kept only when it looks like a terminal name */
	char *nv_gpu;   /* NV_GPU, validated by the policy */
};

/* Stage 2: the caller, from the kernel (ids) and NSS (names). */
struct ud_caller {
	uid_t uid;
	gid_t gid;
	gid_t groups[UD_MAX_GROUPS];  /* supplementary groups */
	size_t ngroups;
	char *user_name;
	char *group_name;
	char *home;
	char **group_names;           /* names of groups[], same order */
	char tty[64];                 /* for the audit line */
	char cwd[4096];
};

/* userdocker's own command line (before the docker subcommand). */
struct ud_cli {
	int help, version, quiet, debug, dry_run, explain;
	const char *executor;
	int docker_argc;
	char **docker_argv;   /* from the subcommand word on */
};

/* Stage 4: a trusted file read by root. */
struct ud_file {
	char *path;
	char *text;
	size_t len;
};

struct ud_files {
	char base[4096];                           /* the config directory */
	struct ud_file engine;                     /* $pkgdatadir/engine.lua */
	struct ud_file configs[UD_MAX_CONFIG_FILES];
	size_t nconfigs;      /* configs[0..nconfigs): settings files */
	size_t npolicies;     /* then configs[nconfigs..+npolicies): policy.d */
	int config_dir_missing;
};

/* Stage 6 result: what the policy decided. */
enum ud_action { ACT_EXEC, ACT_PRINT, ACT_DENY };

struct ud_verdict {
	enum ud_action action;
	char *message;          /* deny reason, or text to print */
	char *executor;         /* executor name */
	char *executor_path;
	char *docker_socket;
	struct ud_request req;  /* the approved request, re-parsed */
	int fds[64];            /* bind sources opened by the caller (mounts.h) */
	size_t nfds;
	char *gpus;             /* reserved GPU indices "1,3", or "" */
	char *gpu_mode;         /* "legacy" | "gpus" | "runtime" | "" */
	int gpu_lock_fd;        /* held from the GPU facts until the container exists */
	char token[33];         /* labels the container so we can see it exists */
	int load_fd;            /* load: the archive (the caller's file or stdin) */
	char *exec_as;          /* EXEC_AS: the account the docker CLI runs as */
	uid_t exec_uid;         /* ... resolved by execute() */
	gid_t exec_gid;
	int pam_session;        /* PAM_SESSION: a session around the docker command */
};

/* harden.c */
int harden(int argc, char **argv, struct ud_env *env, struct ud_err *err);
const char *env_lookup(const struct ud_env *env, const char *name);

/* cli.c */
int cli_parse(int argc, char **argv, struct ud_cli *cli, struct ud_err *err);

/* caller.c */
int caller_identify(struct ud_caller *c, struct ud_err *err);
int caller_become_root(struct ud_err *err);
/* sandbox.c: become the caller (ids, groups), checked; -1 on any failure. */
int caller_drop(const struct ud_caller *c);

/* pam.c */
int pam_account(const struct ud_caller *c, struct ud_err *err);
/* PAM_SESSION: open (NULL and err on failure) and close a session. */
void *pam_session_open(const struct ud_caller *c, struct ud_err *err);
void pam_session_close(void *session);

/* config.c */
int config_load(const struct ud_caller *c, struct ud_files *f, struct ud_err *err);
int config_load_from(const char *base, const struct ud_caller *c, struct ud_files *f,
		     struct ud_err *err);
int trusted_dir(const char *path, struct ud_err *err);
int trusted_program(const char *path, const char *what, struct ud_err *err);
int trusted_read(const char *path, struct ud_file *out, int missing_ok,
		 struct ud_err *err);

/* sandbox.c (root side) and policy.c (runs in the dropped child) */
struct ud_job {
	const struct ud_cli *cli;
	const struct ud_caller *caller;
	const struct ud_files *files;
	const struct ud_env *env;
	struct ud_request *req;   /* the child edits its own copy (userfiles.c) */
};
int sandbox_evaluate(const struct ud_job *job, struct ud_verdict *v,
		     struct ud_err *err);
/* In the child: evaluate and return the verdict as a string vector. */
int policy_run(const struct ud_job *job, int channel, char ***out, size_t *n, int *fds,
	       size_t *nfds, struct ud_err *err);

/* userfiles.c (in the child, as the caller) */
int userfiles_expand(struct ud_request *r, const struct ud_env *env, int *input_fd,
		     struct ud_err *err);

/* verdict.c */
int verdict_check(const struct ud_job *job, struct ud_verdict *v,
		  struct ud_err *err);
int verdict_argv(const struct ud_verdict *v, char ***argv, struct ud_err *err);
void verdict_free(struct ud_verdict *v);

/* ownership.c (root, through the Engine API) */
struct dapi;
int ownership_needed(const char *subcmd);
int ownership_resolve(struct dapi *d, const char *sock, const struct ud_caller *c,
		      struct ud_request *r, struct ud_err *err);
int image_check(struct dapi *d, const char *sock, const struct ud_request *r,
		struct ud_err *err);

/* execute.c */
struct ud_stage;
int execute(const struct ud_env *env, const struct ud_caller *c, struct ud_verdict *v,
	    char **argv, struct ud_stage *st, struct ud_err *err);
char *shell_quote_argv(char *const *argv);
void signals_hold(void);    /* main, before mounts are staged */
void signals_release(void); /* in the process about to execute docker */

/* load.c: docker load through the archive checker; returns only on error */
int load_run(const struct ud_caller *c, const struct ud_verdict *v, char **argv, char **envp,
	     struct ud_err *err);
/* Ends userdocker once docker has exited: closes the PAM session, if any. */
void execute_exit(int status) __attribute__((noreturn));
/* In the process about to execute docker: become EXEC_AS (no-op for root). */
int exec_account_enter(const struct ud_verdict *v);

/* dockviz.c (root, through the Engine API) */
int dockviz(const char *sock, struct ud_err *err);

/* text.c */
int utf8_valid(const char *s, size_t n);
char *utf8_sanitize(const char *s); /* invalid bytes become \xNN; malloc'd */
char *text_printable(const char *s); /* ... and control characters too */

/* audit.c: one record per decision, to syslog and the JSON-lines file */
struct ud_audit {
	const struct ud_caller *caller;
	char **argv;          /* what the user typed */
	int argc;
	const char *decision; /* "allowed", "dry-run", "denied", "error" */
	const char *reason;   /* the rule or error, for denied/error */
	int status;           /* our exit status, or -1 when docker runs */
	char **command;       /* what runs, or NULL */
};
void audit_log(const struct ud_audit *a);

#endif
