/* mround: a domain's stats record as the metrics worker turns it into JSON (the fields the
 * round uses, with libvirt's types), and a round made into hostd_metrics_write.lua payloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/round.h"
#include "vg_json.h"

static void test_domain_keeps_the_fields_the_round_uses(void **state)
{
    (void)state;
    virTypedParameterPtr p = NULL;
    int n = 0, max = 0;
    assert_int_equal(virInitialize(), 0);
    virTypedParamsAddInt(&p, &n, &max, "state.state", 1);
    virTypedParamsAddInt(&p, &n, &max, "state.reason", 1);
    virTypedParamsAddULLong(&p, &n, &max, "cpu.time", 123456789012ULL);
    virTypedParamsAddULLong(&p, &n, &max, "cpu.user", 5);
    virTypedParamsAddUInt(&p, &n, &max, "vcpu.current", 2);
    virTypedParamsAddInt(&p, &n, &max, "vcpu.0.state", 1);
    virTypedParamsAddString(&p, &n, &max, "block.0.name", "vda");
    virTypedParamsAddULLong(&p, &n, &max, "net.0.rx.bytes", 77);
    cJSON *d = hd_mround_domain("vgt-x", p, n);
    const cJSON *f = cJSON_GetObjectItem(d, "p");
    assert_string_equal(cJSON_GetObjectItem(d, "name")->valuestring, "vgt-x");
    assert_int_equal(cJSON_GetArraySize(f), 5);
    assert_true(cJSON_GetObjectItem(f, "cpu.time")->valuedouble == 123456789012.0);
    assert_int_equal(cJSON_GetObjectItem(f, "vcpu.current")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(f, "block.0.name")->valuestring, "vda");
    assert_null(cJSON_GetObjectItem(f, "state.reason"));
    assert_null(cJSON_GetObjectItem(f, "vcpu.0.state"));
    cJSON_Delete(d);
    virTypedParamsFree(p, n);
}

/* 250 running domains make three payloads of at most HD_MROUND_CHUNK VMs: the host in the
 * first, "last" in the third; a malformed answer changes nothing. */
static void test_round_in_chunks(void **state)
{
    (void)state;
    cJSON *answer = cJSON_CreateObject(), *doms = cJSON_AddArrayToObject(answer, "domains");
    for (int i = 0; i < 250; i++) {
        char name[32];
        snprintf(name, sizeof(name), "vgt-%03d", i);
        cJSON *d = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(d, "p");
        cJSON_AddStringToObject(d, "name", name);
        cJSON_AddNumberToObject(p, "state.state", 1);
        cJSON_AddItemToArray(doms, d);
    }
    hd_mround st = {0};
    char **out = NULL;
    int n = 0;
    vg_err err;
    assert_int_equal(hd_mround_next(&st, answer, 1000, 1700000000, "h1", &out, &n, &err), VG_OK);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        cJSON *c = vg_json_parse(out[i], strlen(out[i]), &err);
        assert_non_null(c);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "vms")), i < 2 ? 100 : 50);
        assert_true((cJSON_GetObjectItem(c, "host") != NULL) == (i == 0));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "last")) == (i == 2));
        assert_true(cJSON_GetObjectItem(c, "t")->valuedouble == 1700000000);
        cJSON_Delete(c);
        free(out[i]);
    }
    free(out);
    assert_int_equal(st.prev.n, 250);
    cJSON *bad = cJSON_Parse("{\"domains\":[{\"p\":{}}]}");
    assert_int_equal(hd_mround_next(&st, bad, 2000, 1700000010, "h1", &out, &n, &err), VG_ERR);
    assert_int_equal(st.prev.n, 250);
    assert_int_equal(st.prev_ms, 1000);
    cJSON_Delete(bad);
    cJSON_Delete(answer);
    hd_mround_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_keeps_the_fields_the_round_uses),
        cmocka_unit_test(test_round_in_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
