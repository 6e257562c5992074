// Projects (issue 4 §2, docs/api.md "Projects"): create, edit with quotas and allowed host
// groups / pools / networks, members kept in step with the users' reverse index, usage beside
// the quotas, activate/deactivate, and delete refused while the project still has VMs or
// environments.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { makeUser } from './lib/tenancy.mjs';
import { rejects } from './lib/wait.mjs';

let stack;
let admin;
let op; // token of olga, operator member of p1
let outsider; // token of oscar, member of no project

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-e-projects-' });
  admin = await login(stack);
  op = await login(stack, 'olga', await makeUser(stack, admin, 'olga', 'operator'));
  outsider = await login(stack, 'oscar', await makeUser(stack, admin, 'oscar', 'operator'));
});

after(async () => {
  await stack?.stop();
});

const UNLIMITED = { instances: -1, vcpus: -1, memory_mib: -1, disk_mib: -1, images: -1, snapshots: -1 };
const ZERO = { instances: 0, vcpus: 0, memory_mib: 0, disk_mib: 0, images: 0, snapshots: 0 };

test('project.create: the project with its quotas, unlimited where not given; bad input changes nothing', async () => {
  await api(stack, admin, 'project.create', { name: 'p1', description: 'first', quotas: { instances: 5, vcpus: 10 } });
  assert.equal(stack.redis('sismember', 'vg:projects', 'p1'), '1');
  assert.equal(stack.redis('hget', 'vg:project:p1', 'active'), '1');
  assert.equal(stack.redis('hget', 'vg:project:p1', 'q_instances'), '5');
  assert.equal(stack.redis('hget', 'vg:project:p1', 'q_memory_mib'), '-1');
  assert.equal(stack.redis('hget', 'vg:project:p1:usage', 'instances'), '0');
  const p = await api(stack, admin, 'project.get', { project: 'p1' });
  assert.equal(p.name, 'p1');
  assert.equal(p.description, 'first');
  assert.equal(p.active, true);
  assert.deepEqual(p.quota, { ...UNLIMITED, instances: 5, vcpus: 10 });
  assert.deepEqual(p.usage, ZERO);
  assert.deepEqual(p.members, {});
  assert.deepEqual([p.hostgroups, p.pools, p.networks, p.vms], [[], [], [], []]);

  await rejects(api(stack, admin, 'project.create', { name: 'p1' }), 'conflict', 409);
  await rejects(api(stack, admin, 'project.create', {}), 'bad_request', 400);
  await rejects(api(stack, admin, 'project.create', { name: 'p9', quotas: { instances: 'many' } }), 'bad_request');
  await rejects(api(stack, admin, 'project.create', { name: 'p9', quotas: { cores: 3 } }), 'bad_request');
  await rejects(api(stack, admin, 'project.create', { name: 'p9', quotas: { instances: -2 } }), 'bad_request');
  await rejects(api(stack, admin, 'project.create', { name: 'p9', pools: 'default' }), 'bad_request');
  await rejects(api(stack, admin, 'project.create', { name: 'p9', hostgroups: ['nosuchgroup'] }), 'not_found');
  await rejects(api(stack, op, 'project.create', { name: 'p9' }), 'forbidden', 403);
  assert.equal(stack.redis('exists', 'vg:project:p9'), '0');
  assert.equal(stack.redis('sismember', 'vg:projects', 'p9'), '0');
});

