// Metrics (issue 13, docs/monitoring.md, docs/api.md "Metrics"): hostd collects every running
// guest and both hosts of a two-host stack into the Redis store; metrics.query answers aligned
// series from the raw points and the 1-minute rollups; metrics.latest lists the latest values;
// a VM's metrics are visible only to who may see the VM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { api, login, openConsole, request } from './lib/client.mjs';
import { makeUser } from './lib/tenancy.mjs';
import { until, refused } from './lib/wait.mjs';

const VM = 'vgt-metrics';
let stack;
let admin;
let started;

before(async () => {
  stack = await startStack({ vms: [VM], hosts: 2, prefix: 'vgt-metrics-' });
  started = Date.now();
  admin = await login(stack);
});

after(async () => {
  await stack?.stop();
});

const points = (s) => s.avg.filter((v) => v !== null);

async function query(params, token = admin) {
  return api(stack, token, 'metrics.query', { target: 'vm', name: VM, from: Date.now() - 600000,
    to: Date.now(), ...params });
}

test('within 30 s of start the running guest and both hosts have CPU and network points', async () => {
  await until(async () => {
    const r = await query({});
    return r.tier.startsWith('r') && points(r.series.cpu).length >= 2 && points(r.series.net).length >= 2;
  }, 30000 - (Date.now() - started), 'CPU and network points of the guest');
  for (const h of stack.hosts) {
    const r = await api(stack, admin, 'metrics.query', { target: 'host', name: h.id, metrics: ['cpu', 'net'],
      from: Date.now() - 600000, to: Date.now() });
    assert.ok(points(r.series.cpu).length >= 1, `${h.id}: ${JSON.stringify(r.series.cpu.avg)}`);
    assert.deepEqual(Object.keys(r.series).sort(), ['cpu', 'net']);
  }
  const { targets } = await api(stack, admin, 'metrics.latest', {});
  const t = targets.find((x) => x.name === VM);
  assert.ok(t, JSON.stringify(targets));
  assert.equal(t.host, stack.hosts[0].id);
  for (const k of ['cpu_pct', 'mem_pct', 'disk_rd_bps', 'net_rx_bps', 'vcpus']) assert.equal(typeof t[k], 'number', k);
  const hosts = await api(stack, admin, 'metrics.latest', { target: 'host' });
  assert.deepEqual(hosts.targets.map((x) => x.name).sort(), stack.hosts.map((h) => h.id).sort());
  assert.ok(hosts.targets.every((x) => x.vms_running >= 0 && typeof x.load1 === 'number'));
});

test('a guest loop that burns CPU shows as at least 50 % in metrics.query', async () => {
  const c = await openConsole(stack, admin, { vm: VM, offset: 'end' });
  await c.waitControl('hello');
  await c.waitPrompt(60000);
  c.send('while :; do :; done &\n');
  try {
    await until(async () => {
      const r = await query({ metrics: ['cpu'] });
      const v = points(r.series.cpu);
      return v.length && v[v.length - 1] >= 50;
    }, 40000, 'CPU at or above 50 %');
  } finally {
    c.send('kill %1\n');
    await c.close();
  }
});

test('a 1-minute rollup equals the average of its raw points', async () => {
  // A minute that is over and has raw points throughout (collection began before it).
  let minute;
  let last;
  await until(async () => {
    minute = Math.floor(Date.now() / 60000) * 60 - 60;
    last = await query({ from: minute * 1000, to: (minute + 59) * 1000, metrics: ['cpu'] });
    return points(last.series.cpu).length >= 5;
  }, 150000, 'a full minute of raw points').catch((e) => {
    throw new Error(`${e.message}: ${JSON.stringify(last)}`);
  });
  const raw = await query({ from: minute * 1000, to: (minute + 59) * 1000, metrics: ['cpu', 'mem'] });
  const roll = await query({ from: minute * 1000, to: (minute + 59) * 1000, step: 60, metrics: ['cpu', 'mem'] });
  assert.equal(roll.tier, 'm1');
  assert.deepEqual(roll.t, [minute]);
  for (const s of ['cpu', 'mem']) {
    const v = points(raw.series[s]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    // A rollup value is one byte: percentages in steps of 0.5.
    assert.ok(Math.abs(roll.series[s].avg[0] - mean) <= 0.25 + 1e-9, `${s}: ${roll.series[s].avg[0]} vs ${mean} of ${v}`);
    assert.ok(Math.abs(roll.series[s].min[0] - Math.min(...v)) <= 0.25 + 1e-9, `${s} min`);
    assert.ok(Math.abs(roll.series[s].max[0] - Math.max(...v)) <= 0.25 + 1e-9, `${s} max`);
  }
});

test('metrics of a VM are refused to a user who may not see it; bad ranges and series are refused', async () => {
  const viewer = await login(stack, 'mviewer', await makeUser(stack, admin, 'mviewer', 'viewer'));
  await refused(query({}, viewer), 'not_found', /vgt-metrics/);
  const latest = await api(stack, viewer, 'metrics.latest', {});
  assert.deepEqual(latest.targets, []);
  await refused(query({ name: 'vgt-nosuch' }), 'not_found', /vgt-nosuch/);
  await refused(query({ metrics: ['cpu', 'iops'] }), 'bad_request', /iops/);
  await refused(query({ from: Date.now(), to: Date.now() - 1000 }), 'bad_request', /after/);
  await refused(query({ from: 0, step: 3600 }), 'bad_request', /points/);
  await refused(api(stack, admin, 'metrics.query', { target: 'pool', name: 'x', from: 0, to: 1 }), 'bad_request', /target/);
});

test('/metrics refuses a scrape without the token and exposes API counters and VM gauges with it', async () => {
  const token = fs.readFileSync(path.join(stack.dir, 'metrics-token'), 'utf8').trim();
  assert.equal((await request(stack, '/metrics')).status, 401);
  assert.equal((await request(stack, '/metrics', { headers: { authorization: `Bearer ${'0'.repeat(64)}` } })).status, 401);
  assert.equal((await request(stack, '/metrics', { headers: { authorization: `Bearer ${admin}` } })).status, 401);
  let text = '';
  await until(async () => {
    const r = await request(stack, '/metrics', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    text = r.body.toString();
    return text.includes(`vmgate_vm_cpu_percent{vm="${VM}",project="",host="${stack.hosts[0].id}"}`);
  }, 20000, 'the VM gauge in /metrics');
  assert.match(text, /^vmgate_api_calls_total\{method="metrics.query",result="ok"\} \d+$/m);
  assert.match(text, /^vmgate_api_call_seconds_bucket\{method="metrics.query",le="\+Inf"\} \d+$/m);
  assert.match(text, /^vmgate_host_cpu_percent\{host="[^"]+"\} [\d.e+-]+$/m);
  const file = path.join(stack.dir, 'gateway-metrics.txt');
  fs.writeFileSync(file, text);
  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => fs.existsSync(p));
  if (promtool) {
    const { execFileSync } = await import('node:child_process');
    execFileSync(promtool, ['check', 'metrics'], { input: text });
  }
});
