/* vmgatectl's command line: options, environment defaults and the gateway URL (pure parsing). */
#ifndef CTL_ARGS_H
#define CTL_ARGS_H

#include "vg.h"

/* Exit codes (docs/vmgatectl.md). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_API 1       /* the gateway refused or could not be reached */
#define CTL_EXIT_USAGE 2     /* bad command line */
#define CTL_EXIT_TIMEOUT 124 /* exec: the prompt did not come back in time */

#define CTL_DEFAULT_URL "https://127.0.0.1:8443"
#define CTL_DEFAULT_PROMPT "[#$] $"
#define CTL_DEFAULT_TIMEOUT 30.0

typedef enum ctl_cmd { CTL_CMD_NONE = 0, CTL_CMD_LIST, CTL_CMD_CONSOLE, CTL_CMD_EXEC } ctl_cmd;

typedef struct ctl_url {
    int tls;
    char host[256];
    int port;
    char prefix[256]; /* path the gateway is mounted under, no trailing '/', usually "" */
} ctl_url;

/* Strings point into argv or the environment, except `command`, which is owned. */
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
    const char *vm;
    const char *dev; /* NULL: the gateway's default console */
    int ro;
    double timeout; /* seconds */
    const char *prompt;
    char *command; /* exec: the CMD words joined by spaces */
} ctl_opts;

/* getenv-like lookup, so tests can pass their own environment. */
typedef const char *(*ctl_getenv_fn)(const char *name);

int ctl_args_parse(ctl_opts *o, int argc, char **argv, ctl_getenv_fn env, vg_err *err);
void ctl_args_free(ctl_opts *o);
/* Accepts http, https, ws and wss URLs: host, optional port, optional path prefix. */
int ctl_url_parse(const char *s, ctl_url *u, vg_err *err);

extern const char ctl_usage_text[];

#endif