test('project.edit: description, quotas (-1 = unlimited) and what the project may use', async () => {
  await api(stack, admin, 'project.edit', {
    name: 'p1',
    description: 'renamed',
    quotas: { instances: -1, memory_mib: 4096 },
    pools: ['vmgate', 'fast'],
    networks: ['vmgate'],
  });
  const p = await api(stack, admin, 'project.get', { project: 'p1' });
  assert.equal(p.description, 'renamed');
  assert.deepEqual(p.quota, { ...UNLIMITED, vcpus: 10, memory_mib: 4096 });
  assert.deepEqual(p.pools, ['fast', 'vmgate']);
  assert.deepEqual(p.networks, ['vmgate']);
  assert.equal(stack.redis('smembers', 'vg:project:p1:networks'), 'vmgate');
  // An empty list means everything again.
  await api(stack, admin, 'project.edit', { name: 'p1', pools: [] });
  assert.equal(stack.redis('exists', 'vg:project:p1:pools'), '0');
  await rejects(api(stack, admin, 'project.edit', { name: 'nope', description: 'x' }), 'not_found', 404);
  await rejects(api(stack, admin, 'project.edit', { name: 'p1', description: 5 }), 'bad_request');
  await rejects(api(stack, admin, 'project.edit', { name: 'p1', networks: ['bad name'] }), 'bad_request');
  assert.equal(stack.redis('hget', 'vg:project:p1', 'description'), 'renamed');
});

test('members: set and remove keep vg:user:<u>:projects in step; list shows only own projects', async () => {
  await api(stack, admin, 'project.create', { name: 'p2' });
  const r = await api(stack, admin, 'project.member.set', { project: 'p1', user: 'olga', role: 'operator' });
  assert.deepEqual(r, { previous_role: '' });
  assert.equal(stack.redis('hget', 'vg:project:p1:members', 'olga'), 'operator');
  assert.equal(stack.redis('smembers', 'vg:user:olga:projects'), 'p1');
  assert.deepEqual((await api(stack, admin, 'user.get', { name: 'olga' })).projects, { p1: 'operator' });

  const mine = await api(stack, op, 'project.list');
  assert.deepEqual(mine.projects.map((p) => [p.name, p.role]), [['p1', 'operator']]);
  assert.deepEqual((await api(stack, outsider, 'project.list')).projects, []);
  const all = await api(stack, admin, 'project.list');
  assert.deepEqual(all.projects.map((p) => p.name), ['p1', 'p2']);

  await rejects(api(stack, admin, 'project.member.set', { project: 'p1', user: 'nobody', role: 'viewer' }), 'not_found');
  await rejects(api(stack, admin, 'project.member.set', { project: 'nope', user: 'olga', role: 'viewer' }), 'not_found');
  await rejects(api(stack, admin, 'project.member.set', { project: 'p1', user: 'olga', role: 'admin' }), 'bad_request');
  await rejects(api(stack, admin, 'project.member.set', { project: 'p1', user: 'olga' }), 'bad_request');
  await rejects(api(stack, admin, 'project.member.set', { project: 'p1', user: 7, role: 'viewer' }), 'bad_request');
  // Members do not manage membership, not even operators of the project.
  await rejects(api(stack, op, 'project.member.set', { project: 'p1', user: 'oscar', role: 'viewer' }), 'forbidden');
  assert.equal(stack.redis('hexists', 'vg:project:p1:members', 'oscar'), '0');

  await api(stack, admin, 'project.member.set', { project: 'p2', user: 'oscar', role: 'viewer' });
  await api(stack, admin, 'project.member.remove', { project: 'p2', user: 'oscar' });
  assert.equal(stack.redis('exists', 'vg:project:p2:members'), '0');
  assert.equal(stack.redis('sismember', 'vg:user:oscar:projects', 'p2'), '0');
  await rejects(api(stack, admin, 'project.member.remove', { project: 'p2', user: 'oscar' }), 'not_found');
  await rejects(api(stack, admin, 'project.member.remove', { project: 'p2' }), 'bad_request');
});

