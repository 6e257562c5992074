// VM definitions through the API (issue 3 §1, §4; docs/api.md "VMs"): vm.create places the VM,
// reserves its quota and has hostd define it; vm.get, vm.xml, vm.edit, vm.clone, vm.adopt and
// vm.delete, each with good input, a missing field, a wrong-typed field and an unknown target,
// checked against what Redis and libvirt show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login } from './lib/client.mjs';
import { refused, until } from './lib/wait.mjs';

const ADOPT = 'vgt-c-adopt';
const P = 'pc1';
let stack;
let token;

const spec = (name, extra) => stack.guestSpec(name, extra);

const usage = (p = P) =>
  stack.redis('hmget', `vg:project:${p}:usage`, 'instances', 'vcpus', 'memory_mib', 'disk_mib');

before(async () => {
  stack = await startStack({ vms: [ADOPT], prefix: 'vgt-vm-' });
  token = await login(stack);
  await api(stack, token, 'project.create', { name: P, description: 'vm tests' });
});

after(async () => {
  await stack?.stop();
});

test('vm.create defines the VM on a host, records vmdef and usage', { timeout: 120000 }, async () => {
  const r = await api(stack, token, 'vm.create', {
    project: P,
    spec: spec('vgt-c-one', { description: 'first', disks: [{ size_mib: 16, pool: 'vmgate' }] }),
  });
  assert.equal(r.vm, 'vgt-c-one');
  assert.equal(r.project, P);
  assert.equal(r.host, stack.hostId);
  assert.match(r.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'project'), P);
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'host'), stack.hostId);
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'memory_mib'), '128');
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'disk_mib'), '16');
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'created_by'), 'admin');
  assert.equal(stack.redis('sismember', `vg:project:${P}:vms`, 'vgt-c-one'), '1');
  const stored = JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'spec'));
  assert.equal(stored.disks[0].format, 'qcow2'); // defaults filled in
  assert.match(stack.virsh('domstate', 'vgt-c-one'), /shut off/);
  assert.equal(usage(), '1\n1\n128\n16');
  // hostd registers it; vm.list shows its project.
  await until(() => stack.redis('hget', 'vg:vm:vgt-c-one', 'state') === 'shutoff', 10000, 'registry');
  const list = await api(stack, token, 'vm.list');
  assert.equal(list.vms.find((v) => v.name === 'vgt-c-one').project, P);
  // The audit record names the VM although vm.create carries it inside the spec.
  const audit = await api(stack, token, 'audit.query', { vm: 'vgt-c-one', kind: 'api' });
  assert.ok(audit.entries.some((e) => e.method === 'vm.create' && e.result === 'ok' && e.project === P));
});

