/* vmgate-hostd: holds every VM console of this host and serves them to gateways. */
#include "console/consdir.h"
#include "console/linemode.h"
#include "console/ringread.h"
#include "console/console.h"
#include "link/endpoint.h"
#include "metrics/collect.h"
#include "metrics/expo.h"
#include "recording/recorder.h"
#include "registry/registry.h"
#include "vg_bindaddr.h"
#include "vg_config.h"
#include "vg_log.h"
#include "vg_rsentinel.h"
#include "vg_util.h"
#include "libvirt/virt.h"
#include "libvirt/virt_ev.h"
#include "libvirt/vmops.h"
#include "storage/storage.h"
#include "libvirt/vms.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define SHUTDOWN_GRACE_S 2.0

static char *host_id, *redis_host, *redis_sentinels, *redis_master_name, *redis_password_file,
    *libvirt_uri, *console_dir, *state_dir, *link_bind, *link_url, *mgmt_addr, *tls_cert, *tls_key,
    *tls_ca, *link_secret_file, *laggard_policy, *scripts_dir, *log_level, *vm_filter, *migrate_uri,
    *pool_roots, *recording_dir, *metrics_bind, *metrics_token_file;
static long metrics_port, redis_port, link_port, heartbeat_ms, ring_size, link_insecure,
    recording_max_bytes, recording_total_bytes, recording_keep_s;

static const vg_opt opts[] = {
    {"host_id", VG_OPT_STR, NULL, "this host's id in the registry (default: the hostname)",
     &host_id},
    {"redis_host", VG_OPT_STR, "127.0.0.1", "Redis address", &redis_host},
    {"redis_port", VG_OPT_INT, "6390", "Redis port", &redis_port},
    {"redis_password_file", VG_OPT_STR, NULL, "file holding the Redis password (AUTH)",
     &redis_password_file},
    {"redis_sentinels", VG_OPT_STR, "",
     "Redis Sentinels host:port,... that name the master (set: redis_host/port unused)",
     &redis_sentinels},
    {"redis_master_name", VG_OPT_STR, "vmgate", "the master's name at the Sentinels",
     &redis_master_name},
    {"libvirt_uri", VG_OPT_STR, "qemu:///system", "libvirt connection URI", &libvirt_uri},
    {"migrate_uri", VG_OPT_STR, NULL,
     "libvirt URI other hosts migrate VMs to this host with (default: libvirt_uri)", &migrate_uri},
    {"console_dir", VG_OPT_STR, "/var/lib/vmgate/consoles",
     "directory of console sockets named <prefix>-<vm>.sock", &console_dir},
    {"state_dir", VG_OPT_STR, "/var/lib/vmgate/hostd-state", "where console offsets persist",
     &state_dir},
    {"pool_roots", VG_OPT_STR, "/var/lib/vmgate/pools",
     "comma-separated directories below which pool.create may put a pool's directory", &pool_roots},
    {"link_bind", VG_OPT_STR, "127.0.0.1", "address the link endpoint listens on", &link_bind},
    {"link_port", VG_OPT_INT, "7701", "port of the link endpoint", &link_port},
    {"link_url", VG_OPT_STR, NULL, "URL gateways use (default: wss://<link_bind>:<link_port>)",
     &link_url},
    {"mgmt_addr", VG_OPT_STR, NULL, "management address published (default: link_bind)",
     &mgmt_addr},
    {"tls_cert", VG_OPT_STR, NULL, "TLS certificate of the link (PEM)", &tls_cert},
    {"tls_key", VG_OPT_STR, NULL, "TLS private key of the link (PEM)", &tls_key},
    {"tls_ca", VG_OPT_STR, NULL, "CA that signs gateway client certificates (PEM)", &tls_ca},
    {"link_insecure", VG_OPT_INT, "0",
     "1: serve the link without TLS (TESTS ONLY, never in production)", &link_insecure},
    {"link_secret_file", VG_OPT_STR, NULL, "file holding the gateway<->hostd shared secret",
     &link_secret_file},
    {"vm_filter", VG_OPT_STR, "*",
     "comma-separated shell patterns of the domain names this hostd manages", &vm_filter},
    {"heartbeat_ms", VG_OPT_INT, "2000", "registry heartbeat period", &heartbeat_ms},
    {"ring_size", VG_OPT_INT, "262144", "bytes of recent output kept per console", &ring_size},
    {"laggard_policy", VG_OPT_STR, "skip", "slow viewers: skip (GAP) or close (4408)",
     &laggard_policy},
    {"recording_dir", VG_OPT_STR, "/var/lib/vmgate/recordings",
     "where console recordings (asciicast files) are written", &recording_dir},
    {"recording_max_bytes", VG_OPT_INT, "67108864",
     "bytes of one recording file; a longer session continues in a new file", &recording_max_bytes},
    {"recording_total_bytes", VG_OPT_INT, "10737418240",
     "bytes of all recordings of this host; the oldest are deleted beyond it",
     &recording_total_bytes},
    {"recording_keep_s", VG_OPT_INT, "2592000", "seconds a recording is kept", &recording_keep_s},
    {"metrics_bind", VG_OPT_STR, "127.0.0.1", "address /metrics (Prometheus) listens on",
     &metrics_bind},
    {"metrics_port", VG_OPT_INT, "0", "port of /metrics; 0: not served", &metrics_port},
    {"metrics_token_file", VG_OPT_STR, NULL,
     "file holding the bearer token /metrics requires (64 hex characters)", &metrics_token_file},
    {"scripts_dir", VG_OPT_STR, VG_SCRIPTS_DIR, "directory of the Redis Lua scripts", &scripts_dir},
    {"log_level", VG_OPT_STR, "info", "debug, info, warn or error", &log_level},
    {0},
};

