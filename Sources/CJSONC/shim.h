/* SPDX-License-Identifier: MIT */
#ifndef DEVSTATE_CJSONC_SHIM_H
#define DEVSTATE_CJSONC_SHIM_H
#include <json-c/json.h>
#endif
