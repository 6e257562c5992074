#include "core/apistats.h"

const double gw_apistats_bounds[GW_APISTATS_BOUNDS] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                       0.25,  0.5,   1,    2.5,   5,    10};

static gw_apistats stats[GW_APISTATS_METHODS + 1];

void gw_apistats_record(size_t method, vg_err_code code, double seconds)
{
    gw_apistats *s = &stats[method <= GW_APISTATS_METHODS ? method : 0];
    s->calls[code <= VG_E_LAST ? code : VG_E_INTERNAL]++;
    for (size_t b = 0; b < GW_APISTATS_BOUNDS; b++)
        s->le[b] += seconds <= gw_apistats_bounds[b];
    s->count++;
    s->sum += seconds;
}

const gw_apistats *gw_apistats_get(size_t method)
{
    return &stats[method <= GW_APISTATS_METHODS ? method : 0];
}