static struct ev_loop *loop;
static ev_signal sigterm, sigint;
static ev_timer grace;
static double grace_left;

/* Reads a one-line secret file; trailing whitespace is not part of the secret. */
static char *read_secret(const char *path, vg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(errno)), NULL;
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s is empty", path), NULL;
    char *s = strdup(buf);
    memset(buf, 0, sizeof(buf));
    if (!s)
        vg_fail(err, VG_E_INTERNAL, "out of memory");
    return s;
}

/* The /metrics bearer token: a secret file holding 64 hexadecimal characters, as the
 * gateway's metrics_token_file. */
static char *read_token(const char *path, vg_err *err)
{
    char *t = read_secret(path, err);
    size_t n = t ? strspn(t, "0123456789abcdefABCDEF") : 0;
    if (t && (n != 64 || t[n])) {
        vg_fail(err, VG_E_BAD_REQUEST, "%s must hold 64 hexadecimal characters", path);
        free(t);
        return NULL;
    }
    return t;
}

static void finish(void)
{
    hd_vms_save_all();
    hd_rec_stop();
    hd_metrics_stop();
    hd_registry_stop();
    hd_virt_stop();
    hd_consdir_stop();
    hd_linemode_free_all();
    hd_ringread_free_all();
    hd_vms_free_all();
    hd_link_stop();
    hd_virt_ev_cleanup();
    ev_break(loop, EVBREAK_ALL);
}

static void on_grace(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    grace_left -= w->repeat;
    if (hd_link_count() == 0 || grace_left <= 0) {
        ev_timer_stop(loop, w);
        finish();
    }
}

static void on_signal(struct ev_loop *l, ev_signal *w, int revents)
{
    (void)l;
    (void)revents;
    if (ev_is_active(&grace))
        return;
    vg_info("hostd", "signal %d: closing viewers and saving offsets", w->signum);
    sd_notify(0, "STOPPING=1");
    hd_link_shutdown();
    grace_left = SHUTDOWN_GRACE_S;
    ev_timer_init(&grace, on_grace, 0.05, 0.05);
    ev_timer_start(loop, &grace);
}

static void on_connected(const console *c, int connected)
{
    hd_registry_event(connected ? "console.connected" : "console.disconnected", hd_console_vm(c),
                      "dev", hd_console_dev(c));
}

static void on_crashed(const char *vm, const char *reason)
{
    hd_registry_event("vm.crashed", vm, "reason", reason);
}

