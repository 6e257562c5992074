/* vmgatectl's command line: NUL-separated words become argv; the first word is also a URL.
 * A method call's key=value words are built into params (@file reads a fixed text) and the
 * params are rendered as a result would be. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_params.h"
#include "ctl_render.h"

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static char *fake_read(const char *path, void *ud, vg_err *err)
{
    (void)ud;
    if (path[0] == 'x')
        return strdup("{\"a\":[{\"b\":1},{\"c\":\"\\u001b\"}]}");
    vg_fail(err, VG_E_BAD_REQUEST, "cannot read %s", path);
    return NULL;
}

static void check_params(const ctl_opts *o)
{
    cJSON *params = NULL;
    vg_err err = {0};
    if (ctl_params_build(o->words, o->nwords, fake_read, NULL, &params, &err) != VG_OK) {
        if (params || !err.msg[0])
            abort();
        return;
    }
    if (!cJSON_IsObject(params))
        abort();
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        ctl_render(params, CTL_RENDER_MAX_CELL, out, &err);
        ctl_render(params, 1, out, &err);
        fclose(out);
    }
    cJSON_Delete(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    char **argv = malloc((size + 3) * sizeof(char *)); /* program, up to size+1 words, NULL */
    if (!text || !argv) {
        free(text);
        free(argv);
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    int argc = 0;
    argv[argc++] = "vmgatectl";
    for (char *p = text; p <= text + size; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    ctl_url u;
    vg_err err = {0};
    if (ctl_url_parse(argv[1], &u, &err) == VG_OK) {
        if (!u.host[0] || u.port < 1 || u.port > 65535)
            abort();
    } else if (!err.msg[0]) {
        abort();
    }
    ctl_opts o;
    if (ctl_args_parse(&o, argc, argv, no_env, &err) == VG_OK && !o.help) {
        if (o.cmd == CTL_CMD_NONE || !o.url || (o.cmd == CTL_CMD_CONSOLE && !o.vm))
            abort();
        /* exec runs on exactly one of: a VM, a list of VMs, an environment */
        if (o.cmd == CTL_CMD_EXEC && !!o.vm + !!o.vms + !!o.env != 1)
            abort();
        if (o.cmd == CTL_CMD_EXEC && (!o.command || o.timeout <= 0 || !o.prompt))
            abort();
        if ((o.cmd == CTL_CMD_CALL || o.cmd == CTL_CMD_HELP) && !ctl_method_name(o.method))
            abort();
        if (o.cmd == CTL_CMD_CALL)
            check_params(&o);
    }
    ctl_args_free(&o);
    free(argv);
    free(text);
    return 0;
}