test('a project uses only the storage pools and networks it may; the refusal changes nothing', { timeout: 120000 }, async () => {
  const L = 'pc-limits';
  await api(stack, token, 'project.create', { name: L, pools: ['elsewhere'], networks: ['othernet'] });
  const keys = () => stack.redis('exists', 'vg:vmdef:vgt-c-lim') + stack.redis('hget', `vg:project:${L}:usage`, 'instances');
  const before = keys();
  await refused(api(stack, token, 'vm.create', {
    project: L, spec: spec('vgt-c-lim', { disks: [{ size_mib: 16, pool: 'vmgate' }] }),
  }), 'forbidden', /may not use storage pool vmgate/);
  await refused(api(stack, token, 'vm.create', {
    project: L, spec: spec('vgt-c-lim', { cdrom: { media: 'vmgate/tools.iso' } }),
  }), 'forbidden', /may not use storage pool vmgate/);
  await refused(api(stack, token, 'vm.create', {
    project: L, spec: spec('vgt-c-lim', { nics: [{ network: 'vmgate' }] }),
  }), 'forbidden', /may not use network vmgate/);
  assert.equal(keys(), before);
  // Allowed once listed; a live medium change is held to the same rule.
  await api(stack, token, 'project.edit', { name: L, pools: ['vmgate'], networks: ['vmgate'] });
  await api(stack, token, 'vm.create', {
    project: L, spec: spec('vgt-c-lim', { cdrom: { media: null }, nics: [{ network: 'vmgate' }] }),
  });
  await api(stack, token, 'project.edit', { name: L, pools: ['elsewhere'] });
  await api(stack, token, 'vm.start', { vm: 'vgt-c-lim' });
  await refused(api(stack, token, 'vm.cdrom', { vm: 'vgt-c-lim', media: 'vmgate/tools.iso' }),
    'forbidden', /may not use storage pool vmgate/);
  assert.equal(JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-lim', 'spec')).cdrom.media, null);
  await api(stack, token, 'vm.destroy', { vm: 'vgt-c-lim' });
  await api(stack, token, 'vm.delete', { vm: 'vgt-c-lim', disks: true });
});

test('vm.create refuses bad input and changes nothing', { timeout: 60000 }, async () => {
  const before = usage();
  await refused(api(stack, token, 'vm.create', { project: P }), 'bad_request', /spec/);
  await refused(api(stack, token, 'vm.create', { spec: spec('vgt-c-x') }), 'bad_request', /project/);
  await refused(api(stack, token, 'vm.create', { project: P, spec: 'x' }), 'bad_request', /spec/);
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-x', { vcpus: 'two' }) }),
    'bad_request', /spec\.vcpus/);
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-x'), extra: 1 }),
    'bad_request', /unknown parameter/);
  await refused(api(stack, token, 'vm.create', { project: 'nope', spec: spec('vgt-c-x') }), 'not_found');
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-one') }), 'conflict', /taken/);
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-x', { placement: { host: 'nohost' } }) }),
    'conflict', /no host fits: host nohost is not known/);
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-x', { memory_mib: 900000 }) }),
    'conflict', new RegExp(`no host fits: ${stack.hostId} needs \\d+ MiB more memory`));
  // hostd refuses (no such pool): the reservation is undone.
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-x', { disks: [{ size_mib: 16, pool: 'nopool' }] }) }),
    'not_found', /nopool/);
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-c-x'), '0');
  assert.equal(usage(), before);
});

test('vm.get and vm.xml', { timeout: 60000 }, async () => {
  const g = await api(stack, token, 'vm.get', { vm: 'vgt-c-one' });
  assert.equal(g.name, 'vgt-c-one');
  assert.equal(g.project, P);
  assert.equal(g.host, stack.hostId);
  assert.equal(g.host_up, true);
  assert.equal(g.state, 'shutoff');
  assert.equal(g.memory_mib, 128);
  assert.equal(g.spec.description, 'first');
  assert.deepEqual(g.consoles.includes('serial0'), true);
  const x = await api(stack, token, 'vm.xml', { vm: 'vgt-c-one', inactive: true });
  assert.match(x.xml, /<name>vgt-c-one<\/name>/);
  await refused(api(stack, token, 'vm.get', {}), 'bad_request');
  await refused(api(stack, token, 'vm.get', { vm: 7 }), 'bad_request');
  await refused(api(stack, token, 'vm.get', { vm: 'vgt-c-none' }), 'not_found');
  await refused(api(stack, token, 'vm.xml', { vm: 'vgt-c-one', inactive: 'yes' }), 'bad_request');
  // The same over the WebSocket API.
  const ws = await apiWs(stack, token);
  try {
    const w = await ws.call('vm.get', { vm: 'vgt-c-one' });
    assert.equal(w.project, P);
  } finally {
    ws.close();
  }
});

