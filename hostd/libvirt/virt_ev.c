#include "libvirt/virt_ev.h"

#include <libvirt/libvirt.h>
#include <stdlib.h>

/* libvirt requires the free callbacks of removed handles and timeouts to run later, never
 * inside the remove call, so removed items wait on a list for an idle pass. */
typedef struct item {
    int id;
    int is_timer;
    int removed;
    int fd;
    int events;  /* handles: what libvirt wants (VIR_EVENT_HANDLE_*) */
    int held;    /* ... less reading (hd_virt_ev_hold) */
    int freq_ms; /* timeouts: -1 disabled, 0 every iteration */
    ev_io io;
    ev_timer timer;
    virEventHandleCallback hcb;
    virEventTimeoutCallback tcb;
    void *opaque;
    virFreeCallback ff;
    struct item *next;
} item;

static struct ev_loop *loop;
static item *items;
static int next_id = 1;
static ev_idle reaper;

static item *find(int id, int is_timer)
{
    for (item *it = items; it; it = it->next)
        if (it->id == id && it->is_timer == is_timer && !it->removed)
            return it;
    return NULL;
}

static int to_ev(int events)
{
    return (events & VIR_EVENT_HANDLE_READABLE ? EV_READ : 0) |
           (events & VIR_EVENT_HANDLE_WRITABLE ? EV_WRITE : 0);
}

/* Watches what libvirt wants of the handle, less reading while it is held. */
static void arm_io(item *it)
{
    int ev = to_ev(it->events) & (it->held ? ~EV_READ : ~0);
    ev_io_stop(loop, &it->io);
    ev_io_set(&it->io, it->fd, ev);
    if (ev)
        ev_io_start(loop, &it->io);
}

static void on_io(struct ev_loop *l, ev_io *w, int revents)
{
    (void)l;
    item *it = w->data;
    int ev = (revents & EV_READ ? VIR_EVENT_HANDLE_READABLE : 0) |
             (revents & EV_WRITE ? VIR_EVENT_HANDLE_WRITABLE : 0);
    if (!it->removed)
        it->hcb(it->id, it->fd, ev, it->opaque);
}

static void arm_timer(item *it)
{
    ev_timer_stop(loop, &it->timer);
    if (it->freq_ms < 0)
        return;
    ev_timer_set(&it->timer, it->freq_ms / 1000.0, 0.);
    ev_timer_start(loop, &it->timer);
}

static void on_timer(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    item *it = w->data;
    if (it->removed)
        return;
    it->tcb(it->id, it->opaque);
    if (!it->removed && !ev_is_active(&it->timer))
        arm_timer(it); /* periodic until libvirt updates or removes it */
}

static void on_reap(struct ev_loop *l, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(l, w);
    hd_virt_ev_cleanup();
}

static int add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
                      virFreeCallback ff)
{
    item *it = calloc(1, sizeof(*it));
    if (!it)
        return -1;
    it->id = next_id++;
    it->fd = fd;
    it->hcb = cb;
    it->opaque = opaque;
    it->ff = ff;
    it->events = events;
    ev_io_init(&it->io, on_io, fd, 0);
    it->io.data = it;
    arm_io(it);
    it->next = items;
    items = it;
    return it->id;
}

static void update_handle(int id, int events)
{
    item *it = find(id, 0);
    if (!it)
        return;
    it->events = events;
    arm_io(it);
}

static int remove_item(int id, int is_timer)
{
    item *it = find(id, is_timer);
    if (!it)
        return -1;
    it->removed = 1;
    if (is_timer)
        ev_timer_stop(loop, &it->timer);
    else
        ev_io_stop(loop, &it->io);
    ev_idle_start(loop, &reaper);
    return 0;
}

static int remove_handle(int id)
{
    return remove_item(id, 0);
}

static int add_timeout(int freq, virEventTimeoutCallback cb, void *opaque, virFreeCallback ff)
{
    item *it = calloc(1, sizeof(*it));
    if (!it)
        return -1;
    it->id = next_id++;
    it->is_timer = 1;
    it->freq_ms = freq;
    it->tcb = cb;
    it->opaque = opaque;
    it->ff = ff;
    ev_init(&it->timer, on_timer);
    it->timer.data = it;
    arm_timer(it);
    it->next = items;
    items = it;
    return it->id;
}

static void update_timeout(int id, int freq)
{
    item *it = find(id, 1);
    if (!it)
        return;
    it->freq_ms = freq;
    arm_timer(it);
}

static int remove_timeout(int id)
{
    return remove_item(id, 1);
}

void hd_virt_ev_cleanup(void)
{
    for (item **pp = &items; *pp;) {
        item *it = *pp;
        if (!it->removed) {
            pp = &it->next;
            continue;
        }
        *pp = it->next;
        if (it->ff)
            it->ff(it->opaque);
        free(it);
    }
}

void hd_virt_ev_register(struct ev_loop *l)
{
    loop = l;
    ev_idle_init(&reaper, on_reap);
    virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout,
                         remove_timeout);
}

int hd_virt_ev_mark(void)
{
    return next_id;
}

void hd_virt_ev_hold(int from, int to, int hold)
{
    for (item *it = items; it; it = it->next)
        if (!it->is_timer && !it->removed && it->id >= from && it->id < to && it->held != !!hold) {
            it->held = !!hold;
            arm_io(it);
        }
}
