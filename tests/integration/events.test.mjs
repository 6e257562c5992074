// Events (docs/api.md "Events"): a VM's state change reaches subscribers within a second, and
// a subscriber hears only of what they may see: administrators everything; others the VMs and
// environments of their projects, and the hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, apiWs, login } from './lib/client.mjs';
import { makeMember, waitVms } from './lib/tenancy.mjs';
import { sleep, until } from './lib/wait.mjs';

const VM = 'vgt-d-ev1';
let stack;
let admin;

// The next event of type for VM with the given state, timed from t0.
async function stateEvent(ws, state, t0, ms = 3000) {
  for (;;) {
    const e = ws.events.find((x) => x.event === 'vm.state' && x.data.vm === VM && x.data.state === state);
    if (e) return { e, took: Date.now() - t0 };
    if (Date.now() - t0 > ms) return { e: null, took: Date.now() - t0 };
    await sleep(10);
  }
}

async function subscriber(user, password) {
  const ws = await apiWs(stack, await login(stack, user, password));
  assert.deepEqual(await ws.call('events.subscribe'), {});
  return ws;
}

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-d-events-' });
  admin = await login(stack);
  await waitVms(stack, admin, [VM]);
  await api(stack, admin, 'project.create', { name: 'pe1' });
  await api(stack, admin, 'project.create', { name: 'pe2' });
  await api(stack, admin, 'vm.adopt', { vm: VM, project: 'pe1' });
  for (const [u, p] of [['ve1', 'pe1'], ['ve2', 'pe2']]) {
    await makeMember(stack, admin, p, u, 'viewer', `${u}-password-1`);
  }
});

after(async () => {
  await stack?.stop();
});

test('vm.state reaches subscribers within 1 s of a virsh suspend; a viewer of another project hears nothing of that VM', { timeout: 120000 }, async (t) => {
  const wsAdmin = await apiWs(stack, admin);
  await wsAdmin.call('events.subscribe');
  const ws1 = await subscriber('ve1', 've1-password-1');
  const ws2 = await subscriber('ve2', 've2-password-1');

  // The clock starts once libvirt has made the change (virsh returned): how long libvirtd takes
  // to suspend a TCG guest is not vmgate's latency.
  stack.virsh('suspend', VM);
  let t0 = Date.now();
  for (const ws of [wsAdmin, ws1]) {
    const { e, took } = await stateEvent(ws, 'paused', t0);
    t.diagnostic(`vm.state paused after ${took} ms`);
    assert.ok(e, 'vm.state paused arrives');
    assert.ok(took < 1000, `vm.state after ${took} ms`);
    assert.equal(e.data.host, stack.hostId);
  }
  stack.virsh('resume', VM);
  t0 = Date.now();
  const resumed = await stateEvent(ws1, 'running', t0);
  t.diagnostic(`vm.state running after ${resumed.took} ms`);
  assert.ok(resumed.e && resumed.took < 1000, `vm.state running after ${resumed.took} ms`);
  await sleep(1000);
  assert.deepEqual(ws2.events.filter((e) => e.data.vm === VM), [], 've2 hears nothing of pe1\'s VM');

  // Host events concern everyone.
  await api(stack, admin, 'host.set', { host: stack.hostId, maintenance: true });
  await ws2.waitEvent('host.maintenance', 1000);
  await api(stack, admin, 'host.set', { host: stack.hostId, maintenance: false });

  // Environments of pe1: ve1 hears of them, ve2 does not.
  await api(stack, admin, 'env.create', { project: 'pe1', name: 'e-ev' });
  const ev = await ws1.waitEvent('env.changed', 1000);
  assert.deepEqual([ev.data.env, ev.data.project, ev.data.action], ['e-ev', 'pe1', 'created']);
  await wsAdmin.waitEvent('env.changed', 1000);
  await sleep(500);
  assert.equal(ws2.events.filter((e) => e.event === 'env.changed').length, 0);

  // ve2 joins pe1: the project.member event it receives refreshes its filter at once, and from
  // then on ve2 hears of pe1's VM too.
  await api(stack, admin, 'project.member.set', { project: 'pe1', user: 've2', role: 'viewer' });
  const joined = await ws2.waitEvent('project.member', 1000);
  assert.deepEqual([joined.data.project, joined.data.user, joined.data.role], ['pe1', 've2', 'viewer']);
  await sleep(300);
  stack.virsh('suspend', VM);
  t0 = Date.now();
  const late = await stateEvent(ws2, 'paused', t0);
  assert.ok(late.e && late.took < 1000, `ve2 hears of pe1's VM once a member (${late.took} ms)`);
  stack.virsh('resume', VM);

  for (const ws of [wsAdmin, ws1, ws2]) await ws.close();
});

