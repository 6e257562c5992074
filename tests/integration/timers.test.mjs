// Timers (M10, docs/api.md "Timers") on a stack with two gateways on one Redis: each
// occurrence runs exactly once, also while a gateway restarts; bad schedules are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { until, refused, sleep } from './lib/wait.mjs';
import { startSecondGateway } from './lib/gateway2.mjs';

const VM = 'vgt-timers';
let stack;
let admin;
let second; // the second gateway
let stack2;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-timers-' });
  admin = await login(stack);
  second = await startSecondGateway(stack, admin);
  stack2 = second.stack;
});

after(async () => {
  await second?.stop();
  await stack?.stop();
});

test('timer.create refuses an unknown time zone, a weekly timer without weekday, both vm and env, an unknown VM', async () => {
  const base = { name: 'bad', action: 'start', vm: VM };
  await refused(api(stack, admin, 'timer.create', { ...base, schedule: 'daily', at: '07:30', tz: 'Mars/Olympus' }),
    'bad_request', /time zone/);
  await refused(api(stack, admin, 'timer.create', { ...base, schedule: 'daily', at: '07:30', tz: '../etc/passwd' }),
    'bad_request', /time zone/);
  await refused(api(stack, admin, 'timer.create', { ...base, schedule: 'weekly', at: '07:30' }), 'bad_request', /weekday/);
  await refused(api(stack, admin, 'timer.create', { ...base, schedule: 'daily', at: '25:00' }), 'bad_request', /at/);
  await refused(api(stack, admin, 'timer.create', { ...base, env: 'e', schedule: 'every', every_min: 5 }),
    'bad_request', /exactly one/);
  await refused(api(stack, admin, 'timer.create', { ...base, vm: 'vgt-nosuch', schedule: 'every', every_min: 5 }),
    'not_found', /unknown VM/);
  assert.deepEqual((await api(stack, admin, 'timer.list')).timers, []);
});

test('a daily timer in a time zone is due at that local time, and pause clears its next run', async () => {
  const t = await api(stack, admin, 'timer.create', {
    name: 'morning', action: 'stop', vm: VM, schedule: 'daily', at: '07:30', tz: 'America/New_York',
  });
  const next = new Date(t.next_ms);
  const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', hour: '2-digit', minute: '2-digit' })
    .format(next);
  assert.equal(local, '07:30');
  assert.ok(t.next_ms > Date.now() && t.next_ms <= Date.now() + 86400000);
  const p = await api(stack2, admin, 'timer.pause', { name: 'morning', paused: true });
  assert.equal(p.paused, true);
  assert.equal(p.next_ms, null);
  const e = await api(stack, admin, 'timer.edit', { name: 'morning', schedule: 'weekly', weekday: 1 });
  assert.equal(e.schedule, 'weekly');
  assert.equal(e.at, '07:30');
  await api(stack, admin, 'timer.delete', { name: 'morning' });
  await refused(api(stack, admin, 'timer.delete', { name: 'morning' }), 'not_found');
});

test('a timer every minute on two gateways runs exactly once per minute, also while one gateway restarts', async () => {
  const created = Date.now();
  await api(stack, admin, 'timer.create', { name: 'tick', action: 'reboot', vm: VM, schedule: 'every', every_min: 1 });
  const first = Math.floor(created / 60000) * 60000 + 60000;
  const last = first + 2 * 60000;
  // Restart the first gateway right after the first run: the second one carries on, then
  // both look again.
  await sleep(first + 15000 - Date.now());
  await stack.restart('gateway');
  await sleep(last + 20000 - Date.now());
  await api(stack, admin, 'timer.pause', { name: 'tick', paused: true });
  const audit = await api(stack, admin, 'audit.query', { kind: 'timer', limit: 1000 });
  const runs = audit.entries.filter((e) => e.detail.startsWith('timer=tick '));
  const occ = runs.map((e) => Number(/occurrence_ms=(\d+)/.exec(e.detail)[1])).sort();
  assert.deepEqual(occ, [first, first + 60000, last], JSON.stringify(runs));
  for (const r of runs) {
    assert.equal(r.method, 'timer.run');
    assert.equal(r.user, 'admin');
    assert.equal(r.vm, VM);
    assert.equal(r.result, 'ok', r.detail);
  }
  // Each run was an ordinary vm.reboot call of the owner, audited as such.
  const calls = await api(stack, admin, 'audit.query', { kind: 'api', addr: 'timer:tick', limit: 1000 });
  assert.equal(calls.entries.filter((e) => e.method === 'vm.reboot').length, 3);
  const [t] = (await api(stack, admin, 'timer.list', { name: 'tick' })).timers;
  assert.equal(t.runs, 3);
  assert.equal(t.last_ms, last);
  // The runs' sessions ended with them.
  assert.equal(stack.redis('scard', 'vg:user:admin:sessions'), '1');
});

test('an occurrence missed while no gateway ran is skipped, or run late when the timer says so', async () => {
  const now = Date.now();
  // What every gateway being down looks like from Redis: the last run long before the
  // occurrence now due.
  for (const [name, missed] of [['skipper', 'skip'], ['catcher', 'run']]) {
    await api(stack, admin, 'timer.create', { name, action: 'start', vm: VM, schedule: 'every', every_min: 60, missed });
    const stored = JSON.parse(stack.redis('hget', 'vg:timers', name));
    stored.anchor_ms = now - 30 * 60000;
    stack.redis('hset', 'vg:timers', name, JSON.stringify(stored));
    stack.redis('hset', `vg:timer:${name}`, 'last_ms', String(now - 40 * 60000));
  }
  await until(async () => {
    const { timers } = await api(stack, admin, 'timer.list');
    return timers.every((t) => t.last_result);
  }, 20000, 'both timers looked at');
  const { timers } = await api(stack, admin, 'timer.list');
  const by = Object.fromEntries(timers.map((t) => [t.name, t]));
  assert.equal(by.skipper.last_result, 'skipped');
  assert.equal(by.skipper.runs, 0);
  assert.equal(by.catcher.runs, 1);
  // vm.start of a running VM: the run happened, and its refusal is its result.
  assert.equal(by.catcher.last_result, 'conflict');
  const audit = await api(stack, admin, 'audit.query', { kind: 'timer', limit: 1000 });
  assert.equal(audit.entries.filter((e) => e.detail.startsWith('timer=skipper ')).length, 1);
  assert.equal(audit.entries.filter((e) => e.detail.startsWith('timer=catcher ')).length, 1);
});
