/* vmgatectl exec's output cleaner and transcript scan on arbitrary console bytes. The first
 * byte sets how the input is split into frames; the command is "echo x". */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_clean.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static regex_t prompt;
    static int ready;
    if (!ready) {
        if (regcomp(&prompt, "[#$] $", REG_EXTENDED | REG_NOSUB) != 0)
            abort();
        ready = 1;
    }
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] % 16 + 1;
    data++;
    size--;
    vg_clean c;
    vg_clean_init(&c, 4096);
    for (size_t i = 0; i < size; i += step) {
        size_t n = size - i < step ? size - i : step;
        if (vg_clean_feed(&c, data + i, n, NULL) != VG_OK)
            abort();
        if (c.len > c.max || (c.text && strlen(c.text) != c.len))
            abort(); /* no NUL or escape byte ever reaches the text */
        if (c.text && memchr(c.text, 0x1b, c.len))
            abort();
        vg_transcript t;
        vg_transcript_scan(c.text ? c.text : "", c.len, "echo x", &prompt, &t);
        if (t.out_start > c.len || t.out_end > c.len || (t.prompt && t.out_end < t.out_start))
            abort();
    }
    vg_clean_free(&c);
    return 0;
}
