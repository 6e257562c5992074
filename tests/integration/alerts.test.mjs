// Alerts and webhooks (issue 13, docs/monitoring.md "Alerts", docs/api.md "Alerts"): a
// threshold rule fires and resolves once although two gateways evaluate it; killing a guest's
// QEMU fires vm.crashed on the bus and a signed webhook within two metrics intervals, once,
// resolved when the VM runs again; a storage pool nearly full fires pool.full and resolves
// when freed; a receiver that is down gets retries while consoles keep
// echoing. Webhook receivers are loopback HTTP servers of this test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { REPO, startStack } from './lib/stack.mjs';
import { api, apiWs, login, openShell } from './lib/client.mjs';
import { until, refused, sleep } from './lib/wait.mjs';
import { freePort, startSecondGateway } from './lib/gateway2.mjs';

const VM = 'vgt-alerts';
const SECRET = 'a-webhook-secret-of-test';
let stack;
let admin;
let second; // the second gateway
let stack2; // the same stack through the second gateway

// A loopback receiver: every POST's delivery id, signature check and JSON body.
function receiver(answer = 200) {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(body).digest('hex');
      got.push({
        delivery: req.headers['x-vmgate-delivery'],
        attempt: Number(req.headers['x-vmgate-attempt']),
        signed: req.headers['x-vmgate-signature'] === want,
        type: req.headers['content-type'],
        body: JSON.parse(body.toString()),
      });
      res.writeHead(answer).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, got, url: `http://127.0.0.1:${server.address().port}/hook` })),
  );
}

function qemuPid(vm) {
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (cmd.includes(`guest=${vm},`)) return Number(p);
    } catch {
      // the process ended meanwhile
    }
  }
  return 0;
}

const events = (r, type, alert) => r.got.filter((g) => g.body.event.type === type && g.body.event.alert === alert);

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-alerts-' });
  admin = await login(stack);
  // A second gateway on the same Redis and hostd: alerts are evaluated by both.
  second = await startSecondGateway(stack, admin);
  stack2 = second.stack;
});

after(async () => {
  await second?.stop();
  await stack?.stop();
});

test('webhook.create refuses a URL that is not http(s) and webhook.list never shows the secret', async () => {
  await refused(api(stack, admin, 'webhook.create', { name: 'bad', url: 'ftp://127.0.0.1/x', secret: SECRET }),
    'bad_request', /http/);
  await refused(api(stack, admin, 'webhook.create', { name: 'bad', url: 'http://u@127.0.0.1/x', secret: SECRET }),
    'bad_request', /url/);
  await refused(api(stack, admin, 'alert.rule.create', { name: 'x', target: 'host', metric: 'disk_rd_bps', op: '>',
    threshold: 1 }), 'bad_request', /not a metric of a host/);
  await refused(api(stack, admin, 'alert.rule.create', { name: 'vm.crashed', target: 'vm', metric: 'cpu_pct', op: '>',
    threshold: 1 }), 'conflict', /built-in/);
  const w = await api(stack, admin, 'webhook.create', { name: 'listed', url: 'http://127.0.0.1:9/x', secret: SECRET });
  assert.equal(w.secret, undefined);
  const { webhooks } = await api(stack, admin, 'webhook.list');
  assert.ok(!JSON.stringify(webhooks).includes(SECRET));
  await api(stack, admin, 'webhook.delete', { name: 'listed' });
  await refused(api(stack, admin, 'webhook.delete', { name: 'listed' }), 'not_found');
});

test('a threshold rule fires and resolves once with two gateways evaluating, webhook signed', async () => {
  const r = await receiver();
  try {
    await api(stack, admin, 'webhook.create', { name: 'hot', url: r.url, secret: SECRET, alerts: ['hostcpu'] });
    await api(stack2, admin, 'alert.rule.create', { name: 'hostcpu', target: 'host', metric: 'cpu_pct', op: '>=',
      threshold: 0 });
    await until(() => events(r, 'alert.firing', 'hostcpu').length >= 1, 30000, 'the firing webhook');
    const { alerts } = await api(stack, admin, 'alert.list', {});
    const a = alerts.find((x) => x.rule === 'hostcpu');
    assert.equal(a.state, 'firing');
    assert.equal(a.target, stack.hostId);
    await sleep(5000); // both gateways evaluated it twice more: still one transition
    await api(stack, admin, 'alert.rule.delete', { name: 'hostcpu' });
    await until(() => events(r, 'alert.resolved', 'hostcpu').length >= 1, 10000, 'the resolved webhook');
    await sleep(3000);
    assert.equal(events(r, 'alert.firing', 'hostcpu').length, 1, JSON.stringify(r.got));
    assert.equal(events(r, 'alert.resolved', 'hostcpu').length, 1);
    assert.ok(r.got.every((g) => g.signed && g.type === 'application/json'));
    assert.equal(new Set(r.got.map((g) => g.delivery)).size, r.got.length);
    const audit = await api(stack, admin, 'audit.query', { kind: 'alert' });
    assert.ok(audit.entries.some((e) => e.method === 'alert.firing' && e.detail.startsWith('hostcpu')),
      JSON.stringify(audit.entries));
    const hook = (await api(stack, admin, 'webhook.list')).webhooks.find((w) => w.name === 'hot');
    assert.equal(hook.delivered, 2);
  } finally {
    await api(stack, admin, 'webhook.delete', { name: 'hot' });
    r.server.close();
  }
});

