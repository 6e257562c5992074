#include "ctl_notices.h"

#include <stdio.h>
#include <string.h>

#define SHOWN_MAX 256

/* One console per process: the state lives as long as the process, so answers arriving after
 * the console ended find it still there. */
static struct {
    ctl_app *app;
    const char *vm;
    void (*say)(const char *line);
    double shown[SHOWN_MAX]; /* ids already printed */
    int nshown;
} follow;

void ctl_notice_line(const cJSON *n, char *out, size_t cap)
{
    const char *level = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "level"));
    const char *sender = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "sender"));
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "text"));
    int ack = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n, "require_ack"));
    double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "id"));
    snprintf(out, cap, "notice %.0f (%s) from %s: %s%s", id, level ? level : "info",
             sender ? sender : "?", text ? text : "",
             ack ? " [acknowledge: vmgatectl notice ack id=N]" : "");
    /* The gateway refuses control characters in notices; a terminal is not trusted to it. */
    for (unsigned char *p = (unsigned char *)out; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static int seen(double id)
{
    for (int i = 0; i < follow.nshown; i++)
        if (follow.shown[i] == id)
            return 1;
    if (follow.nshown < SHOWN_MAX)
        follow.shown[follow.nshown++] = id;
    return 0;
}

static void list_cb(const cJSON *result, const vg_err *err, void *ud)
{
    (void)ud;
    if (err)
        return; /* the console works without notices */
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(result, "notices"))
    {
        double id = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(n, "id"));
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(n, "acked_ms")) || seen(id))
            continue;
        char line[1400];
        ctl_notice_line(n, line, sizeof(line));
        follow.say(line);
    }
}

static void list(void)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "vm", follow.vm);
    vg_err err;
    ctl_api_call(follow.app->api, "notice.list", p, list_cb, NULL, &err);
}

/* Which notices apply to this VM is the gateway's to say: a new one is looked up again. */
static void on_event(const cJSON *msg, void *ud)
{
    (void)ud;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(msg, "event"));
    if (type && !strcmp(type, "notice.sent"))
        list();
}

static void on_drop(const vg_err *err, void *ud)
{
    (void)err;
    (void)ud;
}

static const ctl_api_events events = {on_event, on_drop};

static void subscribed_cb(const cJSON *result, const vg_err *err, void *ud)
{
    (void)result;
    (void)ud;
    if (!err)
        ctl_api_watch(follow.app->api, &events, NULL);
}

void ctl_notices_follow(ctl_app *app, const char *vm, void (*say)(const char *line))
{
    follow.app = app;
    follow.vm = vm;
    follow.say = say;
    list();
    vg_err err;
    ctl_api_call(app->api, "events.subscribe", NULL, subscribed_cb, NULL, &err);
}
