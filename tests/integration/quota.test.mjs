// Project quotas on VM creation (issue 4 §4; docs/api.md "VMs"): gateway_vm_reserve.lua claims
// the name and the quota in one step, so 20 concurrent vm.create against a quota of 5 make
// exactly 5 VMs and the usage counters stay exact through create, refusal and delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';

let stack;
let token;

const spec = (name, extra) => stack.guestSpec(name, extra);

const usage = (p) =>
  stack.redis('hmget', `vg:project:${p}:usage`, 'instances', 'vcpus', 'memory_mib', 'disk_mib');

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-quota-' });
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

test('20 concurrent vm.create against an instance quota of 5 make exactly 5', { timeout: 300000 }, async () => {
  await api(stack, token, 'project.create', { name: 'pq', quotas: { instances: 5 } });
  const names = Array.from({ length: 20 }, (_, i) => `vgt-c-q${i}`);
  const results = await Promise.allSettled(
    names.map((n) => api(stack, token, 'vm.create', { project: 'pq', spec: spec(n) })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.vm);
  const refused = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
  assert.equal(ok.length, 5, `created: ${ok.join(' ')}`);
  assert.equal(refused.length, 15);
  for (const e of refused) {
    assert.equal(e.code, 'quota_exceeded', e.message);
    assert.equal(e.status, 403);
    assert.match(e.message, /project pq: instances 5 of 5 used/);
  }
  assert.equal(usage('pq'), '5\n5\n640\n0');
  assert.deepEqual(stack.redis('smembers', 'vg:project:pq:vms').split('\n').sort(), ok.sort());
  const defined = stack.virsh('list', '--all', '--name').split('\n').filter((n) => n.startsWith('vgt-c-q'));
  assert.deepEqual(defined.sort(), ok.sort());
  for (const n of names.filter((x) => !ok.includes(x))) {
    assert.equal(stack.redis('exists', `vg:vmdef:${n}`), '0');
  }
  // Deleting one frees one place.
  await api(stack, token, 'vm.delete', { vm: ok[0] });
  assert.equal(usage('pq'), '4\n4\n512\n0');
  const again = await api(stack, token, 'vm.create', { project: 'pq', spec: spec('vgt-c-qnew') });
  assert.equal(again.vm, 'vgt-c-qnew');
  assert.equal(usage('pq'), '5\n5\n640\n0');
  for (const n of [...ok.slice(1), 'vgt-c-qnew']) await api(stack, token, 'vm.delete', { vm: n });
  assert.equal(usage('pq'), '0\n0\n0\n0');
});

test('memory, vCPU and disk quotas name what is short', { timeout: 120000 }, async () => {
  await api(stack, token, 'project.create', {
    name: 'pm',
    quotas: { memory_mib: 200, vcpus: 2, disk_mib: 100 },
  });
  await api(stack, token, 'vm.create', { project: 'pm', spec: spec('vgt-c-m1') });
  await assert.rejects(api(stack, token, 'vm.create', { project: 'pm', spec: spec('vgt-c-m2') }), (e) => {
    assert.equal(e.code, 'quota_exceeded');
    assert.match(e.message, /project pm: memory_mib 128 of 200 used, vgt-c-m2 needs 128 more/);
    return true;
  });
  await assert.rejects(
    api(stack, token, 'vm.create', { project: 'pm', spec: spec('vgt-c-m3', { memory_mib: 64, vcpus: 2 }) }),
    /quota_exceeded: vm.create: project pm: vcpus 1 of 2 used/,
  );
  await assert.rejects(
    api(stack, token, 'vm.create', {
      project: 'pm',
      spec: spec('vgt-c-m4', { memory_mib: 64, disks: [{ size_mib: 200, pool: stack.pool }] }),
    }),
    /quota_exceeded: vm.create: project pm: disk_mib 0 of 100 used/,
  );
  assert.equal(usage('pm'), '1\n1\n128\n0');
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-c-m2'), '0');
  await api(stack, token, 'vm.delete', { vm: 'vgt-c-m1' });
  assert.equal(usage('pm'), '0\n0\n0\n0');
});
