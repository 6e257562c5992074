#include "ctl_args.h"

#include "vg_util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The longest exec command: it must fit one INPUT frame with its "\r" (VG_FRAME_MAX_CLIENT). */
#define CTL_MAX_COMMAND 60000

const char ctl_usage_text[] =
    "usage: vmgatectl [options] METHOD [key=value ...]\n"
    "       vmgatectl [options] methods\n"
    "       vmgatectl [options] help METHOD\n"
    "       vmgatectl [options] list\n"
    "       vmgatectl [options] console VM [--dev DEV] [--ro]\n"
    "       vmgatectl [options] exec VM [--dev DEV] [--timeout S] [--prompt REGEX] -- CMD...\n"
    "       vmgatectl [options] notice send|list|get|ack|cancel [key=value ...]\n"
    "       vmgatectl [options] sendkey VM KEY... [hold_ms=N]\n"
    "       vmgatectl [options] volume upload|download POOL VOLUME [FILE]\n"
    "       vmgatectl [options] exec --vms VM,VM... | --env ENV [--role R] [...] -- CMD...\n"
    "\n"
    "METHOD is any API method (docs/api.md), e.g. vm.start vm=web1; `methods` lists them.\n"
    "  key=value     JSON when the value is valid JSON (5, true, null, \"s\", {...}, [...]),\n"
    "                else a string; key=\\value is always a string\n"
    "  key:=JSON     the value must be JSON\n"
    "  key=@FILE     JSON read from FILE (@- = standard input)\n"
    "  a.b=value     nested objects: {\"a\":{\"b\":value}}\n"
    "The result prints as a table or as key: value lines; --json prints it as one JSON line.\n"
    "\n"
    "options (environment variable in brackets):\n"
    "  --url URL         gateway URL [VMGATE_URL] (default " CTL_DEFAULT_URL ")\n"
    "  --user U          user name [VMGATE_USER]\n"
    "  --password P      password [VMGATE_PASSWORD]\n"
    "  --token T         session token instead of user and password [VMGATE_TOKEN]\n"
    "  --ca FILE         CA certificate that signed the gateway's certificate [VMGATE_CA]\n"
    "  --insecure        do not verify the gateway's certificate\n"
    "  --json            print results (and errors, on stderr) as JSON\n"
    "  --wide            do not cut long table cells\n"
    "  --dev DEV         console device (default: serial0, else the VM's first console)\n"
    "  --ro              console: attach read-only (default: take the write lock)\n"
    "  --timeout S       exec: seconds to wait for the prompt (default 30)\n"
    "  --prompt REGEX    exec: extended regex the last output line must match (default "
    "'" CTL_DEFAULT_PROMPT "')\n"
    "  --vms A,B,...     exec: run on these VMs (a table of results, one row per VM)\n"
    "  --env ENV         exec: run on the VMs of an environment (--role R: of that role only)\n"
    "  -h, --help        this text\n"
    "\n"
    "volume: streams FILE (default - : standard input / output) to or from the volume, the\n"
    "progress on standard error; an upload reads a regular file (its length goes first).\n"
    "console: Ctrl-] detaches. exec (the API method console.exec): prints the command's output\n"
    "up to the next prompt; on timeout the guest gets Ctrl-C. On several VMs it prints a table\n"
    "and exits 1 when any VM did not answer ok.\n"
    "\n"
    "exit status: 0 ok, 1 other API or connection error (the message names the error code),\n"
    "2 usage error, 3 unauthorized or forbidden, 4 not_found, 5 conflict or quota_exceeded,\n"
    "6 unavailable, 124 exec timed out.\n";

enum {
    O_URL,
    O_USER,
    O_PASSWORD,
    O_TOKEN,
    O_CA,
    O_INSECURE,
    O_JSON,
    O_WIDE,
    O_DEV,
    O_RO,
    O_TIMEOUT,
    O_PROMPT,
    O_VMS,
    O_ENV,
    O_ROLE,
    O_HELP
};

