#include "api_int.h"

const gw_method gw_api_user_methods[] = {
    {NULL, 0, 0, 0, NULL, NULL},
};
