/* Line mode for one VM (C10, docs/api.md "Line mode"): console.send, console.key, console.read
 * and console.status. The work is hostd's (hostd/console/linemode.h), where the console's ring
 * and write lock are; these methods authorize, find the VM's host and relay. console.exec,
 * which may span many VMs, is api_lexec.c. */
#include "api/methods/api_vm.h"

#include "console/termkeys.h"
#include "vg_bytes.h"

#include <stdlib.h>
#include <string.h>

#define LINE_RPC_MS 10000L
#define READ_WAIT_MAX_MS 30000
#define SEND_MAX 32768 /* bytes per console.send: what hostd queues for a guest at once, halved */

static const gw_field send_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {"data", GW_F_STRING, 0, 1, SEND_MAX, NULL, "text to type (UTF-8), or"},
    {"bytes_b64", GW_F_STRING, 0, 4, SEND_MAX / 3 * 4 + 4, NULL, "bytes to type, base64"},
    {"take", GW_F_BOOL, 0, 0, 0, NULL, "take the write lock from another user's viewer"},
    {NULL},
};

static const gw_field key_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {"keys", GW_F_ARRAY, GW_F_REQUIRED, 0, GW_TERMKEYS_MAX, NULL,
     "key names: up, down, left, right, home, end, pgup, pgdn, insert, delete, tab, enter, esc, "
     "backspace, space, f1-f12, ctrl-a..ctrl-z"},
    {"take", GW_F_BOOL, 0, 0, 0, NULL, "take the write lock from another user's viewer"},
    {NULL},
};

static const gw_field read_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {"offset", GW_F_INT, 0, 0, 9007199254740992LL, NULL,
     "first byte wanted (default: the oldest the ring holds)"},
    {"encoding", GW_F_ENUM, 0, 0, 0, "base64|text",
     "data_b64 (exact bytes, the default) or text (UTF-8, invalid bytes as U+FFFD)"},
    {"wait_ms", GW_F_INT, 0, 0, READ_WAIT_MAX_MS, NULL,
     "when nothing is new, answer as soon as something is, or after this long (default 0)"},
    {NULL},
};

static const gw_field status_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {NULL},
};

/* Exactly one of data and bytes_b64, and bytes_b64 decodes. */
static int check_send(const cJSON *params, vg_err *err)
{
    const cJSON *data = gw_param(params, "data"), *b64 = gw_param(params, "bytes_b64");
    if (!data == !b64)
        return vg_fail(err, VG_E_BAD_REQUEST, "give either \"data\" or \"bytes_b64\"");
    if (!b64)
        return VG_OK;
    unsigned char *bytes;
    size_t n;
    if (vg_base64_decode(b64->valuestring, "\"bytes_b64\"", &bytes, &n, err) != VG_OK)
        return VG_ERR;
    free(bytes);
    return n ? VG_OK : vg_fail(err, VG_E_BAD_REQUEST, "\"bytes_b64\" holds no bytes");
}

static int check_key(const cJSON *params, vg_err *err)
{
    unsigned char buf[GW_TERMKEYS_MAX * 8];
    size_t n;
    return gw_termkeys_encode(gw_param(params, "keys"), buf, sizeof(buf), &n, err);
}

static void relay_done(gw_vmcall *v)
{
    gw_call_succeed(v->c, cJSON_Duplicate(v->answer, 1));
}

/* {vm, dev?, user} for hostd. */
static cJSON *line_params(gw_vmcall *v, int with_user)
{
    cJSON *p = gw_vmcall_params(v);
    const char *dev = gw_param_str(v->c, "dev", NULL);
    if (p && dev)
        cJSON_AddStringToObject(p, "dev", dev);
    if (p && with_user)
        cJSON_AddStringToObject(p, "user", v->c->user);
    return p;
}

int gw_line_state_ok(const char *state)
{
    /* "unknown": a console of the console directory, whose VM libvirt does not describe */
    return strcmp(state, "running") == 0 || strcmp(state, "unknown") == 0;
}

static int need_running(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return VG_ERR;
    if (!gw_line_state_ok(v->vi.state)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "VM %s is %s, not running", v->vm,
                     v->vi.state[0] ? v->vi.state : "not reported by any host");
        return VG_ERR;
    }
    return VG_OK;
}

static void send_step(gw_vmcall *v)
{
    if (need_running(v) != VG_OK)
        return;
    gw_call *c = v->c;
    cJSON *p = line_params(v, 1);
    const char *b64 = gw_param_str(c, "bytes_b64", NULL);
    char *enc = NULL;
    if (!b64 && strcmp(c->req.method, "console.key") == 0) {
        unsigned char buf[GW_TERMKEYS_MAX * 8];
        size_t n = 0;
        vg_err err;
        gw_termkeys_encode(gw_param(c->req.params, "keys"), buf, sizeof(buf), &n, &err);
        enc = vg_base64_encode(buf, n);
    } else if (!b64) {
        const char *data = gw_param_str(c, "data", "");
        enc = vg_base64_encode((const unsigned char *)data, strlen(data));
    }
    if (p && (b64 || enc))
        cJSON_AddStringToObject(p, "data_b64", b64 ? b64 : enc);
    free(enc);
    if (p)
        cJSON_AddBoolToObject(p, "take", gw_param_bool(c, "take", 0));
    gw_vmcall_rpc(v, v->vi.host, "console.send", p, LINE_RPC_MS, relay_done);
}

static void run_send(gw_call *c)
{
    gw_vmcall_run(c, send_step);
}

static void read_step(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *p = line_params(v, 0);
    gw_call *c = v->c;
    const cJSON *off = gw_param(c->req.params, "offset");
    if (p && off)
        cJSON_AddNumberToObject(p, "offset", off->valuedouble);
    long long wait_ms = gw_param_int(c, "wait_ms", 0);
    if (p) {
        cJSON_AddStringToObject(p, "encoding", gw_param_str(c, "encoding", "base64"));
        cJSON_AddNumberToObject(p, "wait_ms", (double)wait_ms);
        cJSON_AddStringToObject(p, "user", c->user);
    }
    gw_vmcall_rpc(v, v->vi.host, "console.read", p, LINE_RPC_MS + (long)wait_ms, relay_done);
}

static void run_read(gw_call *c)
{
    gw_vmcall_run(c, read_step);
}

static void status_step(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    gw_vmcall_rpc(v, v->vi.host, "console.status", line_params(v, 0), LINE_RPC_MS, relay_done);
}

static void run_status(gw_call *c)
{
    gw_vmcall_run(c, status_step);
}

const gw_method gw_api_line_methods[] = {
    {"console.send", GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES, send_params, check_send,
     run_send},
    {"console.key", GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES, key_params, check_key, run_send},
    {"console.read", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, read_params, NULL, run_read},
    {"console.status", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, status_params, NULL, run_status},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
