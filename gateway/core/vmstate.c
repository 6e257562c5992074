#include "core/vmstate.h"

#include <stddef.h>
#include <string.h>

typedef struct state_rule {
    const char *action;
    const char *allowed; /* space-separated states */
} state_rule;

/* docs/api.md "Lifecycle" shows the same table. */
static const state_rule rules[] = {
    {"vm.start", "shutoff crashed"},
    {"vm.shutdown", "running blocked"},
    {"vm.reboot", "running blocked"},
    {"vm.reset", "running paused blocked"},
    {"vm.destroy", "running paused blocked pmsuspended crashed"},
    {"vm.suspend", "running blocked"},
    {"vm.resume", "paused"},
    {"vm.save", "running paused"},
    {"vm.restore", "shutoff"},
    {"vm.migrate", "running paused"},
    {"vm.delete", "shutoff crashed"},
    {"vm.edit", "shutoff crashed"},
};

int gw_vm_state_allows(const char *action, const char *state)
{
    static const char *const known[] = {"running", "paused",      "shutoff", "crashed",
                                        "blocked", "pmsuspended", NULL};
    const char *const *k = known;
    while (*k && strcmp(*k, state) != 0)
        k++;
    if (!*k)
        return 1;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (strcmp(rules[i].action, action) != 0)
            continue;
        const char *a = strstr(rules[i].allowed, state);
        size_t n = strlen(state);
        while (a && ((a != rules[i].allowed && a[-1] != ' ') || (a[n] && a[n] != ' ')))
            a = strstr(a + 1, state);
        return a != NULL;
    }
    return 1;
}
