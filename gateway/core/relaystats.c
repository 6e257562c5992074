#include "core/relaystats.h"

gw_relaystats gw_relay;
