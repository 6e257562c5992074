// Placement, migration and re-placement across two hosts (issue 3 §1, §7; docs/api.md
// "Migration"): vm.migrate moves a running VM live to another host, the VM's definition and
// the registry follow, vm.migrated is published, its console works on the new host; a host in
// maintenance takes no VMs, and a stopped VM whose host cannot take it starts elsewhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, openConsole, openShell } from './lib/client.mjs';
import { makeMember } from './lib/tenancy.mjs';
import { refused, until } from './lib/wait.mjs';

const VM = 'vgt-c-mig';
const P = 'pc-mig';
let stack;
let token;
let h1;
let h2;

const host = () => stack.redis('hget', `vg:vm:${VM}`, 'host');
const state = () => stack.redis('hget', `vg:vm:${VM}`, 'state');

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-migrate-' });
  [h1, h2] = stack.hosts.map((h) => h.id);
  token = await login(stack);
  await until(() => stack.redis('exists', `vg:host:${h2}:alive`) === '1', 15000, 'host 2 up');
  await api(stack, token, 'project.create', { name: P });
});

after(async () => {
  await stack?.stop();
});

test('vm.create places on the host the spec names; maintenance hosts take nothing', { timeout: 60000 }, async () => {
  await api(stack, token, 'host.set', { host: h2, maintenance: true });
  await refused(api(stack, token, 'vm.create', {
    project: P,
    spec: { name: 'vgt-c-x', memory_mib: 96, placement: { host: h2 } },
  }), 'conflict', new RegExp(`no host fits: ${h2} in maintenance`));
  await api(stack, token, 'host.set', { host: h2, maintenance: false });
  const r = await api(stack, token, 'vm.create', {
    project: P,
    spec: stack.guestSpec(VM, {
      // On the shared pool: migration and re-placement keep using this volume.
      disks: [{ size_mib: 16, pool: 'vmgate' }],
      placement: { host: h1 },
    }),
  });
  assert.equal(r.host, h1);
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'host'), h1);
  await until(() => host() === h1, 10000, 'registry');
});

test('vm.migrate refuses bad input, wrong states and unfit hosts', { timeout: 60000 }, async () => {
  await refused(api(stack, token, 'vm.migrate', { vm: VM }), 'bad_request', /host/);
  await refused(api(stack, token, 'vm.migrate', { vm: VM, host: 2 }), 'bad_request', /host/);
  await refused(api(stack, token, 'vm.migrate', { vm: 'vgt-c-none', host: h2 }), 'not_found');
  await refused(api(stack, token, 'vm.migrate', { vm: VM, host: h2 }), 'conflict', new RegExp(`VM ${VM} is shutoff`));
  // Operators of the project may start it but not move it.
  const op = await login(stack, 'cop', await makeMember(stack, token, P, 'cop', 'operator', 'operator-password-1'));
  await refused(api(stack, op, 'vm.migrate', { vm: VM, host: h2 }), 'forbidden');
  await api(stack, op, 'vm.start', { vm: VM });
  await until(() => state() === 'running', 15000, 'running');
  await refused(api(stack, token, 'vm.migrate', { vm: VM, host: h1 }), 'conflict', /already/);
  await refused(api(stack, token, 'vm.migrate', { vm: VM, host: 'nohost' }), 'conflict', /host nohost is not known/);
  await api(stack, token, 'host.set', { host: h2, max_vm_memory_mib: 64 });
  await refused(api(stack, token, 'vm.migrate', { vm: VM, host: h2 }), 'conflict', new RegExp(`${h2} needs 64 MiB more memory`));
  await api(stack, token, 'host.set', { host: h2, max_vm_memory_mib: 0 });
  assert.equal(host(), h1);
});

