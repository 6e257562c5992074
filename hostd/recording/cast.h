/* asciicast v2 event text (docs/architecture.md "Recordings"): an event's data is a JSON string, so
 * console bytes must become valid UTF-8. A multi-byte character cut between two chunks is carried
 * to the next chunk; a byte that can start no valid character becomes U+FFFD. Pure, so it is
 * unit-tested and fuzzed cheaply. */
#ifndef HD_CAST_H
#define HD_CAST_H

#include <stddef.h>

typedef struct hd_cast_carry {
    unsigned char b[4];
    unsigned n;
} hd_cast_carry;

/* Room out needs for n input bytes (with a carry of up to 3). */
#define HD_CAST_ESCAPED_MAX(n) (6 * ((n) + 4))

/* Writes p[0..n) as the inside of a JSON string (no quotes) to out and returns its length; an
 * incomplete character at the end stays in cy for the next call. */
size_t hd_cast_escape(hd_cast_carry *cy, const unsigned char *p, size_t n, char *out);

#endif
