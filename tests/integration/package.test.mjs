// Issue 16: vmgate installed like a Debian service. The Debian packages are built from this tree
// (tools/build-deb.sh), installed into a fresh Debian 12 root made with debootstrap, and both
// daemons run from the installed files: each unit's ExecStart line (and User=) run in the root
// by this test, as there is no systemd to run them here. Then a console of a test guest is
// reached through them, and through Debian's nginx in front (docs/operations.md "nginx in
// front"): login, API, a console that stays idle for 2 minutes while the test does the rest,
// and an audit trail that shows the client's address, not nginx's. Then an upgrade to a rebuilt
// package keeps a changed config file and the Redis data; remove keeps the data, purge deletes
// it. docs/operations.md "Install from the package" says the same steps.
//
// The root comes from the Debian mirror apt uses (/etc/apt/sources.list*). VG_PKGTEST_CACHE
// (default /var/cache/vmgate-pkgtest) keeps a tarball of the bare root and apt's downloaded
// packages between runs; a fresh machine makes them (debootstrap takes about a minute).
// The libvirtd and the test guest are those of a private stack (lib/stack.mjs), whose own
// gateway and hostd are stopped so the installed ones take over; its directory is bound into
// the root at the same path, so the installed hostd reaches its libvirtd and console sockets.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, login, openConsole, request, waitHealthy } from './lib/client.mjs';
import { until, sleep } from './lib/wait.mjs';

const CACHE = process.env.VG_PKGTEST_CACHE || '/var/cache/vmgate-pkgtest';
const IDLE_MS = 120000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-pkg-'));
const root = path.join(tmp, 'root');
const mounts = [];
const procs = new Set();
let stack;

const sh = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const inRoot = (args, opts = {}) => sh('chroot', [root, ...args], opts);
const rootPath = (p) => path.join(root, p);

after(async () => {
  // SIGTERM: nginx's master takes its workers along only then.
  for (const p of procs) p.kill('SIGTERM');
  await sleep(1000);
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await stack?.stop();
  for (const m of mounts.reverse()) {
    try {
      sh('umount', ['-l', m]);
    } catch {
      // already gone
    }
  }
  if (!mounts.some((m) => isMounted(m))) fs.rmSync(tmp, { recursive: true, force: true });
});

