#include "api/schema.h"

#include "vg_util.h"

#include <stdio.h>
#include <string.h>

const gw_field gw_no_fields[] = {{NULL}};

static const char *const type_names[] = {
    [GW_F_STRING] = "string", [GW_F_NAME] = "name",     [GW_F_INT] = "int",
    [GW_F_BOOL] = "bool",     [GW_F_ENUM] = "enum",     [GW_F_NAMES] = "names",
    [GW_F_ARRAY] = "array",   [GW_F_OBJECT] = "object",
};

const char *gw_schema_type_name(gw_ftype type)
{
    return type_names[type];
}

static const gw_field *find(const gw_field *fields, const char *name)
{
    for (const gw_field *f = fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static int choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, s, n))
            return 1;
        p += len + (e != NULL);
    }
    return 0;
}

static int bad_name(const gw_field *f, vg_err *err)
{
    return vg_fail(err, VG_E_BAD_REQUEST,
                   "\"%s\" must be 1-64 characters of A-Z a-z 0-9 . _ - (not starting with . or -)",
                   f->name);
}

static int check_field(const gw_field *f, const cJSON *v, vg_err *err)
{
    switch (f->type) {
    case GW_F_STRING: {
        if (!cJSON_IsString(v))
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be a string", f->name);
        size_t len = strlen(v->valuestring);
        if (len > (size_t)f->max)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be at most %lld characters", f->name,
                           f->max);
        if (len < (size_t)f->min)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be at least %lld characters",
                           f->name, f->min);
        return VG_OK;
    }
    case GW_F_NAME:
        if (!cJSON_IsString(v))
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be a string", f->name);
        return vg_valid_name(v->valuestring) ? VG_OK : bad_name(f, err);
    case GW_F_INT:
        /* The range first: casting a double outside long long's range is undefined. */
        if (!cJSON_IsNumber(v) || v->valuedouble < (double)f->min ||
            v->valuedouble > (double)f->max || v->valuedouble != (double)(long long)v->valuedouble)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be a whole number from %lld to %lld",
                           f->name, f->min, f->max);
        return VG_OK;
    case GW_F_BOOL:
        return cJSON_IsBool(v)
                   ? VG_OK
                   : vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be true or false", f->name);
    case GW_F_ENUM:
        if (!cJSON_IsString(v) || !choice_ok(f->choices, v->valuestring))
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be one of %s", f->name, f->choices);
        return VG_OK;
    case GW_F_NAMES:
    case GW_F_ARRAY:
        if (!cJSON_IsArray(v))
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be an array", f->name);
        if (cJSON_GetArraySize(v) > f->max)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must have at most %lld items", f->name,
                           f->max);
        if (f->type == GW_F_NAMES) {
            const cJSON *e;
            cJSON_ArrayForEach(e, v)
            {
                if (!cJSON_IsString(e) || !vg_valid_name(e->valuestring))
                    return vg_fail(err, VG_E_BAD_REQUEST,
                                   "\"%s\" must be an array of names (1-64 characters of A-Z a-z "
                                   "0-9 . _ -, not starting with . or -)",
                                   f->name);
            }
        }
        return VG_OK;
    case GW_F_OBJECT:
        return cJSON_IsObject(v)
                   ? VG_OK
                   : vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be an object", f->name);
    }
    return vg_fail(err, VG_E_INTERNAL, "\"%s\" has no type", f->name);
}

int gw_schema_check_field(const gw_field *f, const cJSON *params, vg_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, f->name);
    if (!v)
        return (f->flags & GW_F_REQUIRED)
                   ? vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" is required", f->name)
                   : VG_OK;
    if (cJSON_IsNull(v) && (f->flags & GW_F_NULLABLE))
        return VG_OK;
    if (check_field(f, v, err) == VG_OK)
        return VG_OK;
    if (err && (f->flags & GW_F_NULLABLE)) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg);
        vg_fail(err, VG_E_BAD_REQUEST, "%.140s, or null", why);
    }
    return VG_ERR;
}

int gw_schema_check(const gw_field *fields, const cJSON *params, vg_err *err)
{
    if (!cJSON_IsObject(params))
        return vg_fail(err, VG_E_BAD_REQUEST, "params must be an object");
    /* Typos must not pass as if the field were absent. */
    for (const cJSON *v = params->child; v; v = v->next)
        if (!find(fields, v->string))
            return vg_fail(err, VG_E_BAD_REQUEST, "unknown parameter \"%.64s\"", v->string);
    for (const gw_field *f = fields; f->name; f++)
        if (gw_schema_check_field(f, params, err) != VG_OK)
            return VG_ERR;
    return VG_OK;
}

static int describe_one(const gw_field *f, cJSON *d)
{
    int counted = f->type == GW_F_INT || f->type == GW_F_STRING || f->type == GW_F_NAMES ||
                  f->type == GW_F_ARRAY;
    return cJSON_AddStringToObject(d, "name", f->name) &&
           cJSON_AddStringToObject(d, "type", gw_schema_type_name(f->type)) &&
           cJSON_AddBoolToObject(d, "required", f->flags & GW_F_REQUIRED) &&
           (!(f->flags & GW_F_NULLABLE) || cJSON_AddTrueToObject(d, "nullable")) &&
           (!counted || (f->type != GW_F_INT && !f->min) ||
            cJSON_AddNumberToObject(d, "min", (double)f->min)) &&
           (!counted || cJSON_AddNumberToObject(d, "max", (double)f->max)) &&
           (!f->choices || cJSON_AddStringToObject(d, "choices", f->choices)) &&
           cJSON_AddStringToObject(d, "doc", f->doc ? f->doc : "");
}

cJSON *gw_schema_describe(const gw_field *fields)
{
    cJSON *list = cJSON_CreateArray();
    for (const gw_field *f = fields; list && f->name; f++) {
        cJSON *d = cJSON_CreateObject();
        if (!d || !cJSON_AddItemToArray(list, d)) {
            cJSON_Delete(d);
            cJSON_Delete(list);
            return NULL;
        }
        if (!describe_one(f, d)) { /* d belongs to list now */
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}
