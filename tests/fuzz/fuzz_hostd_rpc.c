/* A management request as a gateway (or anything that got past the link checks) could send
 * it: hd_rpc_conn_recv parses it, dispatches it and queues exactly one answer. Without a libvirt
 * connection every method stops at its parameter checks or with `unavailable`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/vmops.h"
#include "link/rpc.h"
#include "vg_json.h"

static void wake(void *ud)
{
    (*(int *)ud)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int wakes = 0;
    rpc_conn *rc = hd_rpc_conn_new(hd_vmops_methods, wake, &wakes);
    if (!rc)
        return 0;
    hd_rpc_conn_recv(rc, (const char *)data, size);
    size_t len;
    char *text = hd_rpc_conn_next(rc, &len);
    if (!text || wakes != 1 || strlen(text) != len)
        abort();                               /* every request gets one answer at once here */
    cJSON *o = vg_json_parse(text, len, NULL); /* the gateway reads answers strictly */
    const cJSON *e = cJSON_GetObjectItem(o, "error");
    if (!o || !cJSON_GetObjectItem(o, "id") ||
        (!e && !cJSON_IsObject(cJSON_GetObjectItem(o, "result"))) ||
        (e && !cJSON_IsString(cJSON_GetObjectItem(e, "code"))))
        abort();
    cJSON_Delete(o);
    free(text);
    if (hd_rpc_conn_next(rc, &len))
        abort();
    hd_rpc_conn_free(rc);
    return 0;
}
