// Environments (docs/api.md "Environments"): env.create / edit / get / list / delete, the batch
// actions env.stop / start / reboot with one result per VM, and env.status by role with the
// console reachability probe — each with its refusals, checked against redis-cli.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { makeMember, waitVms } from './lib/tenancy.mjs';
import { refused, sleep } from './lib/wait.mjs';

const VM = 'vgt-d-env1';
let stack;
let admin;
let viewer;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-d-env-' });
  admin = await login(stack);
  await waitVms(stack, admin, [VM]);
  await api(stack, admin, 'project.create', { name: 'pv1' });
  await api(stack, admin, 'project.create', { name: 'pv2' });
  await api(stack, admin, 'vm.adopt', { vm: VM, project: 'pv1' });
  viewer = await login(stack, 'vv1', await makeMember(stack, admin, 'pv1', 'vv1', 'viewer', 'vv1-password-1'));
});

after(async () => {
  await stack?.stop();
});

test('env.create, env.edit, env.get, env.list and their refusals', async () => {
  const e = await api(stack, admin, 'env.create', { project: 'pv1', name: 'shop', description: 'the shop' });
  assert.deepEqual([e.name, e.project, e.description, e.vms], ['shop', 'pv1', 'the shop', []]);
  assert.equal(stack.redis('sismember', 'vg:envs', 'shop'), '1');
  assert.equal(stack.redis('hget', 'vg:env:shop', 'project'), 'pv1');

  await refused(api(stack, admin, 'env.create', { project: 'pv1', name: 'shop' }), 'conflict', /exists/);
  await refused(api(stack, admin, 'env.create', { project: 'pv1' }), 'bad_request', /name/);
  await refused(api(stack, admin, 'env.create', { project: 'pv1', name: ['x'] }), 'bad_request', /name/);
  await refused(api(stack, admin, 'env.create', { project: 'nop', name: 'x' }), 'not_found');
  await refused(api(stack, admin, 'env.create', { project: 'pv1', name: 'x', color: 1 }), 'bad_request', /color/);
  await refused(api(stack, viewer, 'env.create', { project: 'pv1', name: 'x' }), 'forbidden');
  assert.equal(stack.redis('sismember', 'vg:envs', 'x'), '0');

  const ed = await api(stack, admin, 'env.edit', { env: 'shop', vms: { [VM]: 'web' } });
  assert.equal(ed.vms.length, 1);
  assert.deepEqual([ed.vms[0].vm, ed.vms[0].role, ed.vms[0].host], [VM, 'web', stack.hostId]);
  assert.equal(stack.redis('hget', 'vg:env:shop:vms', VM), 'web');
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'env'), 'shop');
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'role'), 'web');

  await refused(api(stack, admin, 'env.edit', { env: 'shop', vms: [VM] }), 'bad_request', /vms/);
  await refused(api(stack, admin, 'env.edit', { env: 'shop', vms: { [VM]: 'bad role' } }), 'bad_request', /role/);
  await refused(api(stack, admin, 'env.edit', { env: 'shop', vms: { 'vgt-nope': 'db' } }), 'not_found', /vgt-nope/);
  await refused(api(stack, admin, 'env.edit', { vms: {} }), 'bad_request', /env/);
  await refused(api(stack, admin, 'env.edit', { env: 'noenv', description: 'x' }), 'not_found');
  await api(stack, admin, 'env.create', { project: 'pv1', name: 'shop2' });
  await refused(api(stack, admin, 'env.edit', { env: 'shop2', vms: { [VM]: 'db' } }), 'conflict', /environment shop/);
  await api(stack, admin, 'env.create', { project: 'pv2', name: 'other' });
  await refused(api(stack, admin, 'env.edit', { env: 'other', vms: { [VM]: 'db' } }), 'conflict', /project pv1/);
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'env'), 'shop');
  assert.equal(stack.redis('hlen', 'vg:env:other:vms'), '0');

  const got = await api(stack, viewer, 'env.get', { env: 'shop' });
  assert.equal(got.vms[0].role, 'web');
  const mine = await api(stack, viewer, 'env.list');
  assert.deepEqual(mine.envs.map((x) => x.name), ['shop', 'shop2'], 'a viewer sees the environments of their projects');
  assert.deepEqual(mine.envs[0].vms, { [VM]: 'web' });
  assert.deepEqual(mine.envs[1].vms, {}, 'an empty environment\'s members are an empty object');
  const all = await api(stack, admin, 'env.list');
  assert.deepEqual(all.envs.map((x) => x.name), ['other', 'shop', 'shop2']);
  await refused(api(stack, viewer, 'env.get', { env: 'other' }), 'forbidden');
  await refused(api(stack, viewer, 'env.edit', { env: 'shop', description: 'x' }), 'forbidden');

  await api(stack, admin, 'env.delete', { env: 'shop2' });
  await api(stack, admin, 'env.delete', { env: 'other' });
  await refused(api(stack, admin, 'env.delete', { env: 'other' }), 'not_found');
});

