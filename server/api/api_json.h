/* JSON shapes shared by several handlers. */
#ifndef KW_API_JSON_H
#define KW_API_JSON_H

#include <jansson.h>

#include "store/store.h"

/* A device as every listing and detail shows it (never its token). New reference. */
json_t *api_device_json(const struct kw_device *d);
/* A time as a JSON integer, or null for 0. */
json_t *api_time_json(int64_t t);

#endif