static const struct {
    const char *name;
    int id;
    int has_value;
} options[] = {
    {"url", O_URL, 1},         {"user", O_USER, 1},     {"password", O_PASSWORD, 1},
    {"token", O_TOKEN, 1},     {"ca", O_CA, 1},         {"insecure", O_INSECURE, 0},
    {"json", O_JSON, 0},       {"dev", O_DEV, 1},       {"ro", O_RO, 0},
    {"timeout", O_TIMEOUT, 1}, {"prompt", O_PROMPT, 1}, {"help", O_HELP, 0},
    {"wide", O_WIDE, 0},       {"vms", O_VMS, 1},       {"env", O_ENV, 1},
    {"role", O_ROLE, 1},
};

static int append_word(ctl_opts *o, const char *w, vg_err *err)
{
    size_t have = o->command ? strlen(o->command) : 0, add = strlen(w);
    if (have + add + 1 > CTL_MAX_COMMAND)
        return vg_fail(err, VG_E_TOO_BIG, "the command is longer than %d bytes", CTL_MAX_COMMAND);
    char *c = realloc(o->command, have + add + 2);
    if (!c)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    if (have)
        c[have++] = ' ';
    memcpy(c + have, w, add + 1);
    o->command = c;
    return VG_OK;
}

static int set_option(ctl_opts *o, int id, const char *v, vg_err *err)
{
    switch (id) {
    case O_URL:
        o->url = v;
        break;
    case O_USER:
        o->user = v;
        break;
    case O_PASSWORD:
        o->password = v;
        break;
    case O_TOKEN:
        o->token = v;
        break;
    case O_CA:
        o->ca = v;
        break;
    case O_INSECURE:
        o->insecure = 1;
        break;
    case O_JSON:
        o->json = 1;
        break;
    case O_WIDE:
        o->wide = 1;
        break;
    case O_DEV:
        o->dev = v;
        break;
    case O_RO:
        o->ro = 1;
        break;
    case O_TIMEOUT: {
        char *end;
        errno = 0;
        double t = strtod(v, &end);
        if (errno || end == v || *end || !isfinite(t) || t <= 0 || t > 604800)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "--timeout: \"%.40s\" is not a number of seconds in (0, 604800]", v);
        o->timeout = t;
        break;
    }
    case O_PROMPT:
        o->prompt = v;
        break;
    case O_VMS:
        o->vms = v;
        break;
    case O_ENV:
        o->env = v;
        break;
    case O_ROLE:
        o->role = v;
        break;
    case O_HELP:
        o->help = 1;
        break;
    }
    return VG_OK;
}

static int parse_option(ctl_opts *o, int argc, char **argv, int *i, vg_err *err)
{
    const char *a = argv[*i];
    if (strcmp(a, "-h") == 0)
        return set_option(o, O_HELP, NULL, err);
    if (strncmp(a, "--", 2) != 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "unknown option \"%.60s\"", a);
    a += 2;
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    for (size_t k = 0; k < sizeof(options) / sizeof(options[0]); k++) {
        if (strlen(options[k].name) != nlen || strncmp(options[k].name, a, nlen) != 0)
            continue;
        const char *v = NULL;
        if (options[k].has_value) {
            if (eq)
                v = eq + 1;
            else if (*i + 1 < argc)
                v = argv[++*i];
            else
                return vg_fail(err, VG_E_BAD_REQUEST, "--%s needs a value", options[k].name);
        } else if (eq) {
            return vg_fail(err, VG_E_BAD_REQUEST, "--%s takes no value", options[k].name);
        }
        return set_option(o, options[k].id, v, err);
    }
    return vg_fail(err, VG_E_BAD_REQUEST, "unknown option \"%.60s\"", argv[*i]);
}

int ctl_method_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

static int add_param_word(ctl_opts *o, char *w, vg_err *err)
{
    char **words = realloc(o->words, ((size_t)o->nwords + 1) * sizeof(*words));
    if (!words)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    words[o->nwords++] = w;
    o->words = words;
    return VG_OK;
}