test('env.status counts by role and probes the consoles; env.stop / env.start / env.reboot answer per VM', { timeout: 300000 }, async () => {
  let st;
  for (const t0 = Date.now(); ; await sleep(1000)) {
    st = await api(stack, viewer, 'env.status', { env: 'shop' });
    if (st.roles.web?.reachable === 1) break;
    assert.ok(Date.now() - t0 < 90000, `console reachable: ${JSON.stringify(st)}`);
  }
  assert.deepEqual(st.roles, { web: { total: 1, running: 1, reachable: 1, unreachable: 0 } });
  assert.deepEqual([st.vms[0].vm, st.vms[0].reachable, st.vms[0].state], [VM, true, 'running']);
  await refused(api(stack, viewer, 'env.stop', { env: 'shop' }), 'forbidden');
  await refused(api(stack, admin, 'env.stop', { env: 'shop', force: true }), 'bad_request', /force/);
  await refused(api(stack, admin, 'env.stop', {}), 'bad_request', /env/);
  await refused(api(stack, admin, 'env.stop', { env: 'shop', timeout_s: 0 }), 'bad_request', /timeout_s/);
  await refused(api(stack, admin, 'env.stop', { env: 'noenv' }), 'not_found');

  let t0 = Date.now();
  const stop = await api(stack, admin, 'env.stop', { env: 'shop', timeout_s: 20 });
  console.log(`env.stop took ${Date.now() - t0} ms (forced: ${stop.vms[0].forced})`);
  assert.deepEqual([stop.ok, stop.failed], [1, 0], JSON.stringify(stop));
  assert.deepEqual([stop.vms[0].vm, stop.vms[0].result, stop.vms[0].state], [VM, 'ok', 'shutoff']);
  for (const t0 = Date.now(); stack.redis('hget', `vg:vm:${VM}`, 'state') !== 'shutoff';) {
    assert.ok(Date.now() - t0 < 5000, 'registry shows shutoff');
    await sleep(100);
  }
  const again = await api(stack, admin, 'env.stop', { env: 'shop' });
  assert.deepEqual([again.vms[0].result, again.vms[0].message], ['ok', 'already shut off']);
  const reboot = await api(stack, admin, 'env.reboot', { env: 'shop' });
  assert.equal(reboot.failed, 1, 'a shut-off VM cannot reboot');
  assert.equal(reboot.vms[0].result, 'conflict', JSON.stringify(reboot));
  st = await api(stack, admin, 'env.status', { env: 'shop' });
  assert.deepEqual(st.roles.web, { total: 1, running: 0, reachable: 0, unreachable: 0 });

  t0 = Date.now();
  const start = await api(stack, admin, 'env.start', { env: 'shop' });
  console.log(`env.start took ${Date.now() - t0} ms`);
  assert.deepEqual([start.ok, start.vms[0].result, start.vms[0].state], [1, 'ok', 'running'], JSON.stringify(start));
  // The skip reads the registry, which hostd updates a few milliseconds after the start.
  for (const t1 = Date.now(); stack.redis('hget', `vg:vm:${VM}`, 'state') !== 'running';) {
    assert.ok(Date.now() - t1 < 5000, 'registry shows running');
    await sleep(100);
  }
  const twice = await api(stack, admin, 'env.start', { env: 'shop' });
  assert.equal(twice.vms[0].message, 'already running');
  for (const t0 = Date.now(); ; await sleep(1000)) {
    st = await api(stack, admin, 'env.status', { env: 'shop' });
    if (st.roles.web.reachable === 1) break;
    assert.ok(Date.now() - t0 < 90000, `console reachable again: ${JSON.stringify(st)}`);
  }
  t0 = Date.now();
  const rb = await api(stack, admin, 'env.reboot', { env: 'shop' });
  console.log(`env.reboot took ${Date.now() - t0} ms`);
  assert.deepEqual([rb.ok, rb.vms[0].result], [1, 'ok'], JSON.stringify(rb));

  const audit = stack.redis('xrevrange', 'vg:audit', '+', '-', 'count', '50');
  for (const m of ['env.stop', 'env.start', 'env.reboot']) assert.match(audit, new RegExp(m));
});

test('env.delete keeps the VMs and clears their environment', async () => {
  await api(stack, admin, 'env.delete', { env: 'shop' });
  assert.equal(stack.redis('exists', 'vg:env:shop', 'vg:env:shop:vms'), '0');
  assert.equal(stack.redis('sismember', 'vg:envs', 'shop'), '0');
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'env'), '');
  assert.equal(stack.redis('hget', `vg:vmdef:${VM}`, 'project'), 'pv1');
  await refused(api(stack, admin, 'env.get', { env: 'shop' }), 'not_found');
});
