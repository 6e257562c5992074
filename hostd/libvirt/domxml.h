/* Domain XML -> the VM's unix-socket consoles (C1). Pure: no libvirt, no I/O.
 *
 * Every <serial>, <console> and <channel> of type 'unix' is a console named by its libvirt
 * alias (serial0, console1, channel0). Inactive XML carries no aliases, so the same names are
 * derived from the device's index in its list, which is how libvirt assigns them. A <console>
 * that aliases a <serial> (same socket path) is that serial console, not a second one. */
#ifndef DOMXML_H
#define DOMXML_H

#include "vg.h"

#define DOMXML_MAX_CONSOLES 32
#define DOMXML_PATH_MAX 108 /* sun_path of struct sockaddr_un */
#define DOMXML_LOG_MAX 1024

typedef struct domxml_console {
    char dev[32];  /* libvirt alias */
    char kind[16]; /* "serial", "console" or "channel" */
    char path[DOMXML_PATH_MAX];
    char log[DOMXML_LOG_MAX]; /* chardev log file when append='on', else empty */
} domxml_console;

typedef struct domxml_info {
    char name[65];
    char uuid[37];
    int vcpus;            /* <vcpu>; 0 when absent */
    long long memory_mib; /* <memory>, whatever its unit; 0 when absent */
    size_t ncons;
    domxml_console cons[DOMXML_MAX_CONSOLES];
} domxml_info;

/* Parses one <domain> document. Devices that cannot be consoles (other types, paths too long
 * for a unix socket) are skipped; a document that is not a domain with a valid name fails. */
int hd_domxml_parse(const char *xml, size_t len, domxml_info *out, vg_err *err);

#endif
