#include "core/vmpolicy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static vg_spec kernel_spec(const char *kernel, const char *initrd)
{
    vg_spec s;
    memset(&s, 0, sizeof(s));
    strcpy(s.name, "v1");
    strcpy(s.kernel, kernel);
    strcpy(s.initrd, initrd);
    return s;
}

static void test_admin_may_do_anything(void **state)
{
    (void)state;
    vg_spec s = kernel_spec("/etc/shadow", "");
    char raw[] = "<domain/>";
    s.raw_xml = raw;
    assert_int_equal(gw_vmpolicy_check(&s, 1, NULL, NULL), VG_OK);
}

static void test_raw_xml_needs_admin(void **state)
{
    (void)state;
    vg_spec s = kernel_spec("", "");
    char raw[] = "<domain/>";
    s.raw_xml = raw;
    vg_err err;
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/boot", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_FORBIDDEN);
    assert_non_null(strstr(err.msg, "raw_xml"));
}

static void test_boot_dirs(void **state)
{
    (void)state;
    vg_err err;
    vg_spec s = kernel_spec("/srv/guests/vmlinuz", "/srv/guests/initrd.gz");
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/boot,/srv/guests/", &err), VG_OK);
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/srv/guests", &err), VG_OK);
    /* a sibling whose name starts like the directory is not inside it */
    s = kernel_spec("/srv/guests-evil/vmlinuz", "");
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/srv/guests", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_FORBIDDEN);
    /* the directory itself is not a kernel */
    s = kernel_spec("/srv/guests/", "");
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/srv/guests", &err), VG_ERR);
    /* initrd checked too */
    s = kernel_spec("/boot/vmlinuz", "/etc/initrd");
    assert_int_equal(gw_vmpolicy_check(&s, 0, "/boot", &err), VG_ERR);
    assert_non_null(strstr(err.msg, "initrd"));
    /* no boot_dirs: direct kernel boot is for administrators only */
    s = kernel_spec("/boot/vmlinuz", "");
    assert_int_equal(gw_vmpolicy_check(&s, 0, "", &err), VG_ERR);
    assert_int_equal(gw_vmpolicy_check(&s, 0, NULL, &err), VG_ERR);
    /* relative entries in boot_dirs never match */
    assert_int_equal(gw_vmpolicy_check(&s, 0, "boot", &err), VG_ERR);
    /* a spec without kernel boot passes */
    s = kernel_spec("", "");
    assert_int_equal(gw_vmpolicy_check(&s, 0, NULL, &err), VG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_may_do_anything),
        cmocka_unit_test(test_raw_xml_needs_admin),
        cmocka_unit_test(test_boot_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
