/* gateway VM methods: the state table, the reading of gateway_vm_get.lua's answer and the
 * parameter checks of the VM, lifecycle and snapshot methods (docs/api.md "VMs"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/methods/api_vm.h"

static void test_state_table(void **state)
{
    (void)state;
    assert_true(gw_vm_state_allows("vm.start", "shutoff"));
    assert_true(gw_vm_state_allows("vm.start", "crashed"));
    assert_false(gw_vm_state_allows("vm.start", "running"));
    assert_false(gw_vm_state_allows("vm.start", "paused"));
    assert_true(gw_vm_state_allows("vm.suspend", "running"));
    assert_false(gw_vm_state_allows("vm.suspend", "paused"));
    assert_true(gw_vm_state_allows("vm.resume", "paused"));
    assert_false(gw_vm_state_allows("vm.resume", "running"));
    assert_false(gw_vm_state_allows("vm.shutdown", "shutoff"));
    assert_true(gw_vm_state_allows("vm.destroy", "paused"));
    assert_false(gw_vm_state_allows("vm.destroy", "shutoff"));
    assert_true(gw_vm_state_allows("vm.save", "paused"));
    assert_true(gw_vm_state_allows("vm.restore", "shutoff"));
    assert_false(gw_vm_state_allows("vm.delete", "running"));
    assert_true(gw_vm_state_allows("vm.delete", "shutoff"));
    assert_false(gw_vm_state_allows("vm.migrate", "shutoff"));
    /* "paused" must not match inside another word, nor an unknown state refuse anything */
    assert_false(gw_vm_state_allows("vm.reboot", "paused"));
    assert_true(gw_vm_state_allows("vm.start", "unknown"));
    assert_true(gw_vm_state_allows("vm.start", ""));
    assert_true(gw_vm_state_allows("vm.cdrom", "running"));
}

/* ---- a gateway_vm_get.lua answer built by hand ---- */

static redisReply *str(const char *s)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_STRING;
    r->str = strdup(s);
    r->len = strlen(s);
    return r;
}

static redisReply *num(long long n)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_INTEGER;
    r->integer = n;
    return r;
}

static redisReply *arr(size_t n, ...)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof(*r->element));
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        r->element[i] = va_arg(ap, redisReply *);
    va_end(ap);
    return r;
}

static void reply_free(redisReply *r)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static void test_vminfo_defined(void **state)
{
    (void)state;
    redisReply *r =
        arr(5,
            arr(8, str("project"), str("p1"), str("spec"), str("{\"name\":\"v1\",\"vcpus\":2}"),
                str("memory_mib"), str("256"), str("host"), str("h2")),
            arr(4, str("state"), str("running"), str("uuid"),
                str("6a7c1b4e-0000-4000-8000-000000000001")),
            str("h1"), num(1), arr(2, str("console1"), str("serial0")));
    gw_vminfo vi;
    vg_err err;
    assert_int_equal(gw_vminfo_parse(r, &vi, &err), VG_OK);
    assert_true(vi.defined);
    assert_true(vi.registered);
    assert_false(vi.adopted);
    assert_string_equal(vi.project, "p1");
    assert_string_equal(vi.host, "h1");
    assert_string_equal(vi.state, "running");
    assert_true(vi.host_up);
    assert_int_equal(vi.memory_mib, 256);
    const cJSON *spec = gw_vminfo_spec(&vi);
    assert_non_null(spec);
    assert_int_equal(cJSON_GetObjectItem(spec, "vcpus")->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(vi.consoles), 2);
    gw_vminfo_free(&vi);
    reply_free(r);
}