function isMounted(dir) {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

function bind(src, dst) {
  fs.mkdirSync(dst, { recursive: true });
  sh('mount', ['--bind', src, dst]);
  mounts.push(dst);
}

// The Debian mirror apt already uses: the first URI serving bookworm (deb822 or one-line form).
function debianMirror() {
  const files = ['/etc/apt/sources.list', ...fs.readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`)];
  for (const f of files) {
    let text;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = stanza.match(/^URIs:\s*(\S+)/m);
      if (uri && /^Suites:.*\bbookworm\b(?!-)/m.test(stanza) && !/security/.test(uri[1])) return uri[1];
    }
    const line = text.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m);
    if (line) return line[1];
  }
  throw new Error('no Debian 12 (bookworm) mirror in /etc/apt/sources.list*');
}

// A fresh root: the cached debootstrap tarball unpacked, or debootstrap run (and cached).
function makeRoot() {
  const tarball = path.join(CACHE, 'bookworm-minbase.tar');
  fs.mkdirSync(CACHE, { recursive: true });
  if (!fs.existsSync(tarball)) {
    const fresh = path.join(CACHE, `debootstrap.${process.pid}`);
    fs.rmSync(fresh, { recursive: true, force: true });
    sh('debootstrap', ['--variant=minbase', 'bookworm', fresh, debianMirror()], { timeout: 600000 });
    sh('tar', ['-C', fresh, '-cf', `${tarball}.part`, '.']);
    fs.renameSync(`${tarball}.part`, tarball);
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  fs.mkdirSync(root);
  sh('tar', ['-C', root, '-xf', tarball]);
  fs.copyFileSync('/etc/resolv.conf', rootPath('etc/resolv.conf'));
  // No daemon is started by a maintainer script (redis-server's would take port 6379).
  fs.writeFileSync(rootPath('usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  sh('mount', ['-t', 'proc', 'proc', rootPath('proc')]);
  mounts.push(rootPath('proc'));
  bind('/dev', rootPath('dev'));
  fs.mkdirSync(path.join(CACHE, 'apt-archives/partial'), { recursive: true });
  bind(path.join(CACHE, 'apt-archives'), rootPath('var/cache/apt/archives'));
  inRoot(['apt-get', 'update', '-qq'], { timeout: 300000 });
}

const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
function aptInstall(debDir, extra = []) {
  const dir = rootPath(`tmp/${path.basename(debDir)}`);
  fs.mkdirSync(dir, { recursive: true });
  const debs = fs.readdirSync(debDir).filter((f) => f.endsWith('.deb') && !f.includes('dbgsym'));
  for (const f of debs) fs.copyFileSync(path.join(debDir, f), path.join(dir, f));
  return inRoot(['apt-get', 'install', '-y', '-q', '--no-install-recommends',
    ...debs.map((f) => `/tmp/${path.basename(debDir)}/${f}`), ...extra], { env: aptEnv, timeout: 600000 });
}

function buildDebs(out, version) {
  const args = [out];
  if (version) args.push(version);
  return sh(path.join(REPO, 'tools/build-deb.sh'), args, {
    env: { ...process.env, VG_DEB_WORK: path.join(tmp, 'debwork') },
    timeout: 600000,
  });
}

// "key=value" settings of a unit's [Service] section.
function unit(name) {
  const text = fs.readFileSync(rootPath(`lib/systemd/system/${name}.service`), 'utf8');
  return Object.fromEntries(text.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

// Sets `name = value` in an installed config: its commented or active line is replaced.
function setConf(file, settings) {
  let text = fs.readFileSync(rootPath(file), 'utf8');
  for (const [k, v] of Object.entries(settings)) {
    const re = new RegExp(`^#?${k} =.*$`, 'm');
    assert.match(text, re, `${file} lists ${k}`);
    text = text.replace(re, `${k} = ${v}`);
  }
  fs.writeFileSync(rootPath(file), text);
}

async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

// Runs a daemon in the root as its unit does (ExecStart, User=), with NOTIFY_SOCKET pointing at
// a datagram socket the test reads: resolves once the daemon sent READY=1 (Type=notify).
async function startUnit(name) {
  const u = unit(name);
  const sock = `/run/notify-${name}.sock`;
  fs.rmSync(rootPath(sock), { force: true });
  const listener = spawn('socat', ['-u', `UNIX-RECV:${rootPath(sock)},mode=666`, 'STDOUT']);
  procs.add(listener);
  let notes = '';
  listener.stdout.on('data', (d) => { notes += d; });
  await until(() => fs.existsSync(rootPath(sock)) || undefined, 5000, `${sock}`);
  const user = u.User && u.User !== 'root' ? [`--userspec=${u.User}:${u.Group || u.User}`] : [];
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const p = spawn('chroot', [...user, root, 'env', `NOTIFY_SOCKET=${sock}`, ...u.ExecStart.split(/\s+/)], {
    stdio: ['ignore', log, log],
  });
  procs.add(p);
  p.on('exit', () => procs.delete(p));
  await until(() => (notes.includes('READY=1') ? true : p.exitCode !== null ? (() => {
    throw new Error(`${name} exited ${p.exitCode}:\n${fs.readFileSync(path.join(tmp, `${name}.log`), 'utf8').slice(-2000)}`);
  })() : undefined), 30000, `READY=1 from ${name}`);
  listener.kill();
  return p;
}

async function stopProc(p) {
  if (!p || p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await done;
}

function startRedis(port) {
  const log = fs.openSync(path.join(tmp, 'redis.log'), 'a');
  const p = spawn('chroot', ['--userspec=redis:redis', root, 'redis-server', '/etc/redis/redis.conf',
    '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no', '--supervised', 'no',
    '--logfile', '', '--pidfile', ''], { stdio: ['ignore', log, log] });
  procs.add(p);
  return p;
}

function nginxConf(port, upstreamPort) {
  // The server block of docs/operations.md, as an operator copies it, with the test's ports and
  // files; nginx's own paths go to a private prefix.
  const doc = fs.readFileSync(path.join(REPO, 'docs/operations.md'), 'utf8');
  const block = doc.match(/<!-- nginx-begin -->\s*```nginx\n([\s\S]*?)```\s*<!-- nginx-end -->/);
  assert.ok(block, 'docs/operations.md has the nginx configuration between its markers');
  const conf = block[1]
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('/etc/ssl/vmgate/fullchain.pem', rootPath('etc/vmgate/certs/gateway.pem'))
    .replace('/etc/ssl/vmgate/privkey.pem', rootPath('etc/vmgate/certs/gateway.key'))
    .replaceAll('/etc/vmgate/certs/ca.pem', rootPath('etc/vmgate/certs/ca.pem'))
    .replaceAll('127.0.0.1:8443', `127.0.0.1:${upstreamPort}`);
  const prefix = path.join(tmp, 'nginx');
  fs.mkdirSync(path.join(prefix, 'tmp'), { recursive: true });
  fs.chmodSync(path.join(prefix, 'tmp'), 0o777);
  fs.writeFileSync(path.join(prefix, 'nginx.conf'), `daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 256; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/tmp/body;
    proxy_temp_path ${prefix}/tmp/proxy;
    fastcgi_temp_path ${prefix}/tmp/fastcgi;
    uwsgi_temp_path ${prefix}/tmp/uwsgi;
    scgi_temp_path ${prefix}/tmp/scgi;
${conf}
}
`);
  return prefix;
}

test('the Debian packages install into a fresh Debian 12 root, run from their units, sit behind nginx and upgrade keeping config and data', { timeout: 1500000 }, async () => {
  // Independent slow parts at once: the packages, the root, the stack with its guest.
  const v1 = path.join(tmp, 'v1');
  const stackP = startStack({ vms: ['vgt-pkg'], prefix: 'vgt-pkgstack-' });
  buildDebs(v1);
  makeRoot();
  stack = await stackP;

  // lintian: clean, or each tag overridden with its reason in debian/*.lintian-overrides.
  const lint = sh('lintian', ['--fail-on', 'warning', ...fs.readdirSync(v1).filter((f) => !f.includes('dbgsym')).map((f) => path.join(v1, f))], { stdio: ['ignore', 'pipe', 'pipe'] });
  assert.doesNotMatch(lint, /^[EW]: /m, lint);

  // systemd and man-db as on an installed Debian system: systemd-analyze verify runs there.
  aptInstall(v1, ['redis-server', 'systemd', 'man-db']);
  for (const f of ['usr/bin/vmgate-gateway', 'usr/sbin/vmgate-hostd', 'usr/bin/vmgatectl', 'usr/sbin/vmgate-ca',
    'usr/share/vmgate/ui/index.html', 'usr/share/vmgate/ui/vendor', 'usr/share/vmgate/redis-scripts/lib/prelude.lua',
    'usr/share/man/man8/vmgate-gateway.8.gz', 'usr/share/man/man8/vmgate-hostd.8.gz', 'usr/share/man/man1/vmgatectl.1.gz',
    'etc/vmgate/certs/ca.pem', 'etc/vmgate/certs/gateway.pem', 'etc/vmgate/certs/hostd.pem', 'etc/vmgate/link-secret',
    'etc/vmgate/admin-password', 'var/lib/vmgate/consoles']) {
    assert.ok(fs.existsSync(rootPath(f)), `installed: /${f}`);
  }
  const conffiles = inRoot(['dpkg-query', '-W', '-f=${Conffiles}\n', 'vmgate-gateway', 'vmgate-hostd']);
  assert.match(conffiles, /\/etc\/vmgate\/gateway\.conf/);
  assert.match(conffiles, /\/etc\/vmgate\/hostd\.conf/);
  assert.match(inRoot(['getent', 'passwd', 'vmgate']), /^vmgate:/);
  assert.equal(fs.statSync(rootPath('etc/vmgate/certs/ca.key')).mode & 0o077, 0, 'the CA key is root\'s alone');
  const caBefore = fs.readFileSync(rootPath('etc/vmgate/certs/ca.pem'), 'utf8');

  // systemd-analyze verify of the installed units, in the root (systemd is installed there,
  // not running: it checks the unit files, their ExecStart programs and man pages).
  for (const name of ['vmgate-gateway', 'vmgate-hostd']) {
    inRoot(['systemd-analyze', 'verify', `/lib/systemd/system/${name}.service`]);
    const u = unit(name);
    assert.equal(u.Type, 'notify');
    assert.equal(u.Restart, 'on-failure');
    assert.equal(u.NoNewPrivileges, 'yes');
    assert.equal(u.ProtectSystem, 'strict');
  }
  assert.equal(unit('vmgate-gateway').User, 'vmgate');

  // The installed configuration is valid as it is.
  for (const [prog, conf] of [['/usr/bin/vmgate-gateway', 'gateway'], ['/usr/sbin/vmgate-hostd', 'hostd']]) {
    assert.match(inRoot([prog, '--config', `/etc/vmgate/${conf}.conf`, '--check-config']), /configuration OK/);
  }

  // The stack's own daemons step aside; the installed ones take over its libvirtd and guest.
  for (const d of ['gateway', 'hostd']) {
    const pid = Number(fs.readFileSync(path.join(stack.dir, `run/${d}.pid`), 'utf8'));
    process.kill(pid, 'SIGTERM');
    await until(() => (fs.existsSync(`/proc/${pid}`) ? undefined : true), 10000, `stack ${d} stopped`);
  }
  bind(stack.dir, rootPath(stack.dir));
  const [redisPort, httpPort, linkPort, nginxPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // The operator's changes, which the upgrade must keep.
  setConf('etc/vmgate/gateway.conf', { http_bind: '127.0.0.1', http_port: httpPort, redis_port: redisPort, trusted_proxies: '127.0.0.1' });
  setConf('etc/vmgate/hostd.conf', { host_id: 'pkg-host', redis_port: redisPort, link_port: linkPort,
    libvirt_uri: stack.libvirtUri, console_dir: path.join(stack.dir, 'consoles') });
  const changedGatewayConf = fs.readFileSync(rootPath('etc/vmgate/gateway.conf'), 'utf8');

  let redis = startRedis(redisPort);
  let hostd = await startUnit('vmgate-hostd');
  let gateway = await startUnit('vmgate-gateway');
  const direct = {
    url: `https://127.0.0.1:${httpPort}`,
    caFile: rootPath('etc/vmgate/certs/ca.pem'),
    adminUser: 'admin',
    adminPassword: fs.readFileSync(rootPath('etc/vmgate/admin-password'), 'utf8').trim(),
  };
  await waitHealthy(direct, 20000);
  const index = await request(direct, '/');
  assert.equal(index.status, 200);
  assert.match(index.body, /<script type="importmap"/);

  // Through nginx, from 127.0.0.2 (nginx itself reaches the gateway from 127.0.0.1).
  const prefix = nginxConf(nginxPort, httpPort);
  const nginx = spawn('nginx', ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', path.join(prefix, 'error.log')], { stdio: 'ignore' });
  procs.add(nginx);
  const front = { ...direct, url: `https://127.0.0.1:${nginxPort}`, localAddress: '127.0.0.2' };
  await waitHealthy(front, 10000);
  const admin = await login(front);
  await until(async () => ((await api(front, admin, 'vm.list', {})).vms ?? []).some((v) => v.name === 'vgt-pkg') || undefined, 60000, 'vgt-pkg listed');
  const con = await openConsole(front, admin, { vm: 'vgt-pkg' });
  await con.waitControl('hello');
  await con.waitPrompt(120000);
  const idleFrom = Date.now();

  // While that console idles: the audit trail, a client that forges its address, the rebuild.
  const trail = await api(front, admin, 'audit.query', { kind: 'login' });
  assert.ok(trail.entries.some((e) => e.user === 'admin' && e.result === 'ok' && e.addr === '127.0.0.2'),
    `login through nginx audited under the client's address: ${JSON.stringify(trail.entries.slice(0, 3))}`);
  assert.ok(!trail.entries.some((e) => e.addr === '127.0.0.1'), 'never under nginx\'s');
  const forger = { ...direct, localAddress: '127.0.0.3' };
  const forged = await api(forger, null, 'login', { user: 'admin', password: direct.adminPassword }).catch(() => null);
  assert.ok(forged);
  const forgedReq = await request(forger, '/api/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7', 'x-real-ip': '203.0.113.7' },
    body: JSON.stringify({ user: 'admin', password: 'wrong' }),
  });
  assert.equal(forgedReq.status >= 400 || /unauthorized/.test(forgedReq.body), true);
  const trail2 = await api(front, admin, 'audit.query', { kind: 'login' });
  assert.ok(trail2.entries.some((e) => e.result === 'unauthorized' && e.addr === '127.0.0.3'), 'a direct client is audited under its own address');
  assert.ok(!trail2.entries.some((e) => e.addr === '203.0.113.7'), 'X-Forwarded-For from an untrusted peer is ignored');
  await api(front, admin, 'user.create', { name: 'kept', password: 'kept-password-1', role: 'viewer' });
  const v2 = path.join(tmp, 'v2');
  buildDebs(v2, '0.1.0+rebuild1');
  const left = IDLE_MS - (Date.now() - idleFrom);
  if (left > 0) await sleep(left);
  const mark = con.output.length;
  con.send('echo idle-$((6*7))-ok\n');
  await con.waitFor('idle-42-ok', 10000, { from: mark });
  con.close();

  // Upgrade to the rebuilt package with the daemons stopped (as the units' restart does).
  await stopProc(gateway);
  await stopProc(hostd);
  await stopProc(redis);
  aptInstall(v2);
  assert.match(inRoot(['dpkg-query', '-W', '-f=${Version}', 'vmgate-gateway']), /^0\.1\.0\+rebuild1$/);
  assert.equal(fs.readFileSync(rootPath('etc/vmgate/gateway.conf'), 'utf8'), changedGatewayConf, 'changed config kept');
  assert.equal(fs.readFileSync(rootPath('etc/vmgate/certs/ca.pem'), 'utf8'), caBefore, 'CA kept');
  assert.ok(!fs.existsSync(rootPath('etc/vmgate/gateway.conf.dpkg-new')));
  redis = startRedis(redisPort);
  hostd = await startUnit('vmgate-hostd');
  gateway = await startUnit('vmgate-gateway');
  await waitHealthy(front, 20000);
  const kept = await login(front, 'kept', 'kept-password-1'); // the Redis data survived
  assert.ok(kept);
  const admin2 = await login(front);
  await until(async () => ((await api(front, admin2, 'vm.list', {})).vms ?? []).some((v) => v.name === 'vgt-pkg') || undefined, 60000, 'vgt-pkg listed again');
  const con2 = await openConsole(front, admin2, { vm: 'vgt-pkg' });
  await con2.waitControl('hello');
  await con2.waitPrompt(60000);
  con2.close();
  await stopProc(gateway);
  await stopProc(hostd);
  await stopProc(redis);
  nginx.kill('SIGQUIT');

  // remove keeps the CA, the secrets and the state; purge deletes them.
  inRoot(['apt-get', 'remove', '-y', '-q', 'vmgate-gateway', 'vmgate-hostd', 'vmgate-common'], { env: aptEnv });
  for (const f of ['etc/vmgate/certs/ca.key', 'etc/vmgate/link-secret', 'etc/vmgate/gateway.conf', 'var/lib/vmgate']) {
    assert.ok(fs.existsSync(rootPath(f)), `kept on remove: /${f}`);
  }
  inRoot(['apt-get', 'purge', '-y', '-q', 'vmgate-gateway', 'vmgate-hostd', 'vmgate-common'], { env: aptEnv });
  for (const f of ['etc/vmgate', 'var/lib/vmgate']) assert.ok(!fs.existsSync(rootPath(f)), `purged: /${f}`);
  assert.throws(() => inRoot(['getent', 'passwd', 'vmgate']));
});
