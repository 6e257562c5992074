/* metcodec: metrics.query's answer from the records gateway_metrics_query.lua reads, decoded as
 * lib/prelude.lua encodes them (met_encode, met_unpack, met_rollup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/metcodec.h"
#include "vg_json.h"

#define SPREAD "[0,1,2,3,4,6,8,11,16,22,32,45,64,90,128,255]"

static cJSON *answer(const char *head, const unsigned char *recs, size_t len)
{
    vg_err err;
    cJSON *h = vg_json_parse(head, strlen(head), &err);
    assert_non_null(h);
    char *text = gw_metcodec_answer(h, recs, len, &err);
    cJSON_Delete(h);
    assert_non_null(text);
    cJSON *a = vg_json_parse(text, strlen(text), &err);
    free(text);
    assert_non_null(a);
    return a;
}

static const cJSON *values(const cJSON *a, const char *series, const char *stat)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "series"), series), stat);
}

static double at(const cJSON *arr, int i)
{
    return cJSON_GetArrayItem(arr, i)->valuedouble;
}

/* Two 1-minute records at their own step: codes decoded (cpu 1 + 2v, net log2 × 6), a series
 * with code 0 and a record of zeros are null. */
static void test_rollups_at_their_step(void **state)
{
    (void)state;
    unsigned char recs[36] = {0};
    /* record 0: cpu min/avg/max 21 41 61 (10, 20, 30 %), net avg 61 (2^10 - 1 = 1023 B/s) */
    recs[0] = 21, recs[1] = 41, recs[2] = 61, recs[9] = 61, recs[10] = 61, recs[11] = 61;
    /* record 1: only mem; record 2: nothing */
    recs[12 + 4] = 101;
    cJSON *a =
        answer("{\"tier\":\"m1\",\"step\":60,\"t0\":600,\"n\":3,\"tier_step\":60,\"w\":1,"
               "\"stats\":3,\"packed\":false,\"rec\":12,\"series\":[[\"cpu\",1],[\"net\",4]],"
               "\"spread\":" SPREAD "}",
               recs, sizeof(recs));
    assert_string_equal(cJSON_GetObjectItem(a, "tier")->valuestring, "m1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(a, "t")), 3);
    assert_true(at(cJSON_GetObjectItem(a, "t"), 2) == 720);
    assert_true(at(values(a, "cpu", "min"), 0) == 10 && at(values(a, "cpu", "avg"), 0) == 20 &&
                at(values(a, "cpu", "max"), 0) == 30);
    assert_true(at(values(a, "net", "avg"), 0) == 1023);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(values(a, "cpu", "avg"), 1)));
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(values(a, "net", "max"), 2)));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "series"), "mem"));
    cJSON_Delete(a);
}

/* Raw points (2-byte codes) combined two by two: min, mean, max; a missing point is left out. */
static void test_raw_points_combined_into_a_step(void **state)
{
    (void)state;
    unsigned char recs[32] = {0};
    recs[0] = 1000 >> 8, recs[1] = 1000 & 255; /* cpu 9.99 % */
    recs[8] = 3001 >> 8, recs[9] = 3001 & 255; /* cpu 30 % */
    recs[16] = 0, recs[17] = 2;                /* cpu 0.01 %; the fourth point is missing */
    cJSON *a = answer("{\"tier\":\"r10\",\"step\":20,\"t0\":100,\"n\":2,\"tier_step\":10,\"w\":2,"
                      "\"stats\":1,\"packed\":false,\"rec\":8,\"series\":[[\"cpu\",1]],"
                      "\"spread\":" SPREAD "}",
                      recs, sizeof(recs));
    assert_true(at(values(a, "cpu", "min"), 0) == 9.99 && at(values(a, "cpu", "max"), 0) == 30);
    assert_true(at(values(a, "cpu", "avg"), 0) == 20); /* (9.99 + 30) / 2 to 0.01 */
    assert_true(at(values(a, "cpu", "avg"), 1) == 0.01 && at(values(a, "cpu", "max"), 1) == 0.01);
    assert_true(at(cJSON_GetObjectItem(a, "t"), 1) == 120);
    cJSON_Delete(a);
}

/* A packed 1-hour record: avg and the spread nibbles into MET_SPREAD, min clamped at code 1. */
static void test_packed_hour(void **state)
{
    (void)state;
    unsigned char recs[8] = {41, 0x5f, 3, 0x90};
    cJSON *a = answer("{\"tier\":\"h1\",\"step\":3600,\"t0\":0,\"n\":1,\"tier_step\":3600,\"w\":1,"
                      "\"stats\":3,\"packed\":true,\"rec\":8,\"series\":[[\"cpu\",1],[\"mem\",2]],"
                      "\"spread\":" SPREAD "}",
                      recs, sizeof(recs));
    /* cpu avg 41 (20 %), min 41 - 6 = 35 (17 %), max 41 + 255 clamped to 255 (127 %) */
    assert_true(at(values(a, "cpu", "min"), 0) == 17 && at(values(a, "cpu", "avg"), 0) == 20 &&
                at(values(a, "cpu", "max"), 0) == 127);
    /* mem avg 3 (1 %), min 3 - 22 clamped to code 1 (0 %), max 3 + 0 */
    assert_true(at(values(a, "mem", "min"), 0) == 0 && at(values(a, "mem", "max"), 0) == 1);
    cJSON_Delete(a);
}

static void test_records_that_do_not_fit_their_head(void **state)
{
    (void)state;
    unsigned char recs[24] = {0};
    vg_err err;
    const char *head = "{\"tier\":\"m1\",\"step\":60,\"t0\":0,\"n\":3,\"tier_step\":60,\"w\":1,"
                       "\"stats\":3,\"packed\":false,\"rec\":12,\"series\":[[\"cpu\",1]],"
                       "\"spread\":" SPREAD "}";
    cJSON *h = vg_json_parse(head, strlen(head), &err);
    assert_null(gw_metcodec_answer(h, recs, sizeof(recs), &err));
    assert_int_equal(err.code, VG_E_INTERNAL);
    cJSON_Delete(h);
    const char *bad =
        "{\"tier\":\"m1\",\"step\":90,\"t0\":0,\"n\":1,\"tier_step\":60,\"w\":1,"
        "\"stats\":3,\"packed\":false,\"rec\":12,\"series\":[],\"spread\":" SPREAD "}";
    h = vg_json_parse(bad, strlen(bad), &err);
    assert_null(gw_metcodec_answer(h, recs, 12, &err));
    cJSON_Delete(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollups_at_their_step),
        cmocka_unit_test(test_raw_points_combined_into_a_step),
        cmocka_unit_test(test_packed_hour),
        cmocka_unit_test(test_records_that_do_not_fit_their_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
