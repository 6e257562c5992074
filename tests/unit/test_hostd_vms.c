/* vms: the union of libvirt's domains and the console directory, and the name filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt/vms.h"

static char dir[] = "/tmp/vg-test-vms-XXXXXX";
static console_config cfg;
static int changes;

static void changed(void)
{
    changes++;
}

static void add_console(vm_entry *e, const char *dev, const char *file)
{
    domxml_console *c = &e->info.cons[e->info.ncons++];
    snprintf(c->dev, sizeof(c->dev), "%s", dev);
    snprintf(c->kind, sizeof(c->kind), "serial");
    snprintf(c->path, sizeof(c->path), "%s/%s", dir, file);
}

static size_t count_vms(void)
{
    size_t n = 0;
    for (vms_vm *v = hd_vms_first(); v; v = hd_vms_next(v))
        n++;
    return n;
}

static void test_union_and_removal(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    cfg = (console_config){.loop = ev_default_loop(0), .ring_size = 4096, .state_dir = dir};
    hd_console_configure(&cfg);
    hd_vms_set_changed_cb(changed);
    vg_err err;
    assert_int_equal(hd_vms_set_filter("demo*,web", &err), VG_OK);

    vm_entry *e = calloc(3, sizeof(*e));
    snprintf(e[0].info.name, sizeof(e[0].info.name), "demo1");
    snprintf(e[0].info.uuid, sizeof(e[0].info.uuid), "u-1");
    e[0].state = "running";
    add_console(&e[0], "serial0", "com-demo1.sock");
    add_console(&e[0], "console1", "hvc-demo1.sock");
    snprintf(e[1].info.name, sizeof(e[1].info.name), "other"); /* filtered out */
    e[1].state = "running";
    add_console(&e[1], "serial0", "com-other.sock");
    hd_vms_sync_virt(e, 2);
    assert_int_equal(count_vms(), 1);
    assert_non_null(hd_vms_console("demo1", "serial0"));
    assert_non_null(hd_vms_console("demo1", "console1"));
    assert_null(hd_vms_console("other", "serial0"));

    /* The directory names demo1's socket again (same path: same console) and a VM libvirt
     * does not know. */
    dir_socket d[2];
    memset(d, 0, sizeof(d));
    snprintf(d[0].vm, sizeof(d[0].vm), "demo1");
    snprintf(d[0].dev, sizeof(d[0].dev), "serial0");
    snprintf(d[0].path, sizeof(d[0].path), "%s/com-demo1.sock", dir);
    snprintf(d[1].vm, sizeof(d[1].vm), "demo2");
    snprintf(d[1].dev, sizeof(d[1].dev), "serial0");
    snprintf(d[1].path, sizeof(d[1].path), "%s/com-demo2.sock", dir);
    int before = changes;
    hd_vms_sync_dir(d, 2);
    assert_true(changes > before);
    assert_int_equal(count_vms(), 2);
    for (vms_vm *v = hd_vms_first(); v; v = hd_vms_next(v)) {
        if (strcmp(hd_vms_name(v), "demo1") == 0) {
            assert_int_equal(hd_vms_nconsoles(v), 2);
            assert_string_equal(hd_vms_state(v), "running");
            assert_string_equal(hd_vms_uuid(v), "u-1");
        } else {
            assert_int_equal(hd_vms_nconsoles(v), 1);
            assert_string_equal(hd_vms_state(v), "unknown");
        }
    }

    /* libvirt forgets demo1: its socket in the directory keeps it as a convention console. */
    hd_vms_sync_virt(e, 0);
    assert_int_equal(count_vms(), 2);
    assert_non_null(hd_vms_console("demo1", "serial0"));
    assert_null(hd_vms_console("demo1", "console1"));
    hd_vms_sync_dir(d, 0);
    assert_int_equal(count_vms(), 0);

    hd_vms_free_all();
    free(e);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_filter_refusal(void **state)
{
    (void)state;
    vg_err err;
    assert_int_equal(hd_vms_set_filter("", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_int_equal(hd_vms_set_filter("*", &err), VG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_union_and_removal),
        cmocka_unit_test(test_filter_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