static int notice_verb(ctl_opts *o, const char *verb, vg_err *err)
{
    static const char *const methods[] = {"notice.send", "notice.list",   "notice.get",
                                          "notice.ack",  "notice.cancel", NULL};
    for (const char *const *m = methods; *m; m++)
        if (!strcmp(*m + strlen("notice."), verb)) {
            o->method = *m;
            return VG_OK;
        }
    return vg_fail(err, VG_E_BAD_REQUEST,
                   "notice: unknown verb \"%.40s\" (send, list, get, ack, cancel)", verb);
}

static int add_key(ctl_opts *o, const char *key, vg_err *err)
{
    const char **keys = realloc(o->keys, ((size_t)o->nkeys + 1) * sizeof(*keys));
    if (!keys)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    keys[o->nkeys++] = key;
    o->keys = keys;
    return VG_OK;
}

static int first_word(ctl_opts *o, const char *a, vg_err *err)
{
    if (strcmp(a, "list") == 0) {
        o->cmd = CTL_CMD_LIST;
    } else if (strcmp(a, "console") == 0) {
        o->cmd = CTL_CMD_CONSOLE;
    } else if (strcmp(a, "exec") == 0) {
        o->cmd = CTL_CMD_EXEC;
    } else if (strcmp(a, "methods") == 0) {
        o->cmd = CTL_CMD_CALL;
        o->method = "api.methods";
    } else if (strcmp(a, "notice") == 0) {
        o->cmd = CTL_CMD_CALL; /* the method follows from the next word */
        o->notice = 1;
    } else if (strcmp(a, "sendkey") == 0) {
        o->cmd = CTL_CMD_CALL;
        o->method = "vm.sendkey";
        o->sendkey = 1;
    } else if (strcmp(a, "help") == 0) {
        o->cmd = CTL_CMD_HELP;
    } else if (strcmp(a, "volume") == 0) {
        o->cmd = CTL_CMD_VOLUME;
    } else if (ctl_method_name(a)) {
        o->cmd = CTL_CMD_CALL;
        o->method = a;
    } else {
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "unknown command \"%.60s\" (methods are named like vm.start)", a);
    }
    return VG_OK;
}

static int positional(ctl_opts *o, char *a, vg_err *err)
{
    if (o->cmd == CTL_CMD_NONE)
        return first_word(o, a, err);
    if (o->notice && !o->method)
        return notice_verb(o, a, err);
    if (o->sendkey && !o->vm) {
        o->vm = a;
        return VG_OK;
    }
    if (o->sendkey && !strchr(a, '='))
        return add_key(o, a, err);
    if (o->cmd == CTL_CMD_CALL || (o->cmd == CTL_CMD_VOLUME && o->nwords < 4))
        return add_param_word(o, a, err);
    if (o->cmd == CTL_CMD_HELP && !o->method) {
        if (!ctl_method_name(a))
            return vg_fail(err, VG_E_BAD_REQUEST, "help: \"%.60s\" is not a method name", a);
        o->method = a;
        return VG_OK;
    }
    if ((o->cmd == CTL_CMD_CONSOLE || (o->cmd == CTL_CMD_EXEC && !o->vms && !o->env)) && !o->vm) {
        o->vm = a;
        return VG_OK;
    }
    if (o->cmd == CTL_CMD_EXEC)
        return append_word(o, a, err);
    return vg_fail(err, VG_E_BAD_REQUEST, "unexpected argument \"%.60s\"", a);
}

