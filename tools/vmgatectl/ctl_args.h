/* vmgatectl's command line: options, environment defaults and the gateway URL (pure parsing). */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include "vg.h"

/* Exit codes (docs/vmgatectl.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_API 1         /* any other error the gateway answered */
#define CTL_EXIT_USAGE 2       /* bad command line */
#define CTL_EXIT_DENIED 3      /* unauthorized, forbidden */
#define CTL_EXIT_NOT_FOUND 4   /* not_found */
#define CTL_EXIT_CONFLICT 5    /* conflict, quota_exceeded */
#define CTL_EXIT_UNAVAILABLE 6 /* unavailable: the gateway, Redis or the host cannot be reached */
#define CTL_EXIT_TIMEOUT 124   /* exec: the prompt did not come back in time */

#define CTL_DEFAULT_URL "https://127.0.0.1:8443"
#define CTL_DEFAULT_PROMPT "[#$] $"
#define CTL_DEFAULT_TIMEOUT 30.0

typedef enum ctl_cmd {
    CTL_CMD_NONE = 0,
    CTL_CMD_LIST,
    CTL_CMD_CONSOLE,
    CTL_CMD_EXEC,
    CTL_CMD_CALL,  /* any API method: `method` with the key=value `words` */
    CTL_CMD_HELP,  /* help METHOD */
    CTL_CMD_VOLUME /* volume upload|download POOL VOLUME [FILE]: the words */
} ctl_cmd;

typedef struct ctl_url {
    int tls;
    char host[256];
    int port;
    char prefix[256]; /* path the gateway is mounted under, no trailing '/', usually "" */
} ctl_url;

/* Strings point into argv or the environment; `command` and the `words` array are owned. */
typedef struct ctl_opts {
    ctl_cmd cmd;
    int help;
    const char *url;
    const char *user;
    const char *password;
    const char *token;
    const char *ca;
    int insecure;
    int json;
    int wide; /* tables: no cell truncation */
    const char *vm;
    const char *dev; /* NULL: the gateway's default console */
    int ro;
    double timeout; /* seconds */
    const char *prompt;
    const char *vms;    /* exec: comma-separated VM names */
    const char *env;    /* exec: an environment */
    const char *role;   /* exec --env: only VMs of this role */
    char *command;      /* exec: the CMD words joined by spaces */
    const char *method; /* call: the API method ("api.methods" for `methods`); help: its topic */
    char **words;       /* call: the key=value arguments (ctl_params.h) */
    int nwords;
    int notice;        /* `notice VERB`: method notice.VERB */
    int sendkey;       /* `sendkey VM KEY...`: vm.sendkey {vm, keys} */
    const char **keys; /* sendkey: the key names (into argv; the array is owned) */
    int nkeys;
} ctl_opts;

/* getenv-like lookup, so tests can pass their own environment. */
typedef const char *(*ctl_getenv_fn)(const char *name);

/* 1 for names shaped like API methods: dot-separated words of [a-z0-9_], e.g. vm.start. */
int ctl_method_name(const char *s);
int ctl_args_parse(ctl_opts *o, int argc, char **argv, ctl_getenv_fn env, vg_err *err);
void ctl_args_free(ctl_opts *o);
/* Accepts http, https, ws and wss URLs: host, optional port, optional path prefix. */
int ctl_url_parse(const char *s, ctl_url *u, vg_err *err);

extern const char ctl_usage_text[];

#endif
