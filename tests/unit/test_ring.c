/* vg_ring: absolute offsets, wrap-around, clamping and gaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_ring.h"

/* Reads [off, off+len) through vg_ring_peek, following the runs across the wrap point. */
static void read_all(const vg_ring *r, uint64_t off, size_t len, char *out)
{
    size_t got = 0;
    while (got < len) {
        const unsigned char *p;
        size_t n = vg_ring_peek(r, off + got, len - got, &p);
        assert_true(n > 0);
        memcpy(out + got, p, n);
        got += n;
    }
    out[got] = '\0';
}

static void test_init_rejects_zero_capacity(void **state)
{
    (void)state;
    vg_ring r;
    assert_int_equal(vg_ring_init(&r, 0, 0), VG_ERR);
    assert_null(r.buf);
}

static void test_empty_ring(void **state)
{
    (void)state;
    vg_ring r;
    assert_int_equal(vg_ring_init(&r, 8, 100), VG_OK);
    assert_int_equal(r.start, 100);
    assert_int_equal(r.end, 100);
    const unsigned char *p = (const unsigned char *)"x";
    assert_int_equal(vg_ring_peek(&r, 100, 8, &p), 0);
    assert_null(p);
    vg_ring_free(&r);
    assert_null(r.buf);
}

static void test_append_and_exact_offsets(void **state)
{
    (void)state;
    vg_ring r;
    char out[16];
    assert_int_equal(vg_ring_init(&r, 8, 1000), VG_OK);
    vg_ring_append(&r, "abc", 3);
    vg_ring_append(&r, "de", 2);
    assert_int_equal(r.start, 1000);
    assert_int_equal(r.end, 1005);
    read_all(&r, 1000, 5, out);
    assert_string_equal(out, "abcde");
    read_all(&r, 1003, 2, out);
    assert_string_equal(out, "de");
    /* max limits the run */
    const unsigned char *p;
    assert_int_equal(vg_ring_peek(&r, 1001, 2, &p), 2);
    assert_memory_equal(p, "bc", 2);
    /* off == end: nothing yet */
    assert_int_equal(vg_ring_peek(&r, 1005, 8, &p), 0);
    vg_ring_free(&r);
}

static void test_wrap_around(void **state)
{
    (void)state;
    vg_ring r;
    char out[16];
    assert_int_equal(vg_ring_init(&r, 8, 0), VG_OK);
    vg_ring_append(&r, "0123456", 7);
    vg_ring_append(&r, "789ab", 5); /* 12 bytes written into 8: keeps "456789ab" */
    assert_int_equal(r.start, 4);
    assert_int_equal(r.end, 12);
    read_all(&r, 4, 8, out);
    assert_string_equal(out, "456789ab");
    read_all(&r, 10, 2, out);
    assert_string_equal(out, "ab");
    vg_ring_free(&r);
}

static void test_peek_run_stops_at_wrap_point(void **state)
{
    (void)state;
    vg_ring r;
    assert_int_equal(vg_ring_init(&r, 8, 0), VG_OK);
    vg_ring_append(&r, "0123456789", 10); /* physical: 89234567, start 2, end 10 */
    const unsigned char *p;
    size_t n = vg_ring_peek(&r, 2, 100, &p);
    assert_int_equal(n, 6); /* offsets 2..7 sit at the end of the buffer */
    assert_memory_equal(p, "234567", 6);
    n = vg_ring_peek(&r, 8, 100, &p);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "89", 2);
    /* a run starting exactly at the wrap point begins at buf[0] */
    assert_ptr_equal(p, r.buf);
    /* outside [start, end) peeks nothing */
    assert_int_equal(vg_ring_peek(&r, 1, 100, &p), 0);
    assert_null(p);
    assert_int_equal(vg_ring_peek(&r, 11, 100, &p), 0);
    vg_ring_free(&r);
}

static void test_append_larger_than_capacity(void **state)
{
    (void)state;
    vg_ring r;
    char out[16];
    assert_int_equal(vg_ring_init(&r, 4, 0), VG_OK);
    vg_ring_append(&r, "xy", 2);
    vg_ring_append(&r, "abcdefghij", 10); /* only the last 4 bytes survive */
    assert_int_equal(r.end, 12);
    assert_int_equal(r.start, 8);
    read_all(&r, 8, 4, out);
    assert_string_equal(out, "ghij");
    /* exactly the capacity, at an unaligned position */
    vg_ring_append(&r, "k", 1);
    vg_ring_append(&r, "WXYZ", 4);
    assert_int_equal(r.start, 13);
    assert_int_equal(r.end, 17);
    read_all(&r, 13, 4, out);
    assert_string_equal(out, "WXYZ");
    vg_ring_free(&r);
}