static int check(ctl_opts *o, vg_err *err)
{
    if (o->cmd == CTL_CMD_NONE)
        return vg_fail(
            err, VG_E_BAD_REQUEST,
            "no command given (a method such as vm.list, or methods, help, list, volume, "
            "console, exec)");
    if (o->cmd == CTL_CMD_VOLUME &&
        (o->nwords < 3 || (strcmp(o->words[0], "upload") && strcmp(o->words[0], "download"))))
        return vg_fail(err, VG_E_BAD_REQUEST, "volume needs upload|download POOL VOLUME [FILE]");
    if (o->cmd == CTL_CMD_VOLUME && (!vg_valid_name(o->words[1]) || !vg_valid_name(o->words[2])))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "volume: \"%.60s/%.60s\" is not a pool and volume name", o->words[1],
                       o->words[2]);
    if (o->notice && !o->method)
        return vg_fail(err, VG_E_BAD_REQUEST, "notice needs a verb: send, list, get, ack, cancel");
    if (o->sendkey && (!o->vm || !o->nkeys))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "sendkey needs a VM and keys (ctrl-alt-del, sysrq-h, KEY_LEFTCTRL ...)");
    if ((o->vms || o->env || o->role) && o->cmd != CTL_CMD_EXEC)
        return vg_fail(err, VG_E_BAD_REQUEST, "--vms, --env and --role are for exec");
    if (o->cmd == CTL_CMD_EXEC && (!!o->vm + !!o->vms + !!o->env) != 1)
        return vg_fail(err, VG_E_BAD_REQUEST, "exec needs a VM name, --vms or --env");
    if (o->role && !o->env)
        return vg_fail(err, VG_E_BAD_REQUEST, "--role goes with --env");
    if (o->cmd == CTL_CMD_CONSOLE && !o->vm)
        return vg_fail(err, VG_E_BAD_REQUEST, "console needs a VM name");
    if (o->vm && !vg_valid_name(o->vm))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"%.60s\" is not a valid VM name", o->vm);
    if (o->dev && !vg_valid_name(o->dev))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"%.60s\" is not a valid device name", o->dev);
    if (o->dev && o->cmd != CTL_CMD_CONSOLE && o->cmd != CTL_CMD_EXEC)
        return vg_fail(err, VG_E_BAD_REQUEST, "--dev is for console and exec");
    if (o->ro && o->cmd != CTL_CMD_CONSOLE)
        return vg_fail(err, VG_E_BAD_REQUEST, "--ro is for console");
    if ((o->prompt || o->timeout > 0) && o->cmd != CTL_CMD_EXEC)
        return vg_fail(err, VG_E_BAD_REQUEST, "--timeout and --prompt are for exec");
    if (o->cmd == CTL_CMD_EXEC && (!o->command || !o->command[0]))
        return vg_fail(err, VG_E_BAD_REQUEST, "exec needs a command after --");
    if (o->command && strpbrk(o->command, "\r\n"))
        return vg_fail(err, VG_E_BAD_REQUEST, "the command must be a single line");
    if (o->insecure && o->ca)
        return vg_fail(err, VG_E_BAD_REQUEST, "--ca and --insecure exclude each other");
    /* login with explicit params needs no session; bare login logs in with the options. */
    int login = o->cmd == CTL_CMD_CALL && strcmp(o->method, "login") == 0;
    if (login && !o->nwords && (!o->user || !o->password))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "login needs --user and --password (or VMGATE_USER, VMGATE_PASSWORD)");
    if (!login && !o->token && (!o->user || !o->password))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "no credentials: give --token, or --user and --password (or VMGATE_TOKEN, "
                       "VMGATE_USER, VMGATE_PASSWORD)");
    ctl_url u;
    if (ctl_url_parse(o->url, &u, err) != VG_OK)
        return VG_ERR;
    return VG_OK;
}

