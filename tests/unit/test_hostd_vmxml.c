/* vmxml: the migration rewrite of console paths, the disks undefine may delete, CD-ROM media
 * documents, volumes and snapshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "libvirt/vmxml.h"

static const char *domain =
    "<domain type='qemu'><name>v1</name><devices>"
    "<disk type='file' device='disk'><source file='/pool/v1-disk0.qcow2'/>"
    "<target dev='vda' bus='virtio'/></disk>"
    "<disk type='volume' device='disk'><source pool='p2' volume='data.raw'/>"
    "<target dev='vdb' bus='virtio'/></disk>"
    "<disk type='file' device='cdrom'><source file='/pool/tools.iso'/>"
    "<target dev='sda' bus='sata'/><readonly/></disk>"
    "<disk type='block' device='disk'><source dev='/dev/vg/lv'/><target dev='vdc'/></disk>"
    "<serial type='unix'><source mode='bind' path='/run/h1/consoles/com-v1.sock'/>"
    "<log file='/run/h1/consoles/com-v1.log' append='on'/><target port='0'/></serial>"
    "<channel type='unix'><source mode='bind' path='/run/h1/consoles/sub/chn-v1.sock'/></channel>"
    "<console type='unix'><source mode='bind' path='/run/h1/consolesX/hvc-v1.sock'/></console>"
    "</devices></domain>";

static void test_rewrite(void **state)
{
    (void)state;
    vg_err err;
    char *x = hd_vmxml_rewrite_dir(domain, "/run/h1/consoles/", "/run/h2/consoles", &err);
    assert_non_null(x);
    assert_non_null(strstr(x, "path=\"/run/h2/consoles/com-v1.sock\""));
    assert_non_null(strstr(x, "file=\"/run/h2/consoles/com-v1.log\""));
    /* Only files directly in the directory move; look-alike directories and the disks stay. */
    assert_non_null(strstr(x, "/run/h1/consoles/sub/chn-v1.sock"));
    assert_non_null(strstr(x, "/run/h1/consolesX/hvc-v1.sock"));
    assert_non_null(strstr(x, "/pool/v1-disk0.qcow2"));
    assert_null(strstr(x, "/run/h1/consoles/com-"));
    free(x);
    assert_null(hd_vmxml_rewrite_dir(domain, "/run/h1/consoles", "relative", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_null(hd_vmxml_rewrite_dir("<domain", "/a", "/b", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

static void test_disks(void **state)
{
    (void)state;
    vg_err err;
    vmxml_disk d[4];
    size_t n;
    assert_int_equal(hd_vmxml_disks(domain, d, 4, &n, &err), VG_OK);
    assert_int_equal(n, 3); /* the CD-ROM is not a disk to delete */
    assert_string_equal(d[0].file, "/pool/v1-disk0.qcow2");
    assert_string_equal(d[1].pool, "p2");
    assert_string_equal(d[1].volume, "data.raw");
    assert_string_equal(d[1].file, "");
    assert_string_equal(d[2].file, "/dev/vg/lv");
    assert_int_equal(hd_vmxml_disks(domain, d, 2, &n, &err), VG_ERR);
    assert_int_equal(hd_vmxml_disks("<pool/>", d, 4, &n, &err), VG_ERR);
    assert_int_equal(hd_vmxml_disks("<domain><name>x</name></domain>", d, 4, &n, &err), VG_OK);
    assert_int_equal(n, 0);

    char dev[16], bus[16];
    assert_int_equal(hd_vmxml_cdrom(domain, dev, sizeof(dev), bus, sizeof(bus), &err), VG_OK);
    assert_string_equal(dev, "sda");
    assert_string_equal(bus, "sata");
    assert_int_equal(
        hd_vmxml_cdrom("<domain><devices/></domain>", dev, sizeof(dev), bus, sizeof(bus), &err),
        VG_ERR);
    assert_int_equal(err.code, VG_E_NOT_FOUND);
}

static void test_documents(void **state)
{
    (void)state;
    vg_err err;
    char *x = hd_vmxml_cdrom_device("sda", "sata", "/pool/a'b&c.iso", &err);
    assert_non_null(strstr(x, "file=\"/pool/a'b&amp;c.iso\""));
    assert_non_null(strstr(x, "<target dev=\"sda\" bus=\"sata\"/>"));
    free(x);
    x = hd_vmxml_cdrom_device("hdc", "ide", NULL, &err);
    assert_null(strstr(x, "<source"));
    free(x);

    x = hd_vmxml_volume("v1-disk0.qcow2", 64, "qcow2", "/pool/base <1>.qcow2", "raw", &err);
    assert_non_null(strstr(x, "<capacity unit=\"MiB\">64</capacity>"));
    assert_non_null(strstr(x, "<path>/pool/base &lt;1&gt;.qcow2</path>"));
    assert_non_null(strstr(x, "<backingStore>"));
    free(x);
    x = hd_vmxml_volume("v1-disk1.raw", 8, "raw", NULL, NULL, &err);
    assert_null(strstr(x, "backingStore"));
    free(x);

    char fmt[16];
    assert_int_equal(hd_vmxml_volume_format("<volume><target><format type='qcow2'/></target>"
                                            "</volume>",
                                            fmt, sizeof(fmt), &err),
                     VG_OK);
    assert_string_equal(fmt, "qcow2");
    assert_int_equal(hd_vmxml_volume_format("<volume><target/></volume>", fmt, sizeof(fmt), &err),
                     VG_OK);
    assert_string_equal(fmt, "raw");

    char path[64];
    assert_int_equal(hd_vmxml_volume_backing("<volume><backingStore><path>/p/base.qcow2</path>"
                                             "</backingStore></volume>",
                                             path, sizeof(path), &err),
                     VG_OK);
    assert_string_equal(path, "/p/base.qcow2");
    assert_int_equal(hd_vmxml_volume_backing("<volume/>", path, sizeof(path), &err), VG_OK);
    assert_string_equal(path, "");
    assert_int_equal(hd_vmxml_pool_path("<pool><target><path>/srv/p</path></target></pool>", path,
                                        sizeof(path), &err),
                     VG_OK);
    assert_string_equal(path, "/srv/p");
    assert_int_equal(hd_vmxml_pool_path("<pool/>", path, sizeof(path), &err), VG_OK);
    assert_string_equal(path, "");
}

static void test_snapshot(void **state)
{
    (void)state;
    vg_err err;
    char *x = hd_vmxml_snapshot_doc("s1", "before <upgrade> & \"reboot\"", &err);
    assert_non_null(strstr(x, "<name>s1</name>"));
    assert_non_null(strstr(x, "&lt;upgrade&gt; &amp;"));
    free(x);
    x = hd_vmxml_snapshot_doc("s2", NULL, &err);
    assert_null(strstr(x, "description"));
    free(x);

    vmxml_snapshot s;
    assert_int_equal(hd_vmxml_snapshot_parse("<domainsnapshot><name>s1</name><state>running</state>"
                                             "<creationTime>1763800000</creationTime>"
                                             "<memory snapshot='internal'/><disks><disk name='vda' "
                                             "snapshot='internal'/></disks></domainsnapshot>",
                                             &s, &err),
                     VG_OK);
    assert_string_equal(s.state, "running");
    assert_int_equal(s.created_s, 1763800000);
    assert_false(s.external);
    assert_int_equal(hd_vmxml_snapshot_parse("<domainsnapshot><state>disk-snapshot</state>"
                                             "<memory snapshot='no'/><disks><disk name='vda' "
                                             "snapshot='external'/></disks></domainsnapshot>",
                                             &s, &err),
                     VG_OK);
    assert_true(s.external);
    assert_int_equal(hd_vmxml_snapshot_parse("<domain/>", &s, &err), VG_ERR);
}

/* The subnets hostd compares a new network's against: prefix or netmask, both families. */
static void test_net_subnets(void **state)
{
    (void)state;
    const char *xml = "<network><name>n</name><ip address='192.168.122.1' netmask='255.255.255.0'>"
                      "<dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip>"
                      "<ip family='ipv6' address='fd00:1::1' prefix='64'/>"
                      "<ip address='10.0.0.1' netmask='255.0.255.0'/></network>";
    vmxml_subnet subs[4];
    size_t n = 0;
    vg_err err;
    assert_int_equal(hd_vmxml_net_subnets(xml, subs, 4, &n, &err), VG_OK);
    assert_int_equal(n, 2); /* a non-contiguous netmask is no subnet */
    assert_int_equal(subs[0].prefix, 24);
    assert_false(subs[0].addr.v6);
    assert_int_equal(subs[1].prefix, 64);
    assert_true(subs[1].addr.v6);
    vg_ip a;
    int p;
    assert_true(vg_cidr_parse("192.168.122.128/25", &a, &p));
    assert_true(vg_ip_overlap(&subs[0].addr, subs[0].prefix, &a, p));
    assert_int_equal(hd_vmxml_net_subnets("<network/>", subs, 4, &n, &err), VG_OK);
    assert_int_equal(n, 0);
    assert_int_equal(hd_vmxml_net_subnets("<network", subs, 4, &n, &err), VG_ERR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrite),     cmocka_unit_test(test_disks),
        cmocka_unit_test(test_documents),   cmocka_unit_test(test_snapshot),
        cmocka_unit_test(test_net_subnets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
