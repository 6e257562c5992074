/* gateway clientaddr: which address a request is logged and audited under (trusted_proxies,
 * config-gateway.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/clientaddr.h"

static const char *pick(const char *peer, const char *trusted, const char *real_ip, const char *xff)
{
    static char out[64];
    gw_clientaddr_pick(peer, trusted, real_ip, xff, out, sizeof(out));
    return out;
}

static void test_trusted_proxy_forwards(void **state)
{
    (void)state;
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", "192.0.2.5", NULL), "192.0.2.5");
    assert_string_equal(pick("::ffff:127.0.0.1", "10.0.0.1, 127.0.0.1", "2001:db8::7", NULL),
                        "2001:db8::7");
    /* Without X-Real-IP: the last X-Forwarded-For entry, the one the proxy appended. */
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", NULL, "6.6.6.6, 192.0.2.9"), "192.0.2.9");
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", NULL, " 192.0.2.10 "), "192.0.2.10");
}

/* Issue 16: a client must not choose the address it is audited under. */
static void test_untrusted_peer_headers_ignored(void **state)
{
    (void)state;
    assert_string_equal(pick("127.0.0.3", "127.0.0.1", "203.0.113.7", "203.0.113.7"), "127.0.0.3");
    assert_string_equal(pick("127.0.0.3", "", "203.0.113.7", NULL), "127.0.0.3");
    assert_string_equal(pick("127.0.0.3", NULL, "203.0.113.7", NULL), "127.0.0.3");
    /* A listed prefix is no match: exact addresses only. */
    assert_string_equal(pick("127.0.0.10", "127.0.0.1", "203.0.113.7", NULL), "127.0.0.10");
}

static void test_garbage_forwarded_ignored(void **state)
{
    (void)state;
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", "<script>", NULL), "127.0.0.1");
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", "", "unknown"), "127.0.0.1");
    assert_string_equal(pick("127.0.0.1", "127.0.0.1", "not an ip", "192.0.2.1"), "192.0.2.1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trusted_proxy_forwards),
        cmocka_unit_test(test_untrusted_peer_headers_ignored),
        cmocka_unit_test(test_garbage_forwarded_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