int ctl_args_parse(ctl_opts *o, int argc, char **argv, ctl_getenv_fn env, vg_err *err)
{
    memset(o, 0, sizeof(*o));
    int dashdash = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        int rc;
        if (dashdash) {
            if (o->cmd != CTL_CMD_EXEC || (!o->vm && !o->vms && !o->env))
                return vg_fail(err, VG_E_BAD_REQUEST, "only exec VM takes words after --");
            rc = append_word(o, a, err);
        } else if (strcmp(a, "--") == 0) {
            dashdash = 1;
            rc = VG_OK;
        } else if (a[0] == '-' && a[1]) {
            rc = parse_option(o, argc, argv, &i, err);
        } else {
            rc = positional(o, a, err);
        }
        if (rc != VG_OK)
            return VG_ERR;
    }
    if (o->cmd == CTL_CMD_HELP && !o->method)
        o->help = 1;
    if (o->help)
        return VG_OK;
    /* Flags win over the environment, which wins over the defaults. */
    if (!o->url)
        o->url = env("VMGATE_URL");
    if (!o->url || !o->url[0])
        o->url = CTL_DEFAULT_URL;
    if (!o->user)
        o->user = env("VMGATE_USER");
    if (!o->password)
        o->password = env("VMGATE_PASSWORD");
    if (!o->token)
        o->token = env("VMGATE_TOKEN");
    if (o->token && !o->token[0])
        o->token = NULL;
    if (!o->ca && !o->insecure)
        o->ca = env("VMGATE_CA");
    if (o->ca && !o->ca[0])
        o->ca = NULL;
    if (check(o, err) != VG_OK)
        return VG_ERR;
    if (o->cmd == CTL_CMD_EXEC) {
        if (o->timeout <= 0)
            o->timeout = CTL_DEFAULT_TIMEOUT;
        if (!o->prompt)
            o->prompt = CTL_DEFAULT_PROMPT;
    }
    return VG_OK;
}

void ctl_args_free(ctl_opts *o)
{
    free(o->command);
    o->command = NULL;
    free(o->words);
    o->words = NULL;
    free(o->keys);
    o->keys = NULL;
    o->nkeys = 0;
    o->nwords = 0;
}

static int host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

int ctl_url_parse(const char *s, ctl_url *u, vg_err *err)
{
    memset(u, 0, sizeof(*u));
    static const struct {
        const char *scheme;
        int tls, port;
    } schemes[] = {{"https://", 1, 443}, {"wss://", 1, 443}, {"http://", 0, 80}, {"ws://", 0, 80}};
    const char *p = NULL;
    for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        size_t n = strlen(schemes[k].scheme);
        if (strncasecmp(s, schemes[k].scheme, n) == 0) {
            p = s + n;
            u->tls = schemes[k].tls;
            u->port = schemes[k].port;
            break;
        }
    }
    if (!p)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "URL \"%.80s\" must start with https://, http://, "
                       "wss:// or ws://",
                       s);
    const char *h = p, *he;
    if (*p == '[') { /* IPv6 literal */
        h = ++p;
        while (isxdigit((unsigned char)*p) || *p == ':' || *p == '.')
            p++;
        if (*p != ']' || p == h)
            return vg_fail(err, VG_E_BAD_REQUEST, "URL \"%.80s\": bad IPv6 address", s);
        he = p++;
    } else {
        while (host_char(*p))
            p++;
        he = p;
    }
    if (he == h || (size_t)(he - h) >= sizeof(u->host))
        return vg_fail(err, VG_E_BAD_REQUEST, "URL \"%.80s\" has no valid host", s);
    memcpy(u->host, h, (size_t)(he - h));
    if (*p == ':') {
        long port = 0;
        const char *d = ++p;
        while (isdigit((unsigned char)*p) && port <= 65535)
            port = port * 10 + (*p++ - '0');
        if (p == d || port < 1 || port > 65535)
            return vg_fail(err, VG_E_BAD_REQUEST, "URL \"%.80s\" has a bad port", s);
        u->port = (int)port;
    }
    if (*p && *p != '/')
        return vg_fail(err, VG_E_BAD_REQUEST, "URL \"%.80s\": unexpected \"%.20s\"", s, p);
    size_t plen = strlen(p);
    while (plen && p[plen - 1] == '/')
        plen--;
    if (plen >= sizeof(u->prefix))
        return vg_fail(err, VG_E_BAD_REQUEST, "URL \"%.80s\": path too long", s);
    for (size_t k = 0; k < plen; k++)
        if ((unsigned char)p[k] <= ' ' || p[k] == '?' || p[k] == '#' || p[k] == 0x7f)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "URL \"%.80s\": the path may not hold a query, fragment or space", s);
    memcpy(u->prefix, p, plen);
    return VG_OK;
}