test('project.usage: quota and usage side by side, for members only', async () => {
  stack.redis('hincrby', 'vg:project:p1:usage', 'vcpus', '2');
  const u = await api(stack, op, 'project.usage', { project: 'p1' });
  assert.deepEqual(u, { project: 'p1', quota: { ...UNLIMITED, vcpus: 10, memory_mib: 4096 }, usage: { ...ZERO, vcpus: 2 } });
  stack.redis('hincrby', 'vg:project:p1:usage', 'vcpus', '-2');
  await rejects(api(stack, outsider, 'project.usage', { project: 'p1' }), 'forbidden', 403);
  await rejects(api(stack, outsider, 'project.get', { project: 'p1' }), 'forbidden');
  await rejects(api(stack, op, 'project.usage', { project: 'nope' }), 'not_found');
  await rejects(api(stack, op, 'project.usage', {}), 'bad_request');
  await rejects(api(stack, op, 'project.usage', { project: 'p1', extra: 1 }), 'bad_request');
});

test('deactivate shuts members out, administrators keep managing; wrong states are conflicts', async () => {
  await api(stack, admin, 'project.deactivate', { name: 'p1' });
  assert.equal(stack.redis('hget', 'vg:project:p1', 'active'), '0');
  await rejects(api(stack, op, 'project.get', { project: 'p1' }), 'forbidden');
  // Lists leave a deactivated project out for its members.
  assert.deepEqual((await api(stack, op, 'project.list')).projects, []);
  assert.equal((await api(stack, admin, 'project.get', { project: 'p1' })).active, false);
  await rejects(api(stack, admin, 'project.deactivate', { name: 'p1' }), 'conflict');
  await rejects(api(stack, admin, 'project.deactivate', { name: 'nope' }), 'not_found');
  await rejects(api(stack, admin, 'project.activate', { name: 4 }), 'bad_request');
  await api(stack, admin, 'project.activate', { name: 'p1' });
  await rejects(api(stack, admin, 'project.activate', { name: 'p1' }), 'conflict');
  assert.equal((await api(stack, op, 'project.get', { project: 'p1' })).name, 'p1');
});

test('project.delete: re-authenticated, refused while VMs or environments remain', async () => {
  const pw = stack.adminPassword;
  await rejects(api(stack, admin, 'project.delete', { name: 'p1' }), 'bad_request');
  await rejects(api(stack, admin, 'project.delete', { name: 'p1', admin_password: 'wrong' }), 'forbidden');
  await rejects(api(stack, admin, 'project.delete', { name: 'nope', admin_password: pw }), 'not_found');
  // A VM of the project (as vm.create / vm.adopt record it) blocks the delete.
  stack.redis('hset', 'vg:vmdef:vgt-e-ghost', 'name', 'vgt-e-ghost', 'project', 'p1');
  stack.redis('sadd', 'vg:project:p1:vms', 'vgt-e-ghost');
  const e = await rejects(api(stack, admin, 'project.delete', { name: 'p1', admin_password: pw }), 'conflict', 409);
  assert.match(e.message, /vgt-e-ghost/);
  stack.redis('del', 'vg:vmdef:vgt-e-ghost', 'vg:project:p1:vms');
  // So does an environment.
  stack.redis('hset', 'vg:env:e1', 'name', 'e1', 'project', 'p1');
  stack.redis('sadd', 'vg:envs', 'e1');
  await rejects(api(stack, admin, 'project.delete', { name: 'p1', admin_password: pw }), 'conflict');
  stack.redis('del', 'vg:env:e1');
  stack.redis('srem', 'vg:envs', 'e1');
  assert.equal(stack.redis('exists', 'vg:project:p1'), '1');

  await api(stack, admin, 'project.delete', { name: 'p1', admin_password: pw });
  for (const k of ['', ':members', ':usage', ':vms', ':pools', ':networks', ':hostgroups'])
    assert.equal(stack.redis('exists', `vg:project:p1${k}`), '0', k);
  assert.equal(stack.redis('sismember', 'vg:projects', 'p1'), '0');
  assert.equal(stack.redis('sismember', 'vg:user:olga:projects', 'p1'), '0');
  await rejects(api(stack, op, 'project.get', { project: 'p1' }), 'not_found');
});
