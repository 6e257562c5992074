/* vg_poolspec_parse on untrusted JSON, and the pool XML hostd makes of what it accepts: every
 * refusal is bad_request with a message; an accepted spec has absolute, dot-free paths and
 * renders to XML that libxml2 reads back as a <pool> of the spec's type. */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/poolxml.h"
#include "vg_json.h"
#include "vg_poolspec.h"

/* A ".." component ("..ls" is a name like any other). */
static int dotdot(const char *p)
{
    size_t n = strlen(p);
    return strstr(p, "/../") || (n >= 3 && !strcmp(p + n - 3, "/.."));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vg_err err = {0};
    cJSON *spec = vg_json_parse((const char *)data, size, &err);
    if (!spec)
        return 0;
    vg_poolspec s;
    if (vg_poolspec_parse("p1", spec, &s, &err) != VG_OK) {
        if (err.code != VG_E_BAD_REQUEST || !err.msg[0])
            abort();
        cJSON_Delete(spec);
        return 0;
    }
    if ((s.target[0] && s.target[0] != '/') || dotdot(s.target) || strstr(s.target, "//"))
        abort();
    for (size_t i = 0; i < s.ndevices; i++)
        if (strncmp(s.devices[i], "/dev/", 5) || dotdot(s.devices[i]))
            abort();
    char *xml = hd_poolxml_pool(&s, &err);
    if (!xml)
        abort();
    char type[16];
    if (hd_poolxml_type(xml, type, sizeof(type), &err) != VG_OK ||
        strcmp(type, vg_pool_type_name(s.type)))
        abort();
    free(xml);
    cJSON_Delete(spec);
    return 0;
}
