/* VM specs as a client could send them (vm.create, vm.edit): JSON -> vg_domspec_parse ->
 * domain XML for a fixed host. Every refusal must carry a code and a message, an accepted spec
 * must survive to_json -> parse unchanged, and the XML must be well-formed. */
#include <libxml/parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_domspec.h"
#include "vg_json.h"

static const vg_domspec_host host = {
    .console_dir = "/srv/vmgate/consoles",
    .disk_path = {"/p/d0", "/p/d1", "/p/d2", "/p/d3", "/p/d4", "/p/d5", "/p/d6", "/p/d7"},
    .disk_format = {"qcow2", "raw", NULL, "qcow2", "raw", NULL, "qcow2", "raw"},
    .cdrom_path = "/p/cd & 'iso'.iso",
    .uuid = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
};

static void refused(const vg_err *err)
{
    if (err->code == VG_E_NONE || !err->msg[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *json = vg_json_parse((const char *)data, size, NULL); /* as the API reads it */
    if (!json)
        return 0;
    static vg_spec spec, again;
    vg_err err = {0};
    if (vg_domspec_parse(json, &spec, 1, &err) != VG_OK) {
        refused(&err);
        if (spec.raw_xml)
            abort(); /* a refusal leaves nothing to free */
        cJSON_Delete(json);
        return 0;
    }
    cJSON_Delete(json);
    cJSON *stored = vg_domspec_to_json(&spec);
    char *s1 = stored ? cJSON_PrintUnformatted(stored) : NULL;
    if (!s1 || vg_domspec_parse(stored, &again, 2, &err) != VG_OK)
        abort();
    cJSON *stored2 = vg_domspec_to_json(&again);
    char *s2 = stored2 ? cJSON_PrintUnformatted(stored2) : NULL;
    if (!s2 || strcmp(s1, s2) != 0)
        abort();
    char *xml = vg_domspec_xml(&spec, &host, &err);
    if (!xml) {
        refused(&err); /* a long name does not fit a console socket path */
    } else if (!spec.raw_xml) {
        xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "gen.xml", NULL,
                                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
            abort();
        xmlFreeDoc(doc);
    }
    free(xml);
    free(s1);
    free(s2);
    cJSON_Delete(stored);
    cJSON_Delete(stored2);
    vg_domspec_free(&spec);
    vg_domspec_free(&again);
    return 0;
}
