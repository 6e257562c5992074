// VM lifecycle through the API (issue 3 §5; docs/api.md "Lifecycle"): start, suspend, resume,
// reboot, reset, shutdown, save, restore, destroy and vm.cdrom on a VM made with vm.create,
// over HTTP (POST /api/v1/<method> with a bearer token) and the WebSocket API; wrong states
// are refused with conflict before hostd is asked, and the registry follows every change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, openShell } from './lib/client.mjs';
import { createVm } from './lib/tenancy.mjs';
import { refused, until } from './lib/wait.mjs';

const VM = 'vgt-c-life';
const P = 'pc-life';
let stack;
let token;

const registryState = () => stack.redis('hget', `vg:vm:${VM}`, 'state');
const settle = (state) => until(() => registryState() === state, 10000, `registry state ${state}`);

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-lifeapi-' });
  token = await login(stack);
  await api(stack, token, 'project.create', { name: P });
  await createVm(stack, token, P, stack.guestSpec(VM, { cdrom: { media: null } }));
});

after(async () => {
  await stack?.stop();
});

test('parameters are checked and unknown VMs refused', async () => {
  await refused(api(stack, token, 'vm.start', {}), 'bad_request', /vm/);
  await refused(api(stack, token, 'vm.start', { vm: 3 }), 'bad_request', /vm/);
  await refused(api(stack, token, 'vm.start', { vm: VM, force: true }), 'bad_request', /unknown parameter/);
  await refused(api(stack, token, 'vm.start', { vm: 'vgt-c-none' }), 'not_found');
  await refused(api(stack, token, 'vm.shutdown', { vm: VM, timeout_s: 'soon' }), 'bad_request', /timeout_s/);
  await refused(api(stack, token, 'vm.cdrom', { vm: VM }), 'bad_request', /media/);
  await refused(api(stack, token, 'vm.cdrom', { vm: VM, media: 'noslash' }), 'bad_request', /media/);
});

test('wrong states are conflicts that name the state', async () => {
  const st = registryState();
  if (st === 'running') await api(stack, token, 'vm.destroy', { vm: VM });
  await settle('shutoff');
  for (const m of ['vm.suspend', 'vm.resume', 'vm.shutdown', 'vm.reboot', 'vm.reset', 'vm.destroy', 'vm.save']) {
    await refused(api(stack, token, m, { vm: VM }), 'conflict', new RegExp(`^conflict: ${m.replace('.', '\\.')}: VM ${VM} is shutoff`));
  }
  assert.equal(registryState(), 'shutoff');
});

test('start, suspend, resume, reboot, reset, destroy over HTTP; the registry follows', { timeout: 180000 }, async () => {
  const r = await api(stack, token, 'vm.start', { vm: VM });
  assert.deepEqual(r, { vm: VM, host: stack.hostId, state: 'running' });
  await settle('running');
  await refused(api(stack, token, 'vm.start', { vm: VM }), 'conflict', /is running/);
  (await openShell(stack, token, { vm: VM })).close();
  assert.equal((await api(stack, token, 'vm.suspend', { vm: VM })).state, 'paused');
  await settle('paused');
  await refused(api(stack, token, 'vm.suspend', { vm: VM }), 'conflict', /is paused/);
  assert.equal((await api(stack, token, 'vm.resume', { vm: VM })).state, 'running');
  await settle('running');
  assert.equal((await api(stack, token, 'vm.reboot', { vm: VM })).vm, VM);
  assert.equal((await api(stack, token, 'vm.reset', { vm: VM })).vm, VM);
  assert.equal((await api(stack, token, 'vm.destroy', { vm: VM })).state, 'shutoff');
  await settle('shutoff');
  assert.match(stack.virsh('domstate', VM), /shut off/);
});

test('shutdown (ACPI), save and restore over the WebSocket API', { timeout: 240000 }, async () => {
  const ws = await apiWs(stack, token);
  try {
    await ws.call('vm.start', { vm: VM });
    await settle('running');
    (await openShell(stack, token, { vm: VM })).close();
    const s = await ws.call('vm.save', { vm: VM });
    assert.equal(s.state, 'shutoff');
    assert.match(stack.virsh('dominfo', VM), /Managed save:\s+yes/);
    const r = await ws.call('vm.restore', { vm: VM });
    assert.equal(r.state, 'running');
    await settle('running');
    const d = await ws.call('vm.shutdown', { vm: VM, timeout_s: 60 });
    assert.equal(d.state, 'shutoff');
    assert.equal(typeof d.forced, 'boolean');
    await settle('shutoff');
  } finally {
    ws.close();
  }
});

test('vm.cdrom changes the medium and the stored spec', { timeout: 60000 }, async () => {
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'state') === 'shutoff', 10000, 'shutoff');
  const r = await api(stack, token, 'vm.cdrom', { vm: VM, media: `${stack.pool}/tools.iso` });
  assert.deepEqual(r, { vm: VM, media: `${stack.pool}/tools.iso` });
  assert.equal(JSON.parse(stack.redis('hget', `vg:vmdef:${VM}`, 'spec')).cdrom.media, `${stack.pool}/tools.iso`);
  assert.match(stack.virsh('dumpxml', '--inactive', VM), /tools\.iso/);
  await refused(api(stack, token, 'vm.cdrom', { vm: VM, media: `${stack.pool}/nothing.iso` }), 'not_found');
  const e = await api(stack, token, 'vm.cdrom', { vm: VM, media: null });
  assert.deepEqual(e, { vm: VM, media: null });
  assert.equal(JSON.parse(stack.redis('hget', `vg:vmdef:${VM}`, 'spec')).cdrom.media, null);
});

test('every state change is in the audit trail', async () => {
  const entries = stack.redis('xrange', 'vg:audit', '-', '+');
  for (const m of ['vm.create', 'vm.start', 'vm.suspend', 'vm.destroy', 'vm.save']) {
    assert.match(entries, new RegExp(m.replace('.', '\\.')), `${m} audited`);
  }
});