test('placement picks the least loaded host and keeps to the project\'s host groups', { timeout: 60000 }, async () => {
  // VM runs on h1 (128 MiB allocated there), h2 has nothing running.
  const spec = (name) => ({ name, memory_mib: 96 });
  const a = await api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-lb') });
  assert.equal(a.host, h2);
  await api(stack, token, 'vm.delete', { vm: 'vgt-c-lb' });
  // A project bound to a group of h1 only never lands on h2.
  await api(stack, token, 'hostgroup.create', { name: 'g1', hosts: [h1] });
  await api(stack, token, 'project.edit', { name: P, hostgroups: ['g1'] });
  try {
    const b = await api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-g') });
    assert.equal(b.host, h1);
    await api(stack, token, 'vm.delete', { vm: 'vgt-c-g' });
    await refused(api(stack, token, 'vm.create', { project: P, spec: { ...spec('vgt-c-g2'), placement: { host: h2 } } }),
      'conflict', new RegExp(`no host fits: ${h2} is in no host group project ${P} may use`));
  } finally {
    await api(stack, token, 'project.edit', { name: P, hostgroups: [] });
  }
});

test('vm.migrate moves a running VM live; definition, registry, event and console follow', { timeout: 240000 }, async () => {
  (await openShell(stack, token, { vm: VM })).close();
  const ws = await apiWs(stack, token);
  try {
    await ws.call('events.subscribe');
    const r = await api(stack, token, 'vm.migrate', { vm: VM, host: h2 });
    assert.deepEqual(r, { vm: VM, from: h1, to: h2 });
    const ev = await ws.waitEvent('vm.migrated', 5000);
    assert.equal(ev.data.vm, VM);
    assert.equal(ev.data.from, h1);
    assert.equal(ev.data.to, h2);
    assert.equal(ev.data.project, P);
  } finally {
    ws.close();
  }
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'host'), h2);
  await until(() => host() === h2 && state() === 'running', 15000, 'registry on host 2');
  assert.match(stack.hosts[1].virsh('domstate', VM), /running/);
  assert.throws(() => stack.hosts[0].virsh('domstate', VM));
  const c2 = await openConsole(stack, token, { vm: VM });
  c2.send('echo mig-$((6*7))\n');
  await c2.waitFor('mig-42', 20000);
  c2.close();
  const g = await api(stack, token, 'vm.get', { vm: VM });
  assert.equal(g.host, h2);
});

test('a stopped VM whose host is in maintenance starts on another host', { timeout: 240000 }, async () => {
  await api(stack, token, 'vm.destroy', { vm: VM });
  await until(() => state() === 'shutoff', 15000, 'shutoff');
  await api(stack, token, 'host.set', { host: h2, maintenance: true });
  try {
    const r = await api(stack, token, 'vm.start', { vm: VM });
    assert.deepEqual(r, { vm: VM, host: h1, state: 'running' });
    assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'host'), h1);
    await until(() => host() === h1 && state() === 'running', 15000, 'registry on host 1');
    assert.throws(() => stack.hosts[1].virsh('domstate', VM));
    // Its disk came along: the same volume of the shared pool, not a new one.
    assert.match(stack.hosts[0].virsh('domblklist', VM), new RegExp(`${stack.poolDir}/${VM}-disk0.qcow2`));
    // The spec pins it to h1: with h1 in maintenance too, no host is left, and the answer
    // says why for each candidate.
    await api(stack, token, 'vm.destroy', { vm: VM });
    await until(() => state() === 'shutoff', 15000, 'shutoff');
    await api(stack, token, 'host.set', { host: h1, maintenance: true });
    await refused(api(stack, token, 'vm.start', { vm: VM }), 'conflict',
      new RegExp(`^conflict: vm\\.start: VM ${VM} cannot start on ${h1} and no host fits: ${h1} in maintenance$`));
    await refused(api(stack, token, 'vm.create', { project: P, spec: { name: 'vgt-c-y', memory_mib: 96 } }),
      'conflict', new RegExp(`no host fits: (${h1} in maintenance; ${h2} in maintenance|${h2} in maintenance; ${h1} in maintenance)`));
    assert.equal(stack.redis('exists', 'vg:vmdef:vgt-c-y'), '0');
  } finally {
    await api(stack, token, 'host.set', { host: h1, maintenance: false });
    await api(stack, token, 'host.set', { host: h2, maintenance: false });
  }
  await api(stack, token, 'vm.delete', { vm: VM });
  assert.equal(stack.redis('hget', `vg:project:${P}:usage`, 'instances'), '0');
});