static void test_clamp_and_gap(void **state)
{
    (void)state;
    vg_ring r;
    assert_int_equal(vg_ring_init(&r, 8, 0), VG_OK);
    vg_ring_append(&r, "0123456789abcdef", 16); /* start 8, end 16 */
    uint64_t off = 3;
    assert_int_equal(vg_ring_clamp(&r, &off), 5); /* [3, 8) lost */
    assert_int_equal(off, 8);
    off = 8;
    assert_int_equal(vg_ring_clamp(&r, &off), 0);
    assert_int_equal(off, 8);
    off = 12;
    assert_int_equal(vg_ring_clamp(&r, &off), 0);
    assert_int_equal(off, 12);
    off = 16;
    assert_int_equal(vg_ring_clamp(&r, &off), 0);
    assert_int_equal(off, 16);
    off = 1000; /* beyond end: moved back, no gap */
    assert_int_equal(vg_ring_clamp(&r, &off), 0);
    assert_int_equal(off, 16);
    vg_ring_free(&r);
}

static void test_reset_continues_offsets(void **state)
{
    (void)state;
    vg_ring r;
    char out[16];
    assert_int_equal(vg_ring_init(&r, 8, 0), VG_OK);
    vg_ring_append(&r, "hello", 5);
    vg_ring_reset(&r, 50);
    assert_int_equal(r.start, 50);
    assert_int_equal(r.end, 50);
    const unsigned char *p;
    assert_int_equal(vg_ring_peek(&r, 0, 8, &p), 0);
    uint64_t off = 2;
    assert_int_equal(vg_ring_clamp(&r, &off), 48);
    assert_int_equal(off, 50);
    vg_ring_append(&r, "worldwide", 9); /* 9 > 8: "orldwide" from 51 */
    assert_int_equal(r.start, 51);
    assert_int_equal(r.end, 59);
    read_all(&r, 51, 8, out);
    assert_string_equal(out, "orldwide");
    vg_ring_free(&r);
}

static void test_large_offsets(void **state)
{
    (void)state;
    vg_ring r;
    char out[16];
    uint64_t base = UINT64_C(0xfffffffff0); /* > 32 bits: offsets must stay 64-bit */
    assert_int_equal(vg_ring_init(&r, 5, base), VG_OK);
    vg_ring_append(&r, "abcdefg", 7);
    assert_true(r.end == base + 7);
    assert_true(r.start == base + 2);
    read_all(&r, base + 2, 5, out);
    assert_string_equal(out, "cdefg");
    vg_ring_free(&r);
}

/* Many small appends of varying size against a plain model of the stream. */
static void test_matches_model(void **state)
{
    (void)state;
    enum { CAP = 37, TOTAL = 5000 };
    static unsigned char model[TOTAL];
    vg_ring r;
    assert_int_equal(vg_ring_init(&r, CAP, 0), VG_OK);
    size_t written = 0;
    for (unsigned step = 1; written < TOTAL; step++) {
        size_t n = (step * 7) % 53;
        if (n > TOTAL - written)
            n = TOTAL - written;
        unsigned char chunk[64];
        for (size_t i = 0; i < n; i++)
            chunk[i] = model[written + i] = (unsigned char)((written + i) * 31 + 7);
        vg_ring_append(&r, chunk, n);
        written += n;
        assert_true(r.end == written);
        assert_true(r.start == (written > CAP ? written - CAP : 0));
        for (uint64_t off = r.start; off < r.end;) {
            const unsigned char *p;
            size_t got = vg_ring_peek(&r, off, 10, &p);
            assert_true(got > 0 && got <= 10);
            assert_memory_equal(p, model + off, got);
            off += got;
        }
    }
    vg_ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_zero_capacity),
        cmocka_unit_test(test_empty_ring),
        cmocka_unit_test(test_append_and_exact_offsets),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_peek_run_stops_at_wrap_point),
        cmocka_unit_test(test_append_larger_than_capacity),
        cmocka_unit_test(test_clamp_and_gap),
        cmocka_unit_test(test_reset_continues_offsets),
        cmocka_unit_test(test_large_offsets),
        cmocka_unit_test(test_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