/* Each refusal names the option and the line that set it (vg_config_invalid). */
static int check(vg_err *err)
{
    static const char *const paths[] = {
        "tls_cert",           "tls_key",     "tls_ca", "link_secret_file", "redis_password_file",
        "metrics_token_file", "scripts_dir", NULL};
    const char *bad = NULL, *why = NULL;
    vg_err sentinel_err;
    if (!link_secret_file)
        bad = "link_secret_file", why = "is required";
    else if (redis_port <= 0 || redis_port > 65535)
        bad = "redis_port", why = "must be 1..65535";
    else if (*redis_sentinels && vg_rsentinel_check(redis_sentinels, &sentinel_err) != VG_OK)
        bad = "redis_sentinels", why = sentinel_err.msg;
    else if (!vg_rsentinel_name_ok(redis_master_name))
        bad = "redis_master_name", why = "must be one word of 1..255 characters";
    else if (link_port <= 0 || link_port > 65535)
        bad = "link_port", why = "must be 1..65535";
    else if (metrics_port < 0 || metrics_port > 65535 ||
             (metrics_port && metrics_port == link_port))
        bad = "metrics_port", why = "must be 0 (off) or 1..65535 and not link_port";
    else if (metrics_port && !metrics_token_file)
        bad = "metrics_token_file", why = "is required with metrics_port";
    else if (heartbeat_ms < 100 || heartbeat_ms > 600000)
        bad = "heartbeat_ms", why = "must be 100..600000";
    else if (ring_size < 4096 || ring_size > (1L << 30))
        bad = "ring_size", why = "must be 4096..1073741824";
    else if (recording_max_bytes < 4096 || recording_max_bytes > (1L << 40))
        bad = "recording_max_bytes", why = "must be 4096..1099511627776";
    else if (recording_total_bytes < recording_max_bytes)
        bad = "recording_total_bytes", why = "must be at least recording_max_bytes";
    else if (recording_keep_s < 60)
        bad = "recording_keep_s", why = "must be at least 60";
    else if (strcmp(laggard_policy, "skip") != 0 && strcmp(laggard_policy, "close") != 0)
        bad = "laggard_policy", why = "must be skip or close";
    else if (vg_log_level_parse(log_level) < 0)
        bad = "log_level", why = "must be debug, info, warn or error";
    else if (tls_cert && !tls_key)
        bad = "tls_key", why = "is required with tls_cert";
    else if (host_id && !vg_valid_name(host_id))
        bad = "host_id", why = "must be [A-Za-z0-9._-], 1..64 chars";
    struct sockaddr_storage bind;
    vg_err bind_err;
    if (!bad && vg_bindaddr_parse(link_bind, (int)link_port, &bind, &bind_err) != VG_OK)
        bad = "link_bind", why = bind_err.msg;
    if (!bad && metrics_port &&
        vg_bindaddr_parse(metrics_bind, (int)metrics_port, &bind, &bind_err) != VG_OK)
        bad = "metrics_bind", why = bind_err.msg;
    if (bad)
        return vg_config_invalid(opts, bad, err, "%s", why);
    return vg_config_check_paths(opts, paths, err);
}

