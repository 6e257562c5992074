// vm.list pages and filters (issue 18, "no script walks the fleet"): the pages of a cursor walk
// join to the unpaged list with no VM twice or missing; project, host, state, env and prefix
// filters; a caller sees only their projects' VMs whatever the filter names; bad parameters are
// bad_request; and a listing reads the name indexes of what the caller may see, not the whole
// registry (20,000 VMs of another host written straight into the registry cost it nothing).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { createVm, makeMember, makeUser, putVmInProject } from './lib/tenancy.mjs';
import { refused } from './lib/wait.mjs';

const RUN = 'vgt-l-run';
const A = Array.from({ length: 7 }, (_, i) => `vgt-l-a${String(i + 1).padStart(2, '0')}`);
const B = Array.from({ length: 5 }, (_, i) => `vgt-l-b${String(i + 1).padStart(2, '0')}`);
const GHOSTS = 20000;

let stack;
let admin;
let both; // member of p1 and p2
let bob; // member of p2 only

before(async () => {
  stack = await startStack({ vms: [RUN], prefix: 'vgt-l-list-' });
  admin = await login(stack);
  for (const p of ['p1', 'p2']) await api(stack, admin, 'project.create', { name: p });
  const pw = await makeMember(stack, admin, 'p1', 'alice', 'operator');
  await api(stack, admin, 'project.member.set', { project: 'p2', user: 'alice', role: 'viewer' });
  both = await login(stack, 'alice', pw);
  bob = await login(stack, 'bob', await makeMember(stack, admin, 'p2', 'bob', 'viewer'));
  await putVmInProject(stack, admin, RUN, 'p1');
  for (const n of A) await createVm(stack, admin, 'p1', stack.guestSpec(n));
  for (const n of B) await createVm(stack, admin, 'p2', stack.guestSpec(n));
  await api(stack, admin, 'env.create', { project: 'p1', name: 'e1' });
  await api(stack, admin, 'env.edit', { env: 'e1', vms: { [A[1]]: 'web', [A[4]]: 'db' } });
});

after(async () => {
  await stack?.stop();
});

async function pages(token, params, limit) {
  const seen = [];
  let cursor;
  let calls = 0;
  do {
    const res = await api(stack, token, 'vm.list', { ...params, limit, ...(cursor ? { cursor } : {}) });
    assert.ok(res.vms.length <= limit, `a page holds at most ${limit}`);
    seen.push(...res.vms);
    cursor = res.next;
    assert.ok(++calls < 100, 'the cursor walk ends');
  } while (cursor);
  return seen;
}

const names = (vms) => vms.map((v) => v.name);

test('pages of 4 join to the unpaged list: sorted, none twice, none missing', async () => {
  const all = await api(stack, both, 'vm.list');
  assert.equal(all.next, null, 'a caller that does not page gets the whole list and next null');
  assert.deepEqual(names(all.vms), [...A, ...B, RUN].sort());
  const paged = await pages(both, {}, 4);
  assert.deepEqual(paged, all.vms);
  for (const limit of [1, 13, 14]) assert.deepEqual(await pages(both, {}, limit), all.vms, `limit ${limit}`);
  const run = all.vms.find((v) => v.name === RUN);
  assert.equal(run.project, 'p1');
  assert.equal(run.host_up, true);
  assert.equal(run.consoles[0], 'serial0');
});

test('filters: project, host, state, env, prefix, and their combinations', async () => {
  const host = stack.hosts[0].id;
  const list = async (token, p) => names((await api(stack, token, 'vm.list', p)).vms);
  assert.deepEqual(await list(both, { project: 'p2' }), B);
  assert.deepEqual(await list(both, { state: 'running' }), [RUN]);
  assert.deepEqual(await list(both, { state: 'shutoff', project: 'p1' }), A);
  assert.deepEqual(await list(both, { host }), [...A, ...B, RUN].sort());
  assert.deepEqual(await list(both, { host: 'no-such-host' }), []);
  assert.deepEqual(await list(both, { env: 'e1' }), [A[1], A[4]]);
  assert.deepEqual(await list(both, { env: 'e1', prefix: 'vgt-l-a05' }), [A[4]]);
  assert.deepEqual(await list(both, { prefix: 'vgt-l-b0' }), B);
  assert.deepEqual(await list(both, { prefix: 'vgt-l-a0', project: 'p2' }), []);
  assert.deepEqual(await list(both, { prefix: 'vgt-l-c' }), []);
  assert.deepEqual(names(await pages(both, { prefix: 'vgt-l-a', state: 'shutoff' }, 2)), A);
  assert.deepEqual(names(await pages(both, { host, project: 'p1' }, 3)), [...A, RUN].sort());
});

test('a caller sees only their own projects\' VMs, whatever the filters name', async () => {
  const list = async (p) => names((await api(stack, bob, 'vm.list', p)).vms);
  assert.deepEqual(await list({}), B);
  assert.deepEqual(await list({ project: 'p1' }), []);
  assert.deepEqual(await list({ env: 'e1' }), []);
  assert.deepEqual(await list({ host: stack.hosts[0].id }), B);
  assert.deepEqual(await list({ prefix: 'vgt-l-a' }), []);
  assert.deepEqual(await list({ cursor: 'vgt-l-a' }), B);
  // A user of no project sees nothing; an administrator sees everything.
  const carl = await login(stack, 'carl', await makeUser(stack, admin, 'carl', 'operator'));
  assert.deepEqual((await api(stack, carl, 'vm.list')).vms, []);
  assert.ok(names((await api(stack, admin, 'vm.list')).vms).includes(RUN));
});

