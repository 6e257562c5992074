#include "gateway.h"

#include "vg_rscript.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LUA_PREFIX "gateway_"
#define LUA_SUFFIX ".lua"

static int is_gateway_script(const char *name)
{
    size_t n = strlen(name), p = strlen(LUA_PREFIX), s = strlen(LUA_SUFFIX);
    return n > p + s && strncmp(name, LUA_PREFIX, p) == 0 && strcmp(name + n - s, LUA_SUFFIX) == 0;
}

int gw_lua_open_all(gw *g, vg_err *err)
{
    DIR *d = opendir(g->cfg.scripts_dir);
    if (!d)
        return vg_fail(err, VG_E_NOT_FOUND, "cannot open scripts_dir %.100s: %s",
                       g->cfg.scripts_dir, strerror(errno));
    int rc = VG_OK;
    struct dirent *e;
    while (rc == VG_OK && (e = readdir(d))) {
        if (!is_gateway_script(e->d_name))
            continue;
        vg_rscript **grown = realloc(g->lua, (g->nlua + 1) * sizeof(*grown));
        if (!grown) {
            rc = vg_fail(err, VG_E_INTERNAL, "out of memory");
            break;
        }
        g->lua = grown;
        if (!(g->lua[g->nlua] = vg_rscript_open(g->cfg.scripts_dir, e->d_name, err)))
            rc = VG_ERR;
        else
            g->nlua++;
    }
    closedir(d);
    if (rc == VG_OK && g->nlua == 0)
        rc = vg_fail(err, VG_E_NOT_FOUND, "no gateway_*.lua in scripts_dir %.100s",
                     g->cfg.scripts_dir);
    return rc;
}

void gw_lua_free_all(gw *g)
{
    for (size_t i = 0; i < g->nlua; i++)
        vg_rscript_free(g->lua[i]);
    free(g->lua);
    g->lua = NULL;
    g->nlua = 0;
}

vg_rscript *gw_lua(gw *g, const char *name)
{
    char file[128];
    snprintf(file, sizeof(file), LUA_PREFIX "%s" LUA_SUFFIX, name);
    for (size_t i = 0; i < g->nlua; i++)
        if (strcmp(vg_rscript_name(g->lua[i]), file) == 0)
            return g->lua[i];
    return NULL;
}