static void test_vminfo_unassigned_and_adopted(void **state)
{
    (void)state;
    redisReply *r = arr(5, arr(0), arr(2, str("state"), str("shutoff")), str("h1"), num(0), arr(0));
    gw_vminfo vi;
    vg_err err;
    assert_int_equal(gw_vminfo_parse(r, &vi, &err), VG_OK);
    assert_false(vi.defined);
    assert_true(vi.registered);
    assert_false(vi.host_up);
    assert_string_equal(vi.project, "");
    assert_null(gw_vminfo_spec(&vi));
    gw_vminfo_free(&vi);
    reply_free(r);

    r = arr(5, arr(6, str("project"), str("p"), str("adopted"), str("1"), str("spec"), str("{}")),
            arr(0), str(""), num(0), arr(0));
    assert_int_equal(gw_vminfo_parse(r, &vi, &err), VG_OK);
    assert_true(vi.adopted);
    assert_null(gw_vminfo_spec(&vi)); /* an adopted VM's spec never defines a domain */
    gw_vminfo_free(&vi);
    reply_free(r);

    r = arr(2, arr(0), arr(0));
    assert_int_equal(gw_vminfo_parse(r, &vi, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_INTERNAL);
    reply_free(r);
}

/* ---- parameter checks through the dispatcher's pure check ---- */

static int check(const char *method, const char *params, vg_err *err)
{
    gw_api_req req;
    int rc = gw_api_parse_http(method, params, strlen(params), &req, err);
    if (rc == VG_OK)
        rc = gw_api_check(&req, 0, err);
    gw_api_req_free(&req);
    return rc;
}

static void refused(const char *method, const char *params, const char *needle)
{
    vg_err err = {0};
    assert_int_equal(check(method, params, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    if (!strstr(err.msg, needle))
        fail_msg("%s %s: \"%s\" lacks \"%s\"", method, params, err.msg, needle);
}

static void test_checks(void **state)
{
    (void)state;
    vg_err err;
    assert_int_equal(check("vm.create", "{\"project\":\"p\",\"spec\":{}}", &err), VG_OK);
    refused("vm.create", "{\"project\":\"p\"}", "spec");
    refused("vm.create", "{\"project\":\"p\",\"spec\":[]}", "spec");
    refused("vm.create", "{\"spec\":{}}", "project");
    refused("vm.create", "{\"project\":\"p\",\"spec\":{},\"x\":1}", "unknown parameter");
    refused("vm.edit", "{\"vm\":\"a\",\"spec\":{\"name\":\"b\"}}", "renamed");
    assert_int_equal(check("vm.edit", "{\"vm\":\"a\",\"spec\":{\"name\":\"a\"}}", &err), VG_OK);
    refused("vm.clone", "{\"vm\":\"a\"}", "name");
    refused("vm.clone", "{\"vm\":\"a\",\"name\":\"../x\"}", "name");
    refused("vm.adopt", "{\"vm\":\"a\"}", "project");
    refused("vm.delete", "{\"vm\":\"a\",\"disks\":1}", "disks");
    refused("vm.start", "{}", "vm");
    refused("vm.start", "{\"vm\":\"a\",\"force\":true}", "unknown parameter");
    refused("vm.shutdown", "{\"vm\":\"a\",\"timeout_s\":0}", "timeout_s");
    refused("vm.shutdown", "{\"vm\":\"a\",\"timeout_s\":1.5}", "timeout_s");
    assert_int_equal(check("vm.shutdown", "{\"vm\":\"a\",\"timeout_s\":30}", &err), VG_OK);
    assert_int_equal(check("vm.cdrom", "{\"vm\":\"a\",\"media\":null}", &err), VG_OK);
    assert_int_equal(check("vm.cdrom", "{\"vm\":\"a\",\"media\":\"iso/x.iso\"}", &err), VG_OK);
    refused("vm.cdrom", "{\"vm\":\"a\"}", "media");
    refused("vm.cdrom", "{\"vm\":\"a\",\"media\":\"x.iso\"}", "pool/volume");
    refused("vm.cdrom", "{\"vm\":\"a\",\"media\":\"/x.iso\"}", "pool/volume");
    refused("vm.cdrom", "{\"vm\":\"a\",\"media\":\"a/b/c\"}", "pool/volume");
    refused("vm.cdrom", "{\"vm\":\"a\",\"media\":3}", "\"media\" must be a string, or null");
    refused("vm.migrate", "{\"vm\":\"a\"}", "host");
    refused("vm.xml", "{\"vm\":\"a\",\"inactive\":\"yes\"}", "inactive");
    refused("snapshot.create", "{\"vm\":\"a\"}", "name");
    refused("snapshot.create", "{\"vm\":\"a\",\"name\":\"s\",\"disk_only\":0}", "disk_only");
    refused("snapshot.delete", "{\"vm\":\"a\",\"name\":\"s\",\"children\":\"all\"}", "children");
    refused("snapshot.revert", "{\"vm\":\"a\",\"name\":\"s\",\"x\":1}", "unknown parameter");
    assert_int_equal(check("snapshot.list", "{\"vm\":\"a\"}", &err), VG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_table),
        cmocka_unit_test(test_vminfo_defined),
        cmocka_unit_test(test_vminfo_unassigned_and_adopted),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