test('killing the guest QEMU fires vm.crashed and a signed webhook within two intervals, once; it resolves when the VM runs', async () => {
  const r = await receiver();
  const ws = await apiWs(stack, admin);
  try {
    await ws.call('events.subscribe');
    await api(stack, admin, 'webhook.create', { name: 'crash', url: r.url, secret: SECRET, alerts: ['vm.crashed'] });
    await until(() => stack.virsh('domstate', VM).trim() === 'running', 30000, 'the VM running');
    const pid = qemuPid(VM);
    assert.ok(pid > 0, 'the guest QEMU');
    const killed = Date.now();
    process.kill(pid, 'SIGKILL');
    const ev = await ws.waitEvent('vm.crashed', 20000);
    assert.equal(ev.data.vm, VM);
    await until(() => events(r, 'alert.firing', 'vm.crashed').length >= 1, 20000 - (Date.now() - killed),
      'the vm.crashed webhook within two intervals');
    const fired = events(r, 'alert.firing', 'vm.crashed')[0];
    assert.ok(fired.signed);
    assert.equal(fired.body.event.vm, VM);
    await ws.waitEvent('alert.firing', 5000);
    await sleep(4000);
    assert.equal(events(r, 'alert.firing', 'vm.crashed').length, 1, JSON.stringify(r.got));
    await api(stack, admin, 'vm.start', { vm: VM });
    await until(() => events(r, 'alert.resolved', 'vm.crashed').length >= 1, 30000, 'the resolved webhook');
    await sleep(3000);
    assert.equal(events(r, 'alert.resolved', 'vm.crashed').length, 1);
    const { alerts, recent } = await api(stack, admin, 'alert.list', { recent: 10 });
    assert.ok(!alerts.some((a) => a.rule === 'vm.crashed'));
    assert.deepEqual(recent.filter((e) => e.alert === 'vm.crashed').map((e) => e.type), ['alert.resolved', 'alert.firing']);
  } finally {
    await ws.close();
    await api(stack, admin, 'webhook.delete', { name: 'crash' });
    r.server.close();
  }
});

test('a receiver that is down gets retries with backoff and consoles keep echoing meanwhile', async () => {
  const port = await freePort(); // nothing listens there yet
  // A receiver that accepts and never answers: every attempt waits for the 10 s timeout.
  const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
  await new Promise((res) => silent.once('listening', res));
  await api(stack, admin, 'webhook.create', { name: 'down', url: `http://127.0.0.1:${port}/hook`, secret: SECRET,
    alerts: ['probe'] });
  await api(stack, admin, 'webhook.create', { name: 'silent', url: `http://127.0.0.1:${silent.address().port}/`,
    secret: SECRET, alerts: ['probe'] });
  const con = await openShell(stack, admin, { vm: VM, ms: 90000 });
  try {
    await api(stack, admin, 'alert.rule.create', { name: 'probe', target: 'host', metric: 'cpu_pct', op: '>=',
      threshold: 0 });
    await until(async () => {
      const h = (await api(stack, admin, 'webhook.list')).webhooks.find((w) => w.name === 'down');
      return h.failed >= 3;
    }, 30000, 'three failed attempts');
    // Echo round trips while deliveries fail and one hangs.
    const times = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      await con.run(`echo mark${i}x`, `mark${i}x\r\n`, 5000);
      times.push(Date.now() - t0);
    }
    times.sort((a, b) => a - b);
    assert.ok(times[8] < 1000, `echo times ${times}`);
    const r = await receiver();
    r.server.close();
    const late = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        r.got.push({ attempt: Number(req.headers['x-vmgate-attempt']) });
        res.writeHead(204).end();
      });
    });
    await new Promise((res) => late.listen(port, '127.0.0.1', res));
    try {
      await until(() => r.got.length >= 1, 40000, 'the delivery once the receiver is up');
      assert.ok(r.got[0].attempt >= 4, `attempt ${r.got[0].attempt}`);
    } finally {
      late.close();
    }
  } finally {
    await con.close();
    await api(stack, admin, 'alert.rule.delete', { name: 'probe' });
    await api(stack, admin, 'webhook.delete', { name: 'down' });
    await api(stack, admin, 'webhook.delete', { name: 'silent' });
    silent.close();
  }
});

