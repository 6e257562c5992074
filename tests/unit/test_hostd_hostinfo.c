/* hostinfo: the /proc parsers behind capacity and load (fixtures in data/hostd/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/hostinfo.h"

static char *fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/hostd/%s", VG_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_stat(void **state)
{
    (void)state;
    hostinfo_cpu cpu;
    vg_err err;
    assert_int_equal(hd_hostinfo_parse_stat(fixture("proc-stat.txt"), &cpu, &err), VG_OK);
    assert_int_equal(cpu.total, 10000);
    assert_int_equal(cpu.busy, 1500); /* idle 8000 and iowait 500 are not busy */
    assert_int_equal(hd_hostinfo_parse_stat("intr 1 2 3\n", &cpu, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_int_equal(hd_hostinfo_parse_stat("cpu  1 2\n", &cpu, &err), VG_ERR);
    assert_int_equal(hd_hostinfo_parse_stat("", &cpu, &err), VG_ERR);
}

static void test_meminfo(void **state)
{
    (void)state;
    long long total, avail;
    vg_err err;
    assert_int_equal(hd_hostinfo_parse_meminfo(fixture("proc-meminfo.txt"), &total, &avail, &err),
                     VG_OK);
    assert_int_equal(total, 24576000);
    assert_int_equal(avail, 18432000);
    assert_int_equal(hd_hostinfo_parse_meminfo("MemFree: 5 kB\n", &total, &avail, &err), VG_ERR);
    assert_int_equal(
        hd_hostinfo_parse_meminfo("MemTotal: 5 kB\nMemAvailable: 9 kB\n", &total, &avail, &err),
        VG_ERR);
    /* A field name that only starts like the wanted one does not count. */
    assert_int_equal(
        hd_hostinfo_parse_meminfo("MemTotalX: 5 kB\nMemAvailable: 1 kB\n", &total, &avail, &err),
        VG_ERR);
}

static void test_netdev(void **state)
{
    (void)state;
    unsigned long long bytes;
    vg_err err;
    assert_int_equal(hd_hostinfo_parse_netdev(fixture("proc-netdev.txt"), &bytes, &err), VG_OK);
    assert_int_equal(bytes, 1000000 + 250000 + 500 + 500); /* lo left out */
    assert_int_equal(hd_hostinfo_parse_netdev("Inter-|\n face |\n", &bytes, &err), VG_ERR);
    assert_int_equal(hd_hostinfo_parse_netdev("h\nh\n eth0: 1 2 3\n", &bytes, &err), VG_ERR);
}

static void test_sample(void **state)
{
    (void)state;
    hostinfo h;
    vg_err err;
    const char *paths[] = {"/", "/", "/nonexistent", NULL};
    assert_int_equal(hd_hostinfo_sample(paths, "/tmp", &h, &err), VG_OK);
    assert_true(h.cpus >= 1);
    assert_true(h.mem_mib > 0);
    assert_true(h.disk_mib > 0);
    assert_true(h.mem_pct > 0 && h.mem_pct <= 100);
    long long root = h.disk_mib;
    assert_int_equal(hd_hostinfo_sample(NULL, "/", &h, &err), VG_OK);
    assert_int_equal(h.disk_mib, root); /* "/" twice counts once; the fallback is the same */
    assert_true(h.cpu_pct >= 0 && h.cpu_pct <= 100);
    assert_true(h.net_mbps >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_netdev),
        cmocka_unit_test(test_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
