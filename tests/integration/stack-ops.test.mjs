// Operating the stack (issue 9, docs/operations.md): hostd's link listens on link_bind alone and
// the gateway on http_bind alone,
// Redis's files are private to it, and every component restarts on its own with the stack
// serving consoles afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { login, openConsole, waitHealthy } from './lib/client.mjs';
import { sleep, until } from './lib/wait.mjs';

const VM = 'vgt-ops';
const VM6 = 'vgt-ops6';
let stack;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-stack-ops-' });
});

after(async () => {
  await stack?.stop();
});

// The listening TCP sockets of process `pid`, as `ss -ltnp` shows their local address.
function listening(pid) {
  return execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[3]);
}

const pidOf = (s, name) => Number(fs.readFileSync(path.join(s.dir, 'run', `${name}.pid`), 'utf8'));

test('hostd listens on link_bind (127.0.0.1) only (the link and its /metrics), not on every interface, and logs what it bound', () => {
  // The link and hostd's /metrics (metrics_bind follows link_bind in tools/up.sh), nothing else.
  assert.deepEqual(listening(pidOf(stack, 'hostd')).sort(), [`127.0.0.1:${stack.linkPort}`, `127.0.0.1:${stack.hosts[0].metricsPort}`].sort());
  assert.match(stack.logs('hostd'), new RegExp(`link: listening on wss://127\\.0\\.0\\.1:${stack.linkPort} \\(IPv4 only\\)`));
});

test('the gateway listens on http_bind (127.0.0.1) only, not on every interface, and logs what it bound', () => {
  assert.deepEqual(listening(pidOf(stack, 'gateway')), [`127.0.0.1:${stack.httpPort}`]);
  assert.match(stack.logs('gateway'), new RegExp(`listening on https://127\\.0\\.0\\.1:${stack.httpPort} \\(IPv4 only\\)`));
});

test('link_bind = ::1: hostd listens on [::1] only, publishes wss://[::1]:port, and the console works through it', { timeout: 300000 }, async () => {
  // tools/up.sh takes VG_LINK_BIND; hostd's certificate must name the address (VG_CERT_SANS).
  const saved = { bind: process.env.VG_LINK_BIND, sans: process.env.VG_CERT_SANS };
  process.env.VG_LINK_BIND = '::1';
  process.env.VG_CERT_SANS = 'IP:::1';
  let s6;
  try {
    s6 = await startStack({ vms: [VM6], prefix: 'vgt-stack-ops6-' });
  } finally {
    for (const [k, v] of [['VG_LINK_BIND', saved.bind], ['VG_CERT_SANS', saved.sans]])
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
  try {
    assert.deepEqual(listening(pidOf(s6, 'hostd')).sort(), [`[::1]:${s6.linkPort}`, `[::1]:${s6.hosts[0].metricsPort}`].sort());
    assert.match(s6.logs('hostd'), new RegExp(`link: listening on wss://\\[::1\\]:${s6.linkPort} \\(IPv6 only\\)`));
    assert.equal(s6.redis('hget', `vg:host:${s6.hostId}`, 'link'), `wss://[::1]:${s6.linkPort}`);
    const c = await openConsole(s6, await login(s6), { vm: VM6 });
    await c.waitControl('hello', 15000);
    await c.waitPrompt(90000);
    c.send('echo via-v6-$((6*7))\n');
    await c.waitFor('via-v6-42', 10000);
    await c.close();
  } finally {
    await s6.stop();
  }
});

test('hostd refuses a link_bind that is not an address, with exit status 2', () => {
  const bin = path.join(stack.env.VG_BUILD_DIR, 'hostd/vmgate-hostd');
  for (const bad of ['localhost', 'lo', '127.0.0.1:80']) {
    let r;
    try {
      execFileSync(bin, ['--config', path.join(stack.dir, 'hostd.conf'), `--link_bind=${bad}`], { encoding: 'utf8', stdio: 'pipe', timeout: 20000 });
    } catch (e) {
      r = e;
    }
    assert.equal(r?.status, 2, `link_bind '${bad}' was accepted`);
    assert.match(r.stderr, /link_bind must be an IPv4 or IPv6 address/);
  }
});

// Every file below dir and its mode.
function modes(dir) {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).map((e) => {
    const p = path.join(e.parentPath ?? e.path, e.name);
    return [p, fs.statSync(p).mode & 0o777, e.isDirectory()];
  });
}

test('Redis data files are 0600 and its directories 0700 (after a BGSAVE, with AOF on)', async () => {
  const dir = path.join(stack.dir, 'redis');
  assert.equal(stack.redis('config', 'get', 'appendonly').split('\n')[1], 'yes');
  const last = stack.redis('lastsave');
  stack.redis('bgsave');
  await until(() => stack.redis('lastsave') !== last, 20000, 'the BGSAVE');
  const files = modes(dir);
  const names = files.map(([p]) => path.relative(dir, p));
  assert.ok(names.includes('dump.rdb'), names.join(' '));
  assert.ok(names.some((n) => n.startsWith('appendonlydir/') && n.endsWith('.aof')), names.join(' '));
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700, dir);
  for (const [p, mode, isDir] of files) assert.equal(mode, isDir ? 0o700 : 0o600, `${p} is ${mode.toString(8)}`);
  assert.equal(fs.statSync(path.join(stack.dir, 'log/redis.log')).mode & 0o777, 0o600);
});

// Logs in and attaches, retrying while the restarted component comes back; then the guest
// answers a command typed on the console.
async function consoleServes(mark) {
  const t0 = Date.now();
  for (;;) {
    let c;
    try {
      const token = await login(stack);
      c = await openConsole(stack, token, { vm: VM });
      await c.waitControl('hello', 5000);
      await c.waitPrompt(20000);
      c.send(`echo served-${mark}-$((6*7))\n`);
      await c.waitFor(`served-${mark}-42`, 10000);
      await c.close();
      return;
    } catch (e) {
      c?.ws.terminate();
      if (Date.now() - t0 > 90000) throw new Error(`the console does not serve after ${mark}: ${e.message}`);
      await sleep(500);
    }
  }
}

test('up.sh --restart redis|libvirtd|hostd|gateway: each twice in a row, the console serves after each', { timeout: 900000 }, async () => {
  await consoleServes('start');
  for (const component of ['redis', 'libvirtd', 'hostd', 'gateway']) {
    for (const round of [1, 2]) {
      const pidFile = component === 'libvirtd' ? 'libvirt/libvirtd.pid' : `run/${component}.pid`;
      const old = fs.readFileSync(path.join(stack.dir, pidFile), 'utf8').trim();
      await stack.restart(component);
      const now = fs.readFileSync(path.join(stack.dir, pidFile), 'utf8').trim();
      assert.notEqual(now, old, `${component} (round ${round}) has a new pid`);
      await waitHealthy(stack, 30000);
      await consoleServes(`${component}-${round}`);
    }
  }
  // The VM and virtlogd lived through it all: the guest is the one from the start.
  assert.equal(stack.virsh('domstate', VM).trim(), 'running');
});
