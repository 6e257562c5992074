/* state: the per-console offsets file and the console directory naming convention. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/consdir.h"
#include "console/state.h"

static void test_parse(void **state)
{
    (void)state;
    console_state st;
    vg_err err;
    const char *good = "inode=42 base=1000 end=5000\n";
    assert_int_equal(hd_state_parse(good, strlen(good), &st, &err), VG_OK);
    assert_int_equal(st.inode, 42);
    assert_int_equal(st.base, 1000);
    assert_int_equal(st.end, 5000);
    assert_int_equal(st.prev, 0); /* a file from before prev existed */
    const char *withprev = "inode=42 base=1000 end=5000 prev=41\n";
    assert_int_equal(hd_state_parse(withprev, strlen(withprev), &st, &err), VG_OK);
    assert_int_equal(st.prev, 41);
    assert_int_equal(st.end, 5000);
    const char *bad[] = {"",
                         "inode=1 base=2 end=3 prev=",
                         "inode=1 base=2 end=3 prev=x",
                         "inode=1 base=2 end=3 prev=4 junk",
                         "inode=1",
                         "inode=1 base=2 end=x",
                         "inode=1 base=9 end=3",
                         "inode=1 base=2 end=3 junk",
                         "base=1 inode=2 end=3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hd_state_parse(bad[i], strlen(bad[i]), &st, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_int_equal(st.end, 0);
    }
}

static void test_save_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-test-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/vm-serial0.state", dir);
    console_state st = {.inode = 7, .base = 1ULL << 40, .end = (1ULL << 40) + 5, .prev = 6}, got;
    vg_err err;
    assert_int_equal(hd_state_load(path, &got, &err), VG_OK); /* missing: a fresh start */
    assert_int_equal(got.end, 0);
    assert_int_equal(hd_state_save(path, &st, &err), VG_OK);
    assert_int_equal(hd_state_load(path, &got, &err), VG_OK);
    assert_memory_equal(&st, &got, sizeof(st));
    unlink(path);
    rmdir(dir);
}

static void test_consdir_names(void **state)
{
    (void)state;
    dir_socket s;
    assert_int_equal(hd_consdir_parse_name("com-demo1.sock", &s), 1);
    assert_string_equal(s.vm, "demo1");
    assert_string_equal(s.dev, "serial0");
    assert_int_equal(hd_consdir_parse_name("hvc-web-01.sock", &s), 1);
    assert_string_equal(s.vm, "web-01");
    assert_string_equal(s.dev, "console1");
    assert_int_equal(hd_consdir_parse_name("cloud-demo1.sock", &s), 1);
    assert_string_equal(s.dev, "cloud");
    const char *bad[] = {"com-demo1.log",    "demo1.sock",   "-demo1.sock", "com-.sock",
                         "com-.hidden.sock", "com-a b.sock", ".sock",       "com-demo1.sock.0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hd_consdir_parse_name(bad[i], &s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_consdir_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
