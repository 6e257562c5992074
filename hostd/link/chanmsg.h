/* The gateway's control messages on a link v2 channel (docs/protocol.md §3): a join names a
 * new member by its tag with the user and mode it attaches with, a leave ends one. Pure. */
#ifndef HD_CHANMSG_H
#define HD_CHANMSG_H

#include "vg.h"

#include <stddef.h>
#include <stdint.h>

typedef enum hd_chanmsg_type { HD_CHANMSG_JOIN, HD_CHANMSG_LEAVE } hd_chanmsg_type;

typedef struct hd_chanmsg {
    hd_chanmsg_type type;
    uint32_t tag;
    /* a join's: the user ("" when not named), rw (mode "rw") or ro, take, rec_input */
    char user[65];
    int rw, take, rec_input;
} hd_chanmsg;

/* One text message: strict JSON {"type":"join"|"leave","tag":0..2^32-1, ...}. A join needs
 * mode "rw" or "ro"; user, when present, is text of at most 64 bytes. bad_request otherwise. */
int hd_chanmsg_parse(const unsigned char *in, size_t len, hd_chanmsg *out, vg_err *err);

#endif