test('vm.edit refuses bad input and running VMs', { timeout: 60000 }, async () => {
  const s = JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'spec'));
  const before = usage();
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-one' }), 'bad_request', /spec/);
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-one', spec: [] }), 'bad_request', /spec/);
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-one', spec: { ...s, name: 'other' } }), 'bad_request', /renamed/);
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-one', spec: { ...s, vcpus: 0 } }), 'bad_request', /spec\.vcpus/);
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-none', spec: s }), 'not_found');
  // A running VM is not edited; this one has no spec either (not adopted yet: no project).
  await refused(api(stack, token, 'vm.edit', { vm: ADOPT, spec: spec(ADOPT) }), 'conflict');
  assert.equal(usage(), before);
});

test('vm.edit redefines a shut-off VM and moves the quota by the difference', { timeout: 60000 }, async () => {
  const uuid = stack.redis('hget', 'vg:vm:vgt-c-one', 'uuid');
  const s = JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'spec'));
  s.memory_mib = 160;
  s.vcpus = 2;
  const r = await api(stack, token, 'vm.edit', { vm: 'vgt-c-one', spec: s });
  assert.equal(r.spec.memory_mib, 160);
  assert.equal(r.host, stack.hostId);
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'memory_mib'), '160');
  assert.equal(usage(), '1\n2\n160\n16');
  assert.match(stack.virsh('dominfo', 'vgt-c-one'), /Max memory:\s+163840 KiB/);
  assert.match(stack.virsh('domuuid', 'vgt-c-one'), new RegExp(uuid));
  // hostd refuses (a disk in a pool that does not exist): the old reservation comes back.
  const bad = { ...s, memory_mib: 192, disks: [...s.disks, { size_mib: 8, pool: 'nopool' }] };
  await refused(api(stack, token, 'vm.edit', { vm: 'vgt-c-one', spec: bad }), 'not_found', /nopool/);
  assert.equal(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'memory_mib'), '160');
  assert.equal(JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'spec')).disks.length, 1);
  assert.equal(usage(), '1\n2\n160\n16');
  assert.match(stack.virsh('dominfo', 'vgt-c-one'), /Max memory:\s+163840 KiB/);
});

test('vm.clone copies the spec under a new name into the same project', { timeout: 60000 }, async () => {
  const ws = await apiWs(stack, token);
  await ws.call('events.subscribe');
  const r = await api(stack, token, 'vm.clone', { vm: 'vgt-c-one', name: 'vgt-c-two' });
  assert.equal(r.vm, 'vgt-c-two');
  assert.equal(r.project, P);
  const ev = await ws.waitEvent('vm.created', 5000);
  ws.close();
  assert.deepEqual({ ...ev.data, ts: 0 }, { type: 'vm.created', vm: 'vgt-c-two', project: P, host: stack.hostId, ts: 0 });
  const a = JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-one', 'spec'));
  const b = JSON.parse(stack.redis('hget', 'vg:vmdef:vgt-c-two', 'spec'));
  assert.equal(b.memory_mib, a.memory_mib);
  assert.equal(b.disks.length, 1);
  assert.equal(stack.redis('hget', `vg:project:${P}:usage`, 'instances'), '2');
  assert.match(stack.virsh('domstate', 'vgt-c-two'), /shut off/);
  await refused(api(stack, token, 'vm.clone', { vm: 'vgt-c-one' }), 'bad_request', /name/);
  await refused(api(stack, token, 'vm.clone', { vm: 'vgt-c-one', name: 5 }), 'bad_request', /name/);
  await refused(api(stack, token, 'vm.clone', { vm: 'vgt-c-none', name: 'vgt-c-3' }), 'not_found');
  await refused(api(stack, token, 'vm.clone', { vm: 'vgt-c-one', name: 'vgt-c-two' }), 'conflict', /taken/);
});

