// Runtime settings (M15, docs/api.md "Settings"): a change through the API applies on the
// running hostd and gateway without a restart; a value out of range is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { until, refused, sleep } from './lib/wait.mjs';

let stack;
let admin;

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-settings-' });
  admin = await login(stack);
});

after(async () => {
  await stack?.stop();
});

test('settings.set refuses a value out of range, an unknown setting and a metrics_interval that does not divide 60', async () => {
  await refused(api(stack, admin, 'settings.set', { name: 'heartbeat_ms', value: 50 }), 'bad_request', /100\.\.600000/);
  await refused(api(stack, admin, 'settings.set', { name: 'host_dead_after', value: 1000 }), 'bad_request', /host_dead_after/);
  await refused(api(stack, admin, 'settings.set', { name: 'metrics_interval', value: 7 }), 'bad_request', /divide 60/);
  await refused(api(stack, admin, 'settings.set', { name: 'no_such', value: 1 }), 'not_found');
  assert.equal(stack.redis('hexists', 'vg:settings', 'heartbeat_ms'), '0');
  const { settings } = await api(stack, admin, 'settings.list');
  const hb = settings.find((s) => s.name === 'heartbeat_ms');
  assert.equal(hb.default, true);
  assert.equal(hb.min, 100);
});

// Heartbeats seen in Redis over a window: the host record's last_heartbeat_ms values.
async function heartbeats(ms) {
  const seen = new Set();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    seen.add(stack.redis('hget', `vg:host:${stack.hostId}`, 'last_heartbeat_ms'));
    await sleep(20);
  }
  return seen.size;
}

test('heartbeat_ms set through the API changes a running hostd\'s heartbeat rate, and null puts it back', async () => {
  const before = await heartbeats(3000);
  assert.ok(before <= 3, `hostd beat ${before} times in 3 s before the change`);
  const set = await api(stack, admin, 'settings.set', { name: 'heartbeat_ms', value: 200 });
  assert.equal(set.value, 200);
  assert.equal(set.previous, null);
  await until(() => stack.redis('hget', `vg:host:${stack.hostId}`, 'heartbeat_interval_ms') === '200', 3000,
    'hostd heartbeats every 200 ms');
  const during = await heartbeats(3000);
  assert.ok(during >= 10, `hostd beat only ${during} times in 3 s at 200 ms`);
  assert.equal((await api(stack, admin, 'settings.get', { name: 'heartbeat_ms' })).value, 200);
  await api(stack, admin, 'settings.set', { name: 'heartbeat_ms', value: null });
  await until(() => stack.redis('hget', `vg:host:${stack.hostId}`, 'heartbeat_interval_ms') !== '200', 3000,
    'hostd back to its configured heartbeat');
  const audit = await api(stack, admin, 'audit.query', { kind: 'api', limit: 100 });
  assert.ok(audit.entries.some((e) => e.method === 'settings.set' && e.detail.includes('name=heartbeat_ms')));
});

test('hostd listens to vg:hostd, not vg:events: Redis copies no fleet event to a host', async () => {
  // PUBSUB NUMSUB answers channel, count, channel, count: the gateway alone on vg:events.
  const [, events, , hostd] = stack.redis('pubsub', 'numsub', 'vg:events', 'vg:hostd').split('\n');
  assert.equal(events, '1', 'subscribers of vg:events (the gateway)');
  assert.equal(hostd, '1', 'subscribers of vg:hostd (the hostd)');
});

test('session_ttl set through the API applies to the next login on the running gateway', async () => {
  await api(stack, admin, 'settings.set', { name: 'session_ttl', value: 120 });
  await sleep(300); // the settings.changed message reaches the gateway's subscription
  const token = await login(stack);
  const hash = crypto.createHash('sha256').update(token).digest('hex');
  const ttl = Number(stack.redis('ttl', `vg:session:${hash}`));
  assert.ok(ttl > 0 && ttl <= 120, `session TTL ${ttl}`);
  await api(stack, admin, 'settings.set', { name: 'session_ttl', value: null });
  await sleep(300);
  const t2 = await login(stack);
  const h2 = crypto.createHash('sha256').update(t2).digest('hex');
  assert.ok(Number(stack.redis('ttl', `vg:session:${h2}`)) > 120);
});
