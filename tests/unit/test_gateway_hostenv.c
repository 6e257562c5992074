/* gateway host, host group and environment methods: the parameter checks (docs/api.md "Hosts",
 * "Host groups", "Environments"): every documented shape passes, every wrong one is a
 * bad_request before anything runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* Requests are written with ' for " to stay readable. */
static int check(const char *text, vg_err *err)
{
    char *json = strdup(text);
    for (char *p = json; *p; p++)
        if (*p == '\'')
            *p = '"';
    gw_api_req req;
    int rc = gw_api_parse_ws(json, strlen(json), &req, err);
    if (rc == VG_OK)
        rc = gw_api_check(&req, 1, err);
    gw_api_req_free(&req);
    free(json);
    return rc;
}

static void expect_ok(const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vg_err err = {0};
        if (check(list[i], &err) != VG_OK)
            fail_msg("%s: %s", list[i], err.msg);
    }
}

static void expect_bad(const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vg_err err = {0};
        if (check(list[i], &err) != VG_ERR || err.code != VG_E_BAD_REQUEST || !err.msg[0])
            fail_msg("%s passed the check", list[i]);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_hosts(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{'method':'host.list'}",
        "{'method':'host.get','params':{'host':'h1'}}",
        "{'method':'host.set','params':{'host':'h1','maintenance':true}}",
        "{'method':'host.set','params':{'host':'h1','max_vcpus':0,'max_vm_memory_mib':4096}}",
        "{'method':'hostgroup.list'}",
        "{'method':'hostgroup.create','params':{'name':'g1'}}",
        "{'method':'hostgroup.create','params':{'name':'g1','description':'','hosts':[]}}",
        "{'method':'hostgroup.edit','params':{'name':'g1','hosts':['h1','h-2.b']}}",
        "{'method':'hostgroup.delete','params':{'name':'g1'}}",
    };
    static const char *const bad[] = {
        "{'method':'host.list','params':{'all':true}}",
        "{'method':'host.get'}",
        "{'method':'host.get','params':{'host':7}}",
        "{'method':'host.get','params':{'host':'../h'}}",
        "{'method':'host.set','params':{'host':'h1'}}",
        "{'method':'host.set','params':{'maintenance':true}}",
        "{'method':'host.set','params':{'host':'h1','maintenance':1}}",
        "{'method':'host.set','params':{'host':'h1','max_vcpus':-1}}",
        "{'method':'host.set','params':{'host':'h1','max_vcpus':1.5}}",
        "{'method':'host.set','params':{'host':'h1','max_vm_memory_mib':'4096'}}",
        "{'method':'host.set','params':{'host':'h1','maintenance':true,'cpus':4}}",
        "{'method':'hostgroup.create','params':{}}",
        "{'method':'hostgroup.create','params':{'name':'a b'}}",
        "{'method':'hostgroup.create','params':{'name':'g1','hosts':'h1'}}",
        "{'method':'hostgroup.create','params':{'name':'g1','hosts':[1]}}",
        "{'method':'hostgroup.create','params':{'name':'g1','hosts':['']}}",
        "{'method':'hostgroup.create','params':{'name':'g1','description':5}}",
        "{'method':'hostgroup.edit','params':{'name':'g1','members':[]}}",
        "{'method':'hostgroup.delete','params':{'name':null}}",
        "{'method':'hostgroup.delete','params':{'name':'g1','force':true}}",
    };
    expect_ok(ok, N(ok));
    expect_bad(bad, N(bad));
}

static void test_environments(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{'method':'env.list'}",
        "{'method':'env.get','params':{'env':'shop'}}",
        "{'method':'env.create','params':{'project':'p1','name':'shop'}}",
        "{'method':'env.create','params':{'project':'p1','name':'shop','description':'x'}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{}}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{'web1':'web','db1':'db'}}}",
        "{'method':'env.edit','params':{'env':'shop','description':'the shop'}}",
        "{'method':'env.delete','params':{'env':'shop'}}",
        "{'method':'env.start','params':{'env':'shop'}}",
        "{'method':'env.stop','params':{'env':'shop'}}",
        "{'method':'env.stop','params':{'env':'shop','timeout_s':30}}",
        "{'method':'env.reboot','params':{'env':'shop'}}",
        "{'method':'env.status','params':{'env':'shop'}}",
    };
    static const char *const bad[] = {
        "{'method':'env.list','params':{'project':'p1'}}",
        "{'method':'env.create','params':{'project':'p1'}}",
        "{'method':'env.create','params':{'project':'p1','name':['x']}}",
        "{'method':'env.create','params':{'project':'p1','name':'shop','color':1}}",
        "{'method':'env.create','params':{'project':'p1','name':'shop','description':1}}",
        "{'method':'env.edit','params':{'env':'shop','vms':['web1']}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{'web1':1}}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{'web1':'a b'}}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{'../x':'web'}}}",
        "{'method':'env.edit','params':{'env':'shop','vms':{'web1':''}}}",
        "{'method':'env.stop','params':{'env':'shop','force':true}}",
        "{'method':'env.stop','params':{'env':'shop','timeout_s':0}}",
        "{'method':'env.start','params':{'env':'shop','timeout_s':30}}",
        "{'method':'env.status','params':{'env':'shop','timeout_ms':1}}",
    };
    expect_ok(ok, N(ok));
    expect_bad(bad, N(bad));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_environments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
