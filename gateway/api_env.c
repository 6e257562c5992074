#include "api_int.h"

const gw_method gw_api_env_methods[] = {
    {NULL, 0, 0, 0, NULL, NULL},
};