test('bad parameters are bad_request naming the field, and change nothing', async () => {
  for (const [params, field] of [
    [{ limit: 0 }, 'limit'],
    [{ limit: 1001 }, 'limit'],
    [{ limit: '5' }, 'limit'],
    [{ state: 'asleep' }, 'state'],
    [{ project: '../p1' }, 'project'],
    [{ cursor: 'x'.repeat(65) }, 'cursor'],
    [{ prefix: '' }, 'prefix'],
    [{ sort: 'name' }, 'sort'],
  ]) {
    await refused(api(stack, both, 'vm.list', params), 'bad_request', new RegExp(field));
  }
  assert.equal((await api(stack, both, 'vm.list', { cursor: null })).vms.length, 13);
});

test('a listing reads what the caller may see, not the fleet: 20,000 foreign VMs cost it nothing', async () => {
  // A second, fictitious host's registry as hostd_sync.lua writes it, without the name index (as
  // a registry written before the indexes existed): the first listing rebuilds it.
  stack.redis('eval', `for i = 1, ${GHOSTS} do
      local n = string.format('vgt-l-ghost%05d', i)
      redis.call('SADD', 'vg:vms', n)
      redis.call('SADD', 'vg:host:ghost:vms', n)
      redis.call('HSET', 'vg:vm:' .. n, 'name', n, 'uuid', '', 'host', 'ghost', 'state', 'running')
    end`, '0');
  stack.redis('del', 'vg:vms:byname');
  const first = await api(stack, admin, 'vm.list');
  assert.equal(first.vms.length, 1000, 'an administrator\'s first page is full');
  assert.ok(first.next, 'and says there is more');
  const ghosts = await pages(admin, { host: 'ghost', prefix: 'vgt-l-ghost1' }, 1000);
  assert.equal(ghosts.length, 10000);
  assert.equal(ghosts[0].host_up, false);
  assert.equal(stack.redis('zcard', 'vg:vms:byname'), stack.redis('scard', 'vg:vms'));

  const stat = () => {
    const info = stack.redis('info', 'commandstats');
    let n = 0;
    for (const m of info.matchAll(/^cmdstat_(hget|hmget|hkeys|exists):calls=(\d+)/gm)) n += Number(m[2]);
    return n;
  };
  const before = stat();
  const res = await api(stack, bob, 'vm.list', { limit: 2 });
  const reads = stat() - before;
  assert.deepEqual(names(res.vms), B.slice(0, 2));
  // About 5 reads per listed VM; a heartbeat of the stack's hostd may fall in between (a few
  // per VM of its 14). Reading every VM of the registry would be 20,000 and more.
  assert.ok(reads < 200, `bob's listing cost ${reads} hash reads`);
});

// A row cost four reads — the definition, the VM, its host's alive key, its consoles hash — so a
// page of 1,000 took 30-48 ms of Redis at 1,000 hosts (docs/performance.md "1,000 hosts"). The
// VM hash now carries its sorted device names (hostd_sync.lua), and a host's alive key is read
// once per page.
test('a page reads two hashes per VM and each host\'s alive key once: 500 VMs of one host, ~1,000 reads', async () => {
  const script = ['lib/prelude.lua', 'hostd_sync.lua'].map((f) => fs.readFileSync(path.join(REPO, 'redis-scripts', f), 'utf8')).join('');
  const host = 'vgt-l-dense';
  const vms = Array.from({ length: 500 }, (_, i) => {
    const name = `vgt-l-dense${String(i).padStart(3, '0')}`;
    return { name, uuid: '', state: 'running', vcpus: 1, memory_mib: 64, autostart: 0,
      consoles: { serial0: `/x/com-${name}.sock`, console1: `/x/com-${name}-console1.sock` } };
  });
  const sync = (list) => stack.redis('eval', script, '0', host, JSON.stringify({ id: host, started_ms: '1', heartbeat_interval_ms: '60000' }),
    JSON.stringify(list), '180000', String(Date.now()));
  sync(vms);
  try {
    const stat = () => {
      let n = 0;
      for (const m of stack.redis('info', 'commandstats').matchAll(/^cmdstat_(hget|hmget|hkeys|exists):calls=(\d+)/gm)) n += Number(m[2]);
      return n;
    };
    const before = stat();
    const res = await api(stack, admin, 'vm.list', { host, limit: 1000 });
    const reads = stat() - before;
    assert.equal(res.vms.length, 500);
    assert.deepEqual(res.vms[0].consoles, ['serial0', 'console1'], 'serial0 first, then the others sorted');
    assert.equal(res.vms[0].host_up, true);
    // 2 x 500 + 1, and a heartbeat or host watch of the stack that may fall in between (a few
    // dozen); four reads a row would be 2,000.
    assert.ok(reads < 1100, `a page of 500 VMs cost ${reads} hash reads`);
  } finally {
    sync([]);
    stack.redis('srem', 'vg:hosts', host);
    stack.redis('del', `vg:host:${host}`, `vg:host:${host}:alive`, `vg:host:${host}:vms`, `vg:host:${host}:vms:byname`);
  }
});
