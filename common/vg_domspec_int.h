/* Shared by the files of the vg_domspec module (parse, raw XML, XML generation); not for other
 * modules, which use vg_domspec.h. */
#ifndef VG_DOMSPEC_INT_H
#define VG_DOMSPEC_INT_H

#include "vg_domspec.h"

#define VG_SPEC_VCPUS_MAX 64
#define VG_SPEC_MEM_MIN 16
#define VG_SPEC_MEM_MAX 1048576

/* spec.raw_xml: a <domain> named out->name without a DTD; sets out->raw_xml, and out->vcpus and
 * out->memory_mib from its <vcpu> and <memory>. */
int vg_domspec_raw_parse(const cJSON *raw, vg_spec *out, vg_err *err);
/* The raw XML for libvirt, keeping host->uuid on a redefinition. Caller frees. */
char *vg_domspec_raw_xml(const vg_spec *spec, const vg_domspec_host *host, vg_err *err);

#endif
