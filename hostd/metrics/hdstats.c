#include "metrics/hdstats.h"

const double hd_round_bounds[HD_ROUND_BOUNDS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

hd_stats hd_stat;