test('vm.adopt puts a VM of no project into one', { timeout: 60000 }, async () => {
  await until(() => stack.redis('hget', `vg:vm:${ADOPT}`, 'memory_mib'), 15000, 'hostd to report the size');
  await refused(api(stack, token, 'vm.adopt', { vm: ADOPT }), 'bad_request', /project/);
  await refused(api(stack, token, 'vm.adopt', { vm: ADOPT, project: 1 }), 'bad_request', /project/);
  await refused(api(stack, token, 'vm.adopt', { vm: 'vgt-c-none', project: P }), 'not_found');
  await refused(api(stack, token, 'vm.adopt', { vm: ADOPT, project: 'nope' }), 'not_found');
  const r = await api(stack, token, 'vm.adopt', { vm: ADOPT, project: P });
  assert.equal(r.project, P);
  assert.equal(stack.redis('hget', `vg:vmdef:${ADOPT}`, 'project'), P);
  assert.equal(stack.redis('hget', `vg:vmdef:${ADOPT}`, 'adopted'), '1');
  assert.equal(stack.redis('hget', `vg:project:${P}:usage`, 'instances'), '3');
  await refused(api(stack, token, 'vm.adopt', { vm: ADOPT, project: P }), 'conflict', /already/);
  await refused(api(stack, token, 'vm.clone', { vm: ADOPT, name: 'vgt-c-3' }), 'conflict', /adopted/);
});

test('vm.delete undefines a shut-off VM and gives the quota back', { timeout: 60000 }, async () => {
  await refused(api(stack, token, 'vm.delete', {}), 'bad_request');
  await refused(api(stack, token, 'vm.delete', { vm: 'vgt-c-two', disks: 'yes' }), 'bad_request', /disks/);
  await refused(api(stack, token, 'vm.delete', { vm: 'vgt-c-none' }), 'not_found');
  await refused(api(stack, token, 'vm.delete', { vm: ADOPT }), 'conflict', /running/);
  const ws = await apiWs(stack, token);
  await ws.call('events.subscribe');
  const r = await api(stack, token, 'vm.delete', { vm: 'vgt-c-two', disks: true });
  assert.deepEqual(r, { vm: 'vgt-c-two', project: P, disks: true });
  const ev = await ws.waitEvent('vm.deleted', 5000);
  ws.close();
  assert.equal(ev.data.vm, 'vgt-c-two');
  assert.equal(ev.data.project, P);
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-c-two'), '0');
  assert.equal(stack.redis('sismember', `vg:project:${P}:vms`, 'vgt-c-two'), '0');
  assert.throws(() => stack.virsh('domstate', 'vgt-c-two'));
  await api(stack, token, 'vm.delete', { vm: 'vgt-c-one', disks: true });
  const u = stack.redis('hmget', `vg:project:${P}:usage`, 'instances', 'memory_mib', 'disk_mib');
  assert.equal(u, `1\n128\n0`); // the adopted VM is left
  await until(() => stack.redis('exists', 'vg:vm:vgt-c-one') === '0', 10000, 'registry to forget it');
});

test('a host that does not answer in time or cannot be reached is unavailable', { timeout: 120000 }, async () => {
  const pid = Number(fs.readFileSync(path.join(stack.dir, 'run/hostd.pid'), 'utf8'));
  const before = usage();
  // A stopped hostd accepts the TCP connection but never answers: lws's handshake timeout
  // (20 s) or the call's 30 s deadline ends it, whichever comes first.
  process.kill(pid, 'SIGSTOP');
  try {
    const t0 = Date.now();
    await refused(api(stack, token, 'vm.xml', { vm: ADOPT }), 'unavailable',
      /did not answer vm\.xml in time|cannot be reached for vm\.xml/);
    assert.ok(Date.now() - t0 < 32000, 'within the 30 s deadline');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // Gone altogether, while its alive key still says up: the link cannot be opened.
  process.kill(pid, 'SIGTERM');
  await until(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10000, 'hostd to exit');
  await refused(api(stack, token, 'vm.create', { project: P, spec: spec('vgt-c-down') }), 'unavailable', /cannot be reached/);
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-c-down'), '0');
  assert.equal(usage(), before);
  await stack.restart('hostd');
});
