/* Named keys of console.key (docs/api.md "console.key") as the bytes a terminal sends for them
 * (xterm conventions: CSI sequences for cursor and editing keys, SS3 for F1-F4). Pure. */
#ifndef GW_TERMKEYS_H
#define GW_TERMKEYS_H

#include "vg.h"

#include <cjson/cJSON.h>

#define GW_TERMKEYS_MAX 64 /* keys per call */

/* keys: a non-empty array of key names. Writes their bytes to out (cap bytes; 8 per key is
 * always enough) and their count to *n; bad_request names the first key it does not know. */
int gw_termkeys_encode(const cJSON *keys, unsigned char *out, size_t cap, size_t *n, vg_err *err);

#endif
