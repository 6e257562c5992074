// Snapshots through the API (issue 3 §6; docs/api.md "Snapshots"): create, list, revert and
// delete on a VM with a qcow2 disk, shut off and running, with q_snapshots enforced and the
// project's snapshot usage exact afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { createVm } from './lib/tenancy.mjs';
import { refused, until } from './lib/wait.mjs';

const VM = 'vgt-c-snap';
const P = 'pc-snap';
let stack;
let token;

const used = () => stack.redis('hget', `vg:project:${P}:usage`, 'snapshots');
const names = async () => (await api(stack, token, 'snapshot.list', { vm: VM })).snapshots.map((s) => s.name).sort();

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-snap-' });
  token = await login(stack);
  await api(stack, token, 'project.create', { name: P, quotas: { snapshots: 2 } });
  await createVm(stack, token, P, stack.guestSpec(VM, { disks: [{ size_mib: 32, format: 'qcow2', pool: stack.pool }] }));
});

after(async () => {
  await stack?.stop();
});

test('parameters are checked', async () => {
  await refused(api(stack, token, 'snapshot.create', { vm: VM }), 'bad_request', /name/);
  await refused(api(stack, token, 'snapshot.create', { vm: VM, name: 1 }), 'bad_request', /name/);
  await refused(api(stack, token, 'snapshot.create', { vm: VM, name: 's', disk_only: 'no' }), 'bad_request', /disk_only/);
  await refused(api(stack, token, 'snapshot.list', { vm: 'vgt-c-none' }), 'not_found');
  await refused(api(stack, token, 'snapshot.revert', { vm: VM, name: 'nope' }), 'not_found');
  await refused(api(stack, token, 'snapshot.delete', { vm: VM, name: 'nope', children: 1 }), 'bad_request', /children/);
  assert.equal(used(), '0');
});

test('create, list, revert, delete on a shut-off VM; q_snapshots holds', { timeout: 120000 }, async () => {
  const a = await api(stack, token, 'snapshot.create', { vm: VM, name: 's1', description: 'first' });
  assert.deepEqual(a, { vm: VM, name: 's1', parent: null });
  const b = await api(stack, token, 'snapshot.create', { vm: VM, name: 's2' });
  assert.equal(b.parent, 's1');
  assert.equal(used(), '2');
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'snapshots'), '2');
  await refused(api(stack, token, 'snapshot.create', { vm: VM, name: 's3' }), 'quota_exceeded',
    new RegExp(`project ${P}: snapshots 2 of 2 used`));
  assert.equal(used(), '2');
  assert.deepEqual(await names(), ['s1', 's2']);
  const list = (await api(stack, token, 'snapshot.list', { vm: VM })).snapshots;
  assert.equal(list.find((s) => s.name === 's2').current, true);
  assert.match(stack.virsh('snapshot-list', '--name', VM), /s1\s+s2/);
  assert.deepEqual(await api(stack, token, 'snapshot.revert', { vm: VM, name: 's1' }), { vm: VM, name: 's1' });
  assert.match(stack.virsh('snapshot-current', '--name', VM), /s1/);
  // hostd refuses a taken name; the reserved place is given back.
  await refused(api(stack, token, 'snapshot.delete', { vm: VM, name: 's2' }).then(() =>
    api(stack, token, 'snapshot.create', { vm: VM, name: 's1' })), 'conflict');
  assert.equal(used(), '1');
  await api(stack, token, 'snapshot.delete', { vm: VM, name: 's1', children: true });
  assert.deepEqual(await names(), []);
  assert.equal(used(), '0');
});

test('a running VM is snapshotted with its memory and reverted', { timeout: 240000 }, async () => {
  await api(stack, token, 'vm.start', { vm: VM });
  (await openShell(stack, token, { vm: VM })).close();
  await api(stack, token, 'snapshot.create', { vm: VM, name: 'live' });
  const s = (await api(stack, token, 'snapshot.list', { vm: VM })).snapshots[0];
  assert.equal(s.name, 'live');
  assert.equal(s.state, 'running');
  await api(stack, token, 'vm.destroy', { vm: VM });
  await api(stack, token, 'snapshot.revert', { vm: VM, name: 'live' });
  await until(() => /running/.test(stack.virsh('domstate', VM)), 30000, 'reverted to running');
  await api(stack, token, 'vm.destroy', { vm: VM });
  await api(stack, token, 'snapshot.delete', { vm: VM, name: 'live' });
  assert.equal(used(), '0');
  // Deleting the VM gives back whatever snapshots it still had.
  await api(stack, token, 'snapshot.create', { vm: VM, name: 'last' });
  assert.equal(used(), '1');
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'state') === 'shutoff', 10000, 'shutoff');
  await api(stack, token, 'vm.delete', { vm: VM, disks: true });
  assert.equal(used(), '0');
});