test('events.subscribe: WebSocket only, no parameters, answered once per subscription', async () => {
  await assert.rejects(api(stack, admin, 'events.subscribe'), (e) => e.code === 'bad_request');
  const ws = await apiWs(stack, admin);
  await assert.rejects(ws.call('events.subscribe', { x: 1 }), (e) => e.code === 'bad_request');
  assert.deepEqual(await ws.call('events.subscribe'), {});
  assert.deepEqual(await ws.call('events.subscribe'), {});
  await api(stack, admin, 'host.set', { host: stack.hostId, maintenance: true });
  await ws.waitEvent('host.maintenance', 1000);
  await sleep(300);
  assert.equal(ws.events.filter((e) => e.event === 'host.maintenance').length, 1, 'each event once');
  await api(stack, admin, 'host.set', { host: stack.hostId, maintenance: false });
  await ws.close();
});

// Each subscriber re-read its scope every 5 s (gateway_events_scope.lua, one script per
// subscriber: 2,000 a second for 10,000 subscribers, docs/performance.md "1,000 hosts"). Now a
// gateway reads a user's scope once for all that user's connections, and again only when an
// event names a change of it (or after 60 s).
test('the events scope is read once per user, not every 5 s per subscriber; a membership added applies to every connection of the user', { timeout: 120000 }, async () => {
  const pw = 've3-password-1';
  await makeMember(stack, admin, 'pe2', 've3', 'viewer', pw);
  const sha = crypto.createHash('sha1').update(['lib/prelude.lua', 'gateway_events_scope.lua']
    .map((f) => fs.readFileSync(path.join(REPO, 'redis-scripts', f), 'utf8')).join('')).digest('hex');
  const monitor = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(stack.redisPort), 'monitor'], {
    env: { ...process.env, REDISCLI_AUTH: stack.redisPassword },
  });
  let seen = '';
  monitor.stdout.on('data', (d) => { seen += d; });
  await sleep(300);
  const reads = () => seen.split('\n').filter((l) => l.includes(`"EVALSHA" "${sha}"`) && l.includes('"ve3"')).length;
  const conns = [];
  try {
    for (let i = 0; i < 3; i++) conns.push(await subscriber('ve3', pw));
    await sleep(11000);
    assert.equal(reads(), 1, 'scope reads for 3 connections of one user over 11 s');

    // ve3 joins pe1: the project.member event re-reads the scope once, and all three
    // connections hear of pe1's VM from then on.
    await api(stack, admin, 'project.member.set', { project: 'pe1', user: 've3', role: 'viewer' });
    await until(() => reads() === 2, 3000, 'the scope read again after project.member');
    await sleep(300);
    assert.equal(reads(), 2);
    stack.virsh('suspend', VM);
    const t0 = Date.now();
    for (const ws of conns) {
      const { e, took } = await stateEvent(ws, 'paused', t0);
      assert.ok(e && took < 1000, `every connection of ve3 hears of pe1's VM (${took} ms)`);
    }
    stack.virsh('resume', VM);
  } finally {
    monitor.kill();
    for (const ws of conns) await ws.close();
  }
});
