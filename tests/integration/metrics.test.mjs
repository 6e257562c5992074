// Metrics (issue 13, docs/monitoring.md, docs/api.md "Metrics"): hostd collects every running
// guest and both hosts of a two-host stack into the Redis store; metrics.query answers aligned
// series from the raw points and the 1-minute rollups; metrics.latest lists the latest values;
// a VM's metrics are visible only to who may see the VM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { REPO, startStack } from './lib/stack.mjs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { api, login, openConsole, request, scrapeMetrics } from './lib/client.mjs';
import { makeUser } from './lib/tenancy.mjs';
import { until, refused } from './lib/wait.mjs';
import { freePort } from './lib/gateway2.mjs';

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

// Every gateway read the latest values of every VM of the fleet every 10 s for its /metrics
// gauges, scraped or not: 2-3 s of Redis at 100,000 VMs, during which Redis served no one
// (docs/performance.md "1,000 hosts"). Those reads are the gateway's own EVALSHA of
// gateway_metrics_latest.lua with no user ("" "1" "vm" ""); metrics.latest names its caller.
test('a gateway nobody scrapes reads no VM gauges from Redis; the first scrape starts the reads', { timeout: 60000 }, async () => {
  const gaugeReads = (ms) => spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(stack.redisPort), 'monitor'], {
    env: { ...process.env, REDISCLI_AUTH: stack.redisPassword }, encoding: 'utf8', timeout: ms,
  }).stdout.split('\n').filter((l) => /"EVALSHA" "[0-9a-f]{40}" "0" "" "1" "vm" ""$/.test(l)).length;
  assert.equal(gaugeReads(11000), 0, 'VM gauge reads in 11 s while nobody scrapes');
  const token = fs.readFileSync(path.join(stack.dir, 'metrics-token'), 'utf8').trim();
  assert.equal((await request(stack, '/metrics', { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.ok(gaugeReads(11000) >= 1, 'no VM gauge read in the 11 s after a scrape');
});

// gateway_metrics_latest.lua read every VM of the fleet (a hash each) to answer a member of a
// few projects (issue 18: no script walks the fleet); it reads that member's projects' VMs now.
test('metrics.latest of a project member reads its projects\' VMs, not every VM of the fleet', async () => {
  const script = ['lib/prelude.lua', 'gateway_metrics_latest.lua']
    .map((f) => fs.readFileSync(path.join(REPO, 'redis-scripts', f), 'utf8')).join('');
  const ghosts = Array.from({ length: 1000 }, (_, i) => `vgt-m-ghost${i}`);
  stack.redis('sadd', 'vg:vms', ...ghosts, 'vgt-m-mine');
  stack.redis('hset', 'vg:vmdef:vgt-m-mine', 'project', 'vgt-mp');
  stack.redis('sadd', 'vg:project:vgt-mp:vms', 'vgt-m-mine');
  stack.redis('sadd', 'vg:user:vgt-mu:projects', 'vgt-mp');
  stack.redis('hset', 'vg:project:vgt-mp:members', 'vgt-mu', 'operator');
  stack.redis('hset', 'vg:m:vm:vgt-m-mine:latest', 'ts', '1', 'cpu_pct', '5');
  const reads = () => ['hget', 'hgetall'].reduce((n, c) =>
    n + Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(stack.redis('info', 'commandstats'))?.[1] ?? 0), 0);
  try {
    const before = reads();
    const [status, json] = stack.redis('eval', script, '0', 'vgt-mu', '0', 'vm', '').split('\n');
    const n = reads() - before;
    assert.equal(status, 'ok');
    assert.deepEqual(JSON.parse(json).targets, [{ name: 'vgt-m-mine', project: 'vgt-mp', ts: 1, cpu_pct: 5 }]);
    // Its projects' VMs (1) and memberships, and what hostd and the gateway read meanwhile.
    assert.ok(n < 100, `metrics.latest of one VM read ${n} hashes`);
  } finally {
    stack.redis('srem', 'vg:vms', ...ghosts, 'vgt-m-mine');
    stack.redis('del', 'vg:vmdef:vgt-m-mine', 'vg:project:vgt-mp:vms', 'vg:user:vgt-mu:projects',
      'vg:project:vgt-mp:members', 'vg:m:vm:vgt-m-mine:latest');
  }
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
  // Debian's prometheus package (tools/setup.sh) ships promtool: the check always runs.
  execFileSync('promtool', ['check', 'metrics'], { input: text });
});

// GET on hostd's /metrics (HTTPS with the link's certificate, docs/monitoring.md "hostd").
function hostdMetrics(host, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: host.metricsPort, path: '/metrics', headers, ca: fs.readFileSync(stack.caFile), agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

test('hostd /metrics refuses a scrape without the token and passes promtool with it', async () => {
  const token = fs.readFileSync(path.join(stack.dir, 'metrics-token'), 'utf8').trim();
  for (const h of stack.hosts) {
    assert.equal((await hostdMetrics(h)).status, 401);
    assert.equal((await hostdMetrics(h, { authorization: `Bearer ${'0'.repeat(64)}` })).status, 401);
    assert.equal((await hostdMetrics(h, { authorization: token })).status, 401);
    let r;
    await until(async () => {
      r = await hostdMetrics(h, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      // The first host holds the guest's console: its boot output is counted.
      return /^vmgate_hostd_collection_round_seconds_count [1-9]\d*$/m.test(r.body) &&
        (h !== stack.hosts[0] || /^vmgate_hostd_console_read_bytes_total [1-9]\d*$/m.test(r.body));
    }, 60000, `a collection round in ${h.id}'s /metrics`);
    assert.match(r.body, new RegExp(`^vmgate_hostd_info\\{host="${h.id}",version="[^"]+"\\} 1$`, 'm'));
    assert.match(r.body, /^vmgate_hostd_pool_capacity_bytes\{pool="vmgate"\} \d+$/m);
    assert.match(r.body, /^vmgate_redis_replies_total [1-9]\d*$/m);
    execFileSync('promtool', ['check', 'metrics'], { input: r.body });
  }
  const r = await hostdMetrics(stack.hosts[0], { authorization: `Bearer ${token}` });
  assert.match(r.body, /^vmgate_hostd_consoles_held [1-9]\d*$/m);
});

test('the gateway counts console connections, viewers by state, links and relayed bytes', async () => {
  const scrape = () => scrapeMetrics(stack);
  const value = (text, re) => Number((text.match(re) || [])[1] ?? NaN);
  const before = await scrape();
  const c = await openConsole(stack, admin, { vm: VM, offset: 'end' });
  await c.waitControl('hello');
  c.send('echo metrics-relay\n');
  await c.waitFor('metrics-relay', 20000);
  const during = await scrape();
  assert.equal(value(during, /^vmgate_gateway_console_connections (\d+)$/m), 1);
  assert.equal(value(during, /^vmgate_gateway_viewers\{state="live"\} (\d+)$/m), 1);
  assert.equal(value(during, new RegExp(`^vmgate_gateway_hostd_links\\{host="${stack.hosts[0].id}"\\} (\\d+)$`, 'm')), 1);
  for (const to of ['browser', 'hostd']) {
    const re = new RegExp(`^vmgate_gateway_relayed_bytes_total\\{to="${to}"\\} (\\d+)$`, 'm');
    assert.ok(value(during, re) > value(before, re), `bytes to ${to}`);
  }
  assert.ok(value(during, /^vmgate_redis_replies_total (\d+)$/m) > value(before, /^vmgate_redis_replies_total (\d+)$/m));
  assert.equal(value(during, /^vmgate_redis_up (\d+)$/m), 1);
  await c.close();
  await until(async () => value(await scrape(), /^vmgate_gateway_console_connections (\d+)$/m) === 0, 10000,
    'the console connection gone from /metrics');
  execFileSync('promtool', ['check', 'metrics'], { input: await scrape() });
});

test('a real Prometheus scrapes the gateway and both hostds and answers PromQL for the guest CPU', async () => {
  const dir = path.join(stack.dir, 'prometheus');
  fs.mkdirSync(dir, { recursive: true });
  const tokenFile = path.join(stack.dir, 'metrics-token');
  const port = await freePort();
  const tls = `tls_config: {ca_file: ${stack.caFile}, server_name: localhost}`;
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
    'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
    'scrape_configs:',
    `  - {job_name: gateway, scheme: https, ${tls}, authorization: {credentials_file: ${tokenFile}},`,
    `     static_configs: [{targets: ['127.0.0.1:${stack.httpPort}']}]}`,
    `  - {job_name: hostd, scheme: https, ${tls}, bearer_token_file: ${tokenFile},`,
    `     static_configs: [{targets: [${stack.hosts.map((h) => `'127.0.0.1:${h.metricsPort}'`).join(', ')}]}]}`,
    '',
  ].join('\n'));
  const prom = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h', '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  prom.stderr.on('data', (d) => { log += d; });
  const promql = async (q) => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = await res.json();
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  try {
    await until(async () => {
      try {
        const up = await promql('up');
        return up.length === 1 + stack.hosts.length && up.every((s) => s.value[1] === '1');
      } catch {
        return false;
      }
    }, 30000, 'every target up in Prometheus').catch(async (e) => {
      const t = await fetch(`http://127.0.0.1:${port}/api/v1/targets`).then((r) => r.json()).catch(() => ({}));
      const why = (t.data?.activeTargets || []).map((x) => `${x.scrapeUrl}: ${x.health} ${x.lastError}`);
      throw new Error(`${e.message}\n${why.join('\n')}\n${log}`);
    });
    let cpu;
    await until(async () => (cpu = await promql(`vmgate_vm_cpu_percent{vm="${VM}"}`)).length === 1, 30000,
      'the guest CPU series in Prometheus');
    assert.equal(cpu[0].metric.job, 'gateway');
    assert.equal(cpu[0].metric.host, stack.hosts[0].id);
    assert.ok(Number(cpu[0].value[1]) >= 0);
    const rounds = await promql('vmgate_hostd_collection_round_seconds_count');
    assert.deepEqual(rounds.map((s) => s.metric.instance).sort(),
      stack.hosts.map((h) => `127.0.0.1:${h.metricsPort}`).sort());
    assert.equal((await promql('vmgate_gateway_console_connections')).length, 1);
  } finally {
    prom.kill('SIGTERM');
    await new Promise((r) => prom.once('exit', r));
  }
});
