/* vmgatectl's command line: NUL-separated words become argv; the first word is also a URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_args.h"

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
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
        if (o.cmd == CTL_CMD_NONE || !o.url || (o.cmd != CTL_CMD_LIST && !o.vm))
            abort();
        if (o.cmd == CTL_CMD_EXEC && (!o.command || o.timeout <= 0 || !o.prompt))
            abort();
    }
    ctl_args_free(&o);
    free(argv);
    free(text);
    return 0;
}
