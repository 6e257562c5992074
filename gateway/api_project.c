#include "api_int.h"

const gw_method gw_api_project_methods[] = {
    {NULL, 0, 0, 0, NULL, NULL},
};