test('a storage pool nearly full fires pool.full and a webhook; freeing it resolves the alert', async () => {
  // A 4 MiB tmpfs mounted as the pool's directory in the private libvirtd's mount namespace
  // (tools/up.sh), where libvirt measures the pool.
  const libvirtd = fs.readFileSync(`${stack.dir}/libvirt/libvirtd.pid`, 'utf8').trim();
  const inNs = (...args) => execFileSync('nsenter', ['-t', libvirtd, '-m', '--', ...args]);
  const target = `${stack.dir}/pools/full`;
  fs.mkdirSync(target, { recursive: true });
  inNs('mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', target);
  const r = await receiver();
  const id = `pool.full:pool:${stack.hostId}/vgt-full`;
  try {
    await api(stack, admin, 'settings.set', { name: 'metrics_interval', value: 2 });
    await api(stack, admin, 'webhook.create', { name: 'full', url: r.url, secret: SECRET, alerts: ['pool.full'] });
    const p = await api(stack, admin, 'pool.create', { pool: 'vgt-full', host: stack.hostId, spec: { type: 'dir', target } });
    assert.equal(p.capacity, 4 << 20);
    await sleep(6000); // rounds that see the empty pool: no alert
    assert.ok(!(await api(stack, admin, 'alert.list', {})).alerts.some((a) => a.id === id));
    inNs('dd', 'if=/dev/zero', `of=${target}/fill`, 'bs=64k', 'count=60', 'status=none'); // 3.75 of 4 MiB
    await until(() => events(r, 'alert.firing', 'pool.full').length >= 1, 30000, 'the pool.full webhook');
    const a = (await api(stack, admin, 'alert.list', {})).alerts.find((x) => x.id === id);
    assert.equal(a?.state, 'firing', JSON.stringify(a));
    assert.equal(a.kind, 'pool');
    assert.equal(a.target, `${stack.hostId}/vgt-full`);
    assert.ok(a.value >= 90 && a.value <= 100, `used ${a.value} %`);
    assert.ok(r.got.every((g) => g.signed));
    inNs('rm', `${target}/fill`);
    await until(() => events(r, 'alert.resolved', 'pool.full').length >= 1, 30000, 'the resolved webhook');
    assert.ok(!(await api(stack, admin, 'alert.list', {})).alerts.some((x) => x.id === id));
    assert.equal(events(r, 'alert.firing', 'pool.full').length, 1, JSON.stringify(r.got));
  } finally {
    await api(stack, admin, 'settings.set', { name: 'metrics_interval', value: null });
    await api(stack, admin, 'webhook.delete', { name: 'full' }).catch(() => {});
    r.server.close();
    try { inNs('umount', target); } catch {}
    await api(stack, admin, 'pool.delete', { pool: 'vgt-full' }).catch(() => {});
  }
});

// The evaluation read every host twice (host.down, pool.full) and every VM of the fleet for a
// rule on all VMs, every 2 s on every gateway (issue 18: no script walks the fleet). Down hosts
// now come from vg:hosts:down, which gateway_host_watch.lua keeps.
test('a host that stops heartbeating fires host.down; it resolves when it heartbeats again', async () => {
  const id = 'vgt-ghost-host';
  const alert = async () => (await api(stack, admin, 'alert.list', {})).alerts.find((a) => a.id === `host.down:host:${id}`);
  stack.redis('hset', `vg:host:${id}`, 'last_heartbeat_ms', '1', 'heartbeat_interval_ms', '1000');
  stack.redis('sadd', 'vg:hosts', id);
  try {
    await until(async () => (await alert())?.state === 'firing', 10000, 'host.down firing');
    stack.redis('hset', `vg:host:${id}`, 'last_heartbeat_ms', String(Date.now() + 3600000));
    await until(async () => !(await alert()), 10000, 'host.down resolved');
    assert.equal(stack.redis('sismember', 'vg:hosts:down', id), '0');
  } finally {
    stack.redis('srem', 'vg:hosts', id);
    stack.redis('del', `vg:host:${id}`, `vg:host:${id}:downmark`);
  }
});

test('alert evaluation reads the targets over a threshold, not every VM of the fleet', async () => {
  const script = ['lib/prelude.lua', 'gateway_alert_eval.lua']
    .map((f) => fs.readFileSync(path.join(REPO, 'redis-scripts', f), 'utf8')).join('');
  const ghosts = Array.from({ length: 1000 }, (_, i) => `vgt-a-ghost${i}`);
  stack.redis('sadd', 'vg:vms', ...ghosts);
  await api(stack, admin, 'alert.rule.create', { name: 'vmcpu', target: 'vm', metric: 'cpu_pct', op: '>', threshold: 1000 });
  const reads = () => ['hget', 'hmget', 'hgetall', 'exists'].reduce((n, c) =>
    n + Number(new RegExp(`^cmdstat_${c}:calls=(\\d+)`, 'm').exec(stack.redis('info', 'commandstats'))?.[1] ?? 0), 0);
  try {
    const before = reads();
    assert.equal(stack.redis('eval', script, '0', String(Date.now()), ''), '0');
    const n = reads() - before;
    // The active alerts, and what hostd and both gateways read meanwhile.
    assert.ok(n < 100, `one evaluation read ${n} keys`);
  } finally {
    await api(stack, admin, 'alert.rule.delete', { name: 'vmcpu' });
    stack.redis('srem', 'vg:vms', ...ghosts);
  }
});
