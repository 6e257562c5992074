#include "console/termkeys.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *bytes;
} named[] = {
    {"up", "\x1b[A"},      {"down", "\x1b[B"},    {"right", "\x1b[C"}, {"left", "\x1b[D"},
    {"home", "\x1b[H"},    {"end", "\x1b[F"},     {"pgup", "\x1b[5~"}, {"pgdn", "\x1b[6~"},
    {"insert", "\x1b[2~"}, {"delete", "\x1b[3~"}, {"tab", "\t"},       {"enter", "\r"},
    {"esc", "\x1b"},       {"backspace", "\x7f"}, {"space", " "},      {"f1", "\x1bOP"},
    {"f2", "\x1bOQ"},      {"f3", "\x1bOR"},      {"f4", "\x1bOS"},    {"f5", "\x1b[15~"},
    {"f6", "\x1b[17~"},    {"f7", "\x1b[18~"},    {"f8", "\x1b[19~"},  {"f9", "\x1b[20~"},
    {"f10", "\x1b[21~"},   {"f11", "\x1b[23~"},   {"f12", "\x1b[24~"},
};

/* ctrl-a .. ctrl-z are 0x01 .. 0x1a; 0 when name is none of them. */
static unsigned char ctrl_key(const char *name)
{
    if (strncmp(name, "ctrl-", 5) != 0 || !name[5] || name[6])
        return 0;
    char c = name[5];
    return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 1) : 0;
}

int gw_termkeys_encode(const cJSON *keys, unsigned char *out, size_t cap, size_t *n, vg_err *err)
{
    *n = 0;
    int count = cJSON_IsArray(keys) ? cJSON_GetArraySize(keys) : -1;
    if (count < 1 || count > GW_TERMKEYS_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"keys\" must be an array of 1 to %d key names",
                       GW_TERMKEYS_MAX);
    int i = 0;
    for (const cJSON *k = keys->child; k; k = k->next, i++) {
        if (!cJSON_IsString(k))
            return vg_fail(err, VG_E_BAD_REQUEST, "keys[%d] must be a key name (a string)", i);
        const char *bytes = NULL;
        char one[2] = {0};
        for (size_t j = 0; j < sizeof(named) / sizeof(named[0]) && !bytes; j++)
            if (strcmp(k->valuestring, named[j].name) == 0)
                bytes = named[j].bytes;
        if (!bytes && (one[0] = (char)ctrl_key(k->valuestring)))
            bytes = one;
        if (!bytes)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "keys[%d] \"%.32s\" is no key name (up, down, left, right, home, end, "
                           "pgup, pgdn, insert, delete, tab, enter, esc, backspace, space, "
                           "f1-f12, ctrl-a..ctrl-z)",
                           i, k->valuestring);
        size_t len = strlen(bytes);
        if (*n + len > cap)
            return vg_fail(err, VG_E_BAD_REQUEST, "too many keys");
        memcpy(out + *n, bytes, len);
        *n += len;
    }
    return VG_OK;
}
