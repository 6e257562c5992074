/* libvirt's XML for what the storage methods define: a pool from a checked vg_poolspec, a
 * secret for iSCSI CHAP, and the few facts read back from a pool's own XML. Pure: libxml2
 * only, no libvirt, no I/O; golden files in tests/unit/data/pool/. */
#ifndef HD_POOLXML_H
#define HD_POOLXML_H

#include "vg_poolspec.h"

/* <pool type=...> for libvirt's virStoragePoolDefineXML. Caller frees. */
char *hd_poolxml_pool(const vg_poolspec *s, vg_err *err);
/* <secret ephemeral='no' private='yes'> with an iscsi usage named usage. Caller frees. */
char *hd_poolxml_secret(const char *usage, const char *description, vg_err *err);
/* A raw volume of exactly bytes (an upload's size, so a download gives the same file back).
 * Caller frees. */
char *hd_poolxml_raw_volume(const char *name, long long bytes, vg_err *err);
/* A pool's type attribute ("dir", "fs", ...). */
int hd_poolxml_type(const char *xml, char *type, size_t cap, vg_err *err);
/* From libvirt's storage pool capabilities (virConnectGetStoragePoolCapabilities): 1 when the
 * pool type is supported, 0 when libvirt says it is not or does not list it (no driver
 * installed), -1 when caps is not such a document. */
int hd_poolxml_supported(const char *caps, const char *type);

#endif
