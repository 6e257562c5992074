/* The one JSON parser for text from outside the process (clients, hostd, the link, workers).
 *
 * cJSON alone is lenient where leniency is dangerous: it stops at the end of the first value
 * and ignores what follows, it ends a string at a \u0000 escape or a raw NUL (C strings), and of
 * two equal keys lookups silently see the first. A second reader of the same text (a proxy, a
 * log, an auditor) could take another meaning from it, so all of that is refused here. */
#ifndef VG_JSON_H
#define VG_JSON_H

#include "vg.h"

#include <cjson/cJSON.h>

/* Parses len bytes as exactly one JSON value with optional whitespace around it. Refused (NULL,
 * err filled with VG_E_BAD_REQUEST and a message naming the byte or the key): text cJSON does
 * not parse, anything but whitespace after the value, a \u0000 escape or a raw control character
 * inside a string, and an object at any depth with two equal keys. Out of memory is
 * VG_E_INTERNAL. The caller frees the value with cJSON_Delete. */
cJSON *vg_json_parse(const char *buf, size_t len, vg_err *err);

#endif
