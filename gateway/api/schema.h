/* The parameter schema of an API method: one entry per field with its type, whether it is
 * required, its range and a doc line. The dispatcher checks every request against it before the
 * method runs (unknown fields, missing ones, wrong types and ranges are `bad_request` naming the
 * field), and the same table describes the method in `api.methods`, in `vmgatectl help METHOD`
 * and in the test that checks docs/api.md. A method's own check runs after the schema passed and
 * covers only what a field table cannot say (one field required when another is present, ...).
 *
 *   static const gw_field create_params[] = {
 *       {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new user's name"},
 *       {"role", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "admin|operator|viewer", "platform role"},
 *       {"description", GW_F_STRING, 0, 0, 256, NULL, "free text"},
 *       {NULL},
 *   };
 */
#ifndef GW_API_SCHEMA_H
#define GW_API_SCHEMA_H

#include "vg.h"

#include <cjson/cJSON.h>

typedef enum gw_ftype {
    GW_F_STRING, /* text of at most max bytes (and at least min) */
    GW_F_NAME,   /* a name as vg_valid_name takes it (VM, user, project, host ...) */
    GW_F_INT,    /* a whole number from min to max */
    GW_F_BOOL,
    GW_F_ENUM,   /* one of choices, "a|b|c" */
    GW_F_NAMES,  /* an array of at most max names */
    GW_F_ARRAY,  /* an array of at most max items, each checked by the method */
    GW_F_OBJECT, /* an object, checked by the method (a VM spec, quotas) */
} gw_ftype;

#define GW_F_REQUIRED 0x1
#define GW_F_NULLABLE 0x2 /* null is accepted too (vm.cdrom's media: null ejects) */

typedef struct gw_field {
    const char *name; /* NULL ends a table */
    gw_ftype type;
    unsigned flags;
    long long min, max;
    const char *choices; /* GW_F_ENUM */
    const char *doc;
} gw_field;

/* The table of a method that takes no parameters. */
extern const gw_field gw_no_fields[];

/* Pure: params (an object) against fields. The first offence ends the check. */
int gw_schema_check(const gw_field *fields, const cJSON *params, vg_err *err);
/* Pure: one field of params against its entry (present when required, of its type). The
 * dispatcher checks a method's target with it before the authorization. */
int gw_schema_check_field(const gw_field *f, const cJSON *params, vg_err *err);
/* fields as api.methods lists them: [{"name", "type", "required", "nullable"?, "min"?, "max"?,
 * "choices"?, "doc"}]. NULL when out of memory. */
cJSON *gw_schema_describe(const gw_field *fields);
/* The field's type as api.methods names it ("string", "name", "int", ...). */
const char *gw_schema_type_name(gw_ftype type);

#endif
