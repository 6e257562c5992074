#include "core/vmpolicy.h"

#include <string.h>

/* path lies below one of the comma-separated dirs; vg_domspec_parse has already refused ".."
 * components and relative paths, so a lexical check is exact. */
static int under_boot_dir(const char *path, const char *dirs)
{
    const char *d = dirs;
    while (d && *d) {
        const char *end = strchr(d, ',');
        size_t n = end ? (size_t)(end - d) : strlen(d);
        while (n && d[n - 1] == '/')
            n--;
        if (n && d[0] == '/' && strncmp(path, d, n) == 0 && path[n] == '/' && path[n + 1])
            return 1;
        d = end ? end + 1 : NULL;
    }
    return 0;
}

int gw_vmpolicy_check(const vg_spec *spec, int admin, const char *boot_dirs, vg_err *err)
{
    if (admin)
        return VG_OK;
    if (spec->raw_xml)
        return vg_fail(err, VG_E_FORBIDDEN, "spec.raw_xml is for administrators only");
    if (spec->kernel[0] && !under_boot_dir(spec->kernel, boot_dirs))
        return vg_fail(err, VG_E_FORBIDDEN,
                       "spec.kernel.kernel must lie in one of the gateway's boot_dirs");
    if (spec->initrd[0] && !under_boot_dir(spec->initrd, boot_dirs))
        return vg_fail(err, VG_E_FORBIDDEN,
                       "spec.kernel.initrd must lie in one of the gateway's boot_dirs");
    return VG_OK;
}