int main(int argc, char **argv)
{
    vg_err err;
    vg_config_defaults(opts);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: vmgate-hostd [--config FILE] [--name=value ...]\n");
            vg_config_usage(opts, stdout);
            return 0;
        }
    if (vg_config_args(opts, argc, argv, &err) != VG_OK || check(&err) != VG_OK) {
        fprintf(stderr, "vmgate-hostd: %s\n", err.msg);
        return 2;
    }
    vg_log_set_level((vg_log_level)vg_log_level_parse(log_level));
    char hostname[65] = "";
    if (!host_id) {
        gethostname(hostname, sizeof(hostname) - 1);
        host_id = strdup(hostname);
    }
    char url[300];
    if (!link_url) {
        int v6 = strchr(link_bind, ':') != NULL; /* a URL puts an IPv6 address in brackets */
        snprintf(url, sizeof(url), "%s://%s%s%s:%ld", tls_cert ? "wss" : "ws", v6 ? "[" : "",
                 link_bind, v6 ? "]" : "", link_port);
        link_url = strdup(url);
    }
    if (!mgmt_addr)
        mgmt_addr = strdup(link_bind);
    char *secret = read_secret(link_secret_file, &err);
    char *password = NULL;
    if (secret && redis_password_file)
        password = read_secret(redis_password_file, &err);
    char *metrics_token = NULL;
    if (secret && (!redis_password_file || password) && metrics_port)
        metrics_token = read_token(metrics_token_file, &err);
    if (!secret || (redis_password_file && !password) || (metrics_port && !metrics_token)) {
        fprintf(stderr, "vmgate-hostd: %s\n", err.msg);
        return 2;
    }
    if (hd_vms_set_filter(vm_filter, &err) != VG_OK) {
        fprintf(stderr, "vmgate-hostd: %s\n", err.msg);
        return 2;
    }
    if (vg_config_check_only(argc, argv)) {
        printf("vmgate-hostd: configuration OK\n");
        free(secret);
        free(password);
        free(metrics_token);
        vg_config_free(opts);
        return 0;
    }
    if (!migrate_uri)
        migrate_uri = strdup(libvirt_uri);
    mkdir(state_dir, 0700);
    signal(SIGPIPE, SIG_IGN);

    loop = ev_default_loop(0);
    console_config ccfg = {
        .loop = loop,
        .ring_size = (size_t)ring_size,
        .laggard_close = strcmp(laggard_policy, "close") == 0,
        .state_dir = state_dir,
        .on_connected = on_connected,
        .on_writer = hd_rec_on_writer,
        .on_output = hd_rec_on_output,
        .on_input = hd_rec_on_input,
    };
    hd_console_configure(&ccfg);
    hd_vms_set_changed_cb(hd_registry_changed);
    hd_virt_set_crashed_cb(on_crashed);
    link_config lcfg = {
        .bind = link_bind,
        .port = (int)link_port,
        .tls_cert = tls_cert,
        .tls_key = tls_key,
        .tls_ca = tls_ca,
        .secret = secret,
        .insecure = link_insecure == 1,
        .rpc_methods = hd_vmops_methods,
    };
    registry_config rcfg = {
        .host_id = host_id,
        .redis_host = redis_host,
        .redis_port = (int)redis_port,
        .redis_sentinels = redis_sentinels,
        .redis_master_name = redis_master_name,
        .password = password,
        .scripts_dir = scripts_dir,
        .link_url = link_url,
        .mgmt_addr = mgmt_addr,
        .heartbeat_ms = heartbeat_ms,
        .host_fields = hd_vmops_host_fields,
    };
    metrics_config mcfg = {
        .host_id = host_id,
        .redis_host = redis_host,
        .redis_port = (int)redis_port,
        .redis_sentinels = redis_sentinels,
        .redis_master_name = redis_master_name,
        .password = password,
        .scripts_dir = scripts_dir,
    };
    int link_tls = tls_cert && tls_key && tls_ca;
    expo_config ecfg = {
        .bind = metrics_bind,
        .port = (int)metrics_port,
        .token = metrics_token,
        .tls_cert = link_tls ? tls_cert : NULL,
        .tls_key = link_tls ? tls_key : NULL,
        .host_id = host_id,
    };
    rec_config reccfg = {
        .dir = recording_dir,
        .host_id = host_id,
        .max_bytes = recording_max_bytes,
        .total_bytes = recording_total_bytes,
        .keep_s = recording_keep_s,
        .redis_host = redis_host,
        .redis_port = (int)redis_port,
        .redis_sentinels = redis_sentinels,
        .redis_master_name = redis_master_name,
        .password = password,
        .scripts_dir = scripts_dir,
    };
    vmops_config vcfg = {
        .loop = loop,
        .libvirt_uri = libvirt_uri,
        .migrate_uri = migrate_uri,
        .console_dir = console_dir,
        .state_dir = state_dir,
    };
    hd_vmops_configure(&vcfg);
    hd_storage_configure(pool_roots);
    int rc = 1;
    hd_virt_ev_register(loop);
    /* libvirt first: a socket it describes must not be adopted as a bare convention socket
     * and lose its log. */
    if (hd_link_start(loop, &lcfg, &err) != VG_OK ||
        (metrics_port && hd_expo_start(&ecfg, &err) != VG_OK) ||
        hd_registry_start(loop, &rcfg, &err) != VG_OK ||
        hd_metrics_start(loop, &mcfg, &err) != VG_OK ||
        hd_rec_start(loop, &reccfg, &err) != VG_OK ||
        hd_virt_start(loop, libvirt_uri, &err) != VG_OK ||
        hd_consdir_start(loop, console_dir, &err) != VG_OK) {
        vg_error("hostd", "%s", err.msg);
        goto out;
    }
    ev_signal_init(&sigterm, on_signal, SIGTERM);
    ev_signal_init(&sigint, on_signal, SIGINT);
    ev_signal_start(loop, &sigterm);
    ev_signal_start(loop, &sigint);
    ev_unref(loop); /* the signal watchers alone must not keep the loop running */
    ev_unref(loop);
    vg_info("hostd", "host %s up (link %s, console_dir %s)", host_id, link_url, console_dir);
    /* Type=notify: the link endpoint listens from here on. */
    sd_notify(0, "READY=1");
    ev_run(loop, 0);
    vg_info("hostd", "stopped");
    rc = 0;
out:
    if (rc)
        finish();
    free(secret);
    free(password);
    free(metrics_token);
    vg_config_free(opts);
    return rc;
}
