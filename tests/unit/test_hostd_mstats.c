/* mstats: a metrics round from libvirt's domain stats, the rates between two rounds, and the
 * /proc parsers of the host's counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libvirt/libvirt.h>
#include <string.h>

#include "metrics/mstats.h"
#include "vg_json.h"

static const char *round1 =
    "[{\"name\":\"b\",\"p\":{\"state.state\":5}},"
    "{\"name\":\"a\",\"p\":{\"state.state\":1,\"cpu.time\":1000000000,\"vcpu.current\":2,"
    "\"balloon.current\":1048576,\"balloon.available\":1000000,\"balloon.unused\":750000,"
    "\"block.count\":1,\"block.0.name\":\"vda\",\"block.0.rd.bytes\":1000,\"block.0.wr.bytes\":0,"
    "\"block.0.rd.reqs\":10,\"block.0.wr.reqs\":0,\"net.count\":1,\"net.0.name\":\"vnet0\","
    "\"net.0.rx.bytes\":500,\"net.0.tx.bytes\":500,\"net.0.rx.pkts\":5,\"net.0.tx.pkts\":5}}]";
static const char *round2 =
    "[{\"name\":\"a\",\"p\":{\"state.state\":1,\"cpu.time\":11000000000,\"vcpu.current\":2,"
    "\"balloon.current\":1048576,\"block.count\":1,\"block.0.name\":\"vda\","
    "\"block.0.rd.bytes\":101000,\"block.0.wr.bytes\":50000,\"block.0.rd.reqs\":110,"
    "\"block.0.wr.reqs\":50,\"net.count\":1,\"net.0.name\":\"vnet0\",\"net.0.rx.bytes\":10500,"
    "\"net.0.tx.bytes\":500,\"net.0.rx.pkts\":105,\"net.0.tx.pkts\":5}}]";

static void parse(const char *text, mstats_round *r)
{
    vg_err err;
    cJSON *j = vg_json_parse(text, strlen(text), &err);
    assert_non_null(j);
    assert_int_equal(hd_mstats_parse(j, r, &err), VG_OK);
    cJSON_Delete(j);
}

static double series(const cJSON *t, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(t, "s"), i)->valuedouble;
}

static void test_rates_between_rounds(void **state)
{
    (void)state;
    mstats_round r1, r2;
    parse(round1, &r1);
    parse(round2, &r2);
    assert_int_equal(r1.n, 2);
    assert_string_equal(r1.vms[0].name, "a"); /* sorted */
    assert_false(hd_mstats_active(hd_mstats_find(&r1, "b")));
    const mstats_vm *a1 = hd_mstats_find(&r1, "a"), *a2 = hd_mstats_find(&r2, "a");
    assert_non_null(a1);
    assert_true(a1->mem_used == 250000 && a1->mem_total == 1000000); /* guest-reported */
    assert_true(a2->mem_used == 1048576);                            /* balloon size */
    /* 10 s of CPU in 10 s over 2 vCPUs: 50 %; 100000+50000 disk bytes in 10 s; 10000 rx. */
    cJSON *t = hd_mstats_vm_target(a2, a1, 10.0, "h1");
    assert_non_null(t);
    assert_true(series(t, 0) > 49.99 && series(t, 0) < 50.01);
    assert_true(series(t, 1) > 99.99);
    assert_true(series(t, 2) > 14999.9 && series(t, 2) < 15000.1);
    assert_true(series(t, 3) > 999.9 && series(t, 3) < 1000.1);
    const cJSON *l = cJSON_GetObjectItem(t, "l");
    assert_string_equal(cJSON_GetObjectItem(l, "host")->valuestring, "h1");
    assert_string_equal(cJSON_GetObjectItem(l, "disk_rd_iops")->valuestring, "10.00");
    assert_non_null(strstr(cJSON_GetObjectItem(l, "disks")->valuestring, "\"vda\""));
    cJSON_Delete(t);
    /* The first round (no previous one) has no rates; a counter that went back gives 0. */
    t = hd_mstats_vm_target(a1, NULL, 0, "h1");
    assert_true(series(t, 0) == 0 && series(t, 2) == 0);
    cJSON_Delete(t);
    t = hd_mstats_vm_target(a1, a2, 10.0, "h1");
    assert_true(series(t, 0) == 0 && series(t, 3) == 0);
    cJSON_Delete(t);
    hd_mstats_free(&r1);
    hd_mstats_free(&r2);
}

static void test_malformed_stats_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"{}", "[1]", "[{\"name\":\"a\"}]", "[{\"p\":{}}]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vg_err err;
        mstats_round r;
        cJSON *j = vg_json_parse(bad[i], strlen(bad[i]), &err);
        assert_int_equal(hd_mstats_parse(j, &r, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_null(r.vms);
        cJSON_Delete(j);
    }
}

static int whole(const char *name)
{
    return strcmp(name, "sda1") != 0;
}

static void test_proc_parsers(void **state)
{
    (void)state;
    vg_err err;
    mstats_host h;
    assert_int_equal(hd_mstats_parse_loadavg("0.50 1.25 2.00 1/123 4567\n", &h, &err), VG_OK);
    assert_true(h.load1 == 0.5 && h.load5 == 1.25 && h.load15 == 2.0);
    assert_int_equal(hd_mstats_parse_loadavg("x\n", &h, &err), VG_ERR);
    double bytes;
    const char *ds = "   8       0 sda 10 0 4 0 20 0 6 0 0 0 0\n"
                     "   8       1 sda1 10 0 4 0 20 0 6 0 0 0 0\n";
    assert_int_equal(hd_mstats_parse_diskstats(ds, whole, &bytes, &err), VG_OK);
    assert_true(bytes == 10 * 512.0); /* the partition is not counted twice */
    assert_int_equal(hd_mstats_parse_diskstats("8 0 sda x\n", whole, &bytes, &err), VG_ERR);
    mstats_host a = {.cpu_busy = 100,
                     .cpu_total = 1000,
                     .mem_total_kib = 1000,
                     .mem_avail_kib = 250,
                     .net_bytes = 0},
                b = {.cpu_busy = 350,
                     .cpu_total = 2000,
                     .mem_total_kib = 1000,
                     .mem_avail_kib = 250,
                     .net_bytes = 2000};
    cJSON *t = hd_mstats_host_target(&b, &a, 2.0, NULL);
    assert_true(series(t, 0) == 25 && series(t, 1) == 75 && series(t, 3) == 1000);
    cJSON_Delete(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rates_between_rounds),
        cmocka_unit_test(test_malformed_stats_are_refused),
        cmocka_unit_test(test_proc_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
