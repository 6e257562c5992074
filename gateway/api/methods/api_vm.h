/* What the VM method modules share (api_vm.c: definitions; api_vmlife.c: lifecycle, media,
 * migration; api_snapshot.c: snapshots; api_vmcall.c: the steps they are built from). A VM
 * method is a chain of steps over one gw_vmcall: read the VM from Redis, check its state, run
 * a script, call its hostd, record the outcome. Any step that fails ends the call. */
#ifndef GW_API_VM_H
#define GW_API_VM_H

#include "api/api_int.h"
#include "core/vmstate.h"
#include "backend/hostrpc.h"
#include "vg_domspec.h"

#define GW_VM_RPC_MS 30000L     /* short hostd calls */
#define GW_VM_DEFINE_MS 60000L  /* vm.define, vm.start (volumes are created, qemu starts) */
#define GW_VM_LONG_MS 120000L   /* migration, managed save/restore, snapshots */
#define GW_VM_SHUTDOWN_GRACE 15 /* seconds past the guest's own shutdown timeout */

/* One VM as Redis shows it (gateway_vm_get.lua). */
typedef struct gw_vminfo {
    int defined;    /* has a vmdef: belongs to a project */
    int registered; /* a host reports the domain */
    int adopted;    /* vmdef made by vm.adopt: no spec to define it from */
    char project[65];
    char host[65]; /* where it is: the registry's host, else the vmdef's */
    int host_up;
    char state[16]; /* registry state, "" when no host reports it */
    char uuid[40];
    long long vcpus, memory_mib, disk_mib;
    cJSON *def; /* every vmdef field as strings, spec parsed: the vm.get answer's base */
    cJSON *reg; /* every vg:vm field */
    cJSON *consoles;
} gw_vminfo;

/* Pure: a gateway_vm_get.lua answer into out (which the caller frees with gw_vminfo_free). */
int gw_vminfo_parse(const redisReply *reply, gw_vminfo *out, vg_err *err);
void gw_vminfo_free(gw_vminfo *vi);
/* The stored spec of a defined VM, or NULL. */
const cJSON *gw_vminfo_spec(const gw_vminfo *vi);

typedef struct gw_vmcall gw_vmcall;
typedef void gw_vmcall_step(gw_vmcall *v);

struct gw_vmcall {
    gw_call *c;
    char vm[65];
    gw_vminfo vi;
    gw_vmcall_step *next;
    gw_vmcall_step *on_error; /* when set, a refused hostd call comes here with err filled */
    vg_err err;
    cJSON *answer; /* the last hostd result */
    vg_spec spec;  /* the spec being defined (create, clone, edit) */
    int spec_parsed;
    cJSON *spec_json; /* the same, as stored (defaults filled) */
    char project[65];
    char host[65]; /* the host the next step acts on */
    char from[65];
    char what[200]; /* prefix of a placement refusal */
};

/* Starts the per-call state (c->state). NULL: the call has been failed (out of memory). */
gw_vmcall *gw_vmcall_new(gw_call *c);
/* Starts the call's state for params.vm and reads the VM into v->vi, then next. An unknown
 * VM fails the call with not_found. */
void gw_vmcall_run(gw_call *c, gw_vmcall_step *next);
/* Calls method on host with params (taken); the result lands in v->answer, then next. A
 * refusal ends the call with hostd's error unless v->on_error is set. */
void gw_vmcall_rpc(gw_vmcall *v, const char *host, const char *method, cJSON *params,
                   long timeout_ms, gw_vmcall_step *next);
/* Runs gateway_place.lua; the chosen host lands in v->host, then next. No fit ends the call
 * with conflict and the script's reasons, prefixed by what. */
void gw_vmcall_place(gw_vmcall *v, const char *project, int vcpus, long long memory_mib,
                     const char *host, const char *group, const char *what, gw_vmcall_step *next);
/* Parses spec into v->spec / v->spec_json: bad_request on a bad spec, forbidden for what only
 * administrators may ask for (vmpolicy.h). Returns VG_ERR when it has ended the call. */
int gw_vmcall_parse_spec(gw_vmcall *v, const cJSON *spec);
/* Fails the call unless the VM's host is up. Returns VG_ERR when it has ended the call. */
int gw_vmcall_need_host(gw_vmcall *v);
/* PUBLISH vg:events {"type":type,"vm":..,"project":..,"ts":..} plus extra's fields. */
void gw_vmcall_event(gw_vmcall *v, const char *type, cJSON *extra);
/* {"vm": v->vm} and whatever the caller adds. */
cJSON *gw_vmcall_params(const gw_vmcall *v);

/* api_vmnet.c. Static DHCP leases for the spec's fixed addresses on every host of their
 * networks; a refusal sets v->err and runs undo. */
void gw_vmnet_leases(gw_vmcall *v, gw_vmcall_step *next, gw_vmcall_step *undo);
/* The static leases of the stored spec's fixed addresses removed from their networks' hosts
 * (best effort), then next. */
void gw_vmnet_unlease(gw_vmcall *v, gw_vmcall_step *next);
/* The nwfilters of the VM's NICs with security groups, on host (the one it is about to be
 * defined on or migrate to); without a parsed spec every NIC the stored spec has. */
void gw_vmnet_filters(gw_vmcall *v, const char *host, gw_vmcall_step *next, gw_vmcall_step *undo);
struct gw_fanout;
/* filter.define of every filter of a gateway_secgroup_plan.lua answer on its host. */
void gw_vmnet_define_filters(gw_call *c, const cJSON *plan,
                             void (*done)(struct gw_fanout *f, const cJSON *results,
                                          const vg_err *err),
                             void *priv);

/* api_line.c: whether a VM in this registry state has a console to type into (running, or
 * known only from the console directory). */
int gw_line_state_ok(const char *state);

/* api_vmlookup.c: what gw_vmlookup found. vi is valid during the callback only, NULL when err
 * is set; visible says whether the caller may know the VM exists (a refusal of an invisible VM
 * is not_found, worded as for a missing one). */
typedef struct gw_vmlookup_found {
    const gw_vminfo *vi;
    const char *project;
    int visible;
} gw_vmlookup_found;
typedef void gw_vmlookup_done(void *priv, const gw_vmlookup_found *f, const vg_err *err);
/* Authorizes method at level on vm for the session token_hash (gateway_authz.lua) and reads
 * the VM (gateway_vm_get.lua); done runs exactly once. */
void gw_vmlookup(gw *g, const char *token_hash, const char *vm, const char *method, gw_level level,
                 gw_vmlookup_done *done, void *priv);

/* {vm}: the parameters of vm.get, most lifecycle actions and snapshot.list. */
extern const gw_field gw_vm_params[];

/* The methods of api_vmlife.c and api_snapshot.c, listed in api_vm.c's table. */

#endif
