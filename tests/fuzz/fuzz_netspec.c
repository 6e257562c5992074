/* Network and filter specs as an administrator could send them (network.create, filter.create):
 * JSON -> vg_netspec_parse / vg_nwfilter_parse -> XML. Every refusal must carry a code and a
 * message; every accepted spec must give well-formed XML. The input's first byte picks which. */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_json.h"
#include "vg_netspec.h"
#include "vg_nwfilter.h"

static void refused(const vg_err *err)
{
    if (err->code == VG_E_NONE || !err->msg[0])
        abort();
}

static void well_formed(char *xml)
{
    if (!xml)
        abort();
    xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "f.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        abort();
    xmlFreeDoc(doc);
    free(xml);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    cJSON *json = vg_json_parse((const char *)data + 1, size - 1, NULL);
    if (!json)
        return 0;
    vg_err err = {0};
    if (data[0] & 1) {
        static vg_nwfilter f;
        if (vg_nwfilter_parse(json, &f, &err) != VG_OK)
            refused(&err);
        else
            well_formed(vg_nwfilter_xml(&f, NULL, &err));
    } else {
        vg_netspec s;
        if (vg_netspec_parse(json, &s, &err) != VG_OK) {
            refused(&err);
        } else {
            if (vg_netspec_lease_add(&s, "52:54:00:00:00:01", "10.0.0.7", "fz", &err) != VG_OK)
                refused(&err);
            well_formed(vg_netspec_xml(&s, "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab", &err));
            vg_netspec_free(&s);
        }
    }
    cJSON_Delete(json);
    return 0;
}
