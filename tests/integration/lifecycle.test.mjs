// hostd's console lifecycle (C1, C2, C3, C6, C7), tested on hostd's link without the gateway:
// registration in Redis, replay of output printed before anyone attached, binary-safe output,
// reconnection after destroy+start, save+restore and reboot, and bounded memory for a viewer
// that stops reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

// ---- private hostd harness (this file tests hostd alone, without the gateway) ----
// Starts its own Redis, a self-signed CA, hostd and TCG guests named ${PREFIX}<name> with the
// demo domain shape. Environment: VG_BUILD_DIR (vmgate-hostd), VG_GUEST_DIR (vmlinuz,
// initrd.gz), VG_TEST_PORT_BASE (two ports from here), VG_TEST_VM_PREFIX.
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD = process.env.VG_BUILD_DIR || path.join(REPO, 'build');
const GUEST = process.env.VG_GUEST_DIR || path.join(process.env.VG_STACK_DIR || path.join(REPO, '.stack'), 'guest');
const PORT = Number(process.env.VG_TEST_PORT_BASE || 17100);
const PREFIX = process.env.VG_TEST_VM_PREFIX || 'it-';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (cmd, args, opts = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const virsh = (...args) => sh('virsh', ['-c', 'qemu:///system', ...args]);

async function until(pred, ms, what, step = 10) {
  const t0 = Date.now();
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timeout after ${ms} ms waiting for ${what}`);
    await sleep(step);
  }
}

class Harness {
  vms = [];

  async start({ ringSize = 262144, laggard = 'skip' } = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vg-hostd-it-'));
    fs.chmodSync(this.dir, 0o755);
    for (const d of ['consoles', 'state', 'redis', 'certs']) fs.mkdirSync(path.join(this.dir, d), { mode: 0o755 });
    this.consoles = path.join(this.dir, 'consoles');
    this.password = crypto.randomBytes(12).toString('hex');
    this.secret = crypto.randomBytes(16).toString('hex');
    fs.writeFileSync(path.join(this.dir, 'redis/password'), this.password);
    fs.writeFileSync(path.join(this.dir, 'link-secret'), this.secret + '\n');
    const c = path.join(this.dir, 'certs');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${c}/ca.key`, '-out', `${c}/ca.pem`, '-days', '2', '-subj', '/CN=test-ca']);
    sh('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${c}/hostd.key`, '-out', `${c}/hostd.csr`, '-subj', '/CN=localhost']);
    fs.writeFileSync(`${c}/ext`, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    sh('openssl', ['x509', '-req', '-in', `${c}/hostd.csr`, '-CA', `${c}/ca.pem`, '-CAkey', `${c}/ca.key`, '-CAcreateserial', '-out', `${c}/hostd.pem`, '-days', '2', '-extfile', `${c}/ext`]);
    this.ca = fs.readFileSync(`${c}/ca.pem`);
    this.redisPort = PORT;
    this.redis = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', path.join(this.dir, 'redis'), '--requirepass', this.password], { stdio: 'ignore' });
    await until(() => { try { return this.rcli('PING') === 'PONG'; } catch { return false; } }, 5000, 'redis');
    this.url = `wss://127.0.0.1:${PORT + 1}`;
    this.conf = path.join(this.dir, 'hostd.conf');
    fs.writeFileSync(this.conf, [
      'host_id = it-host', `redis_port = ${PORT}`, `redis_password_file = ${this.dir}/redis/password`,
      `console_dir = ${this.consoles}`, `state_dir = ${this.dir}/state`, `link_port = ${PORT + 1}`,
      `tls_cert = ${c}/hostd.pem`, `tls_key = ${c}/hostd.key`, `link_secret_file = ${this.dir}/link-secret`,
      `scripts_dir = ${REPO}/redis-scripts`, `ring_size = ${ringSize}`, `laggard_policy = ${laggard}`, 'heartbeat_ms = 500', `vm_filter = ${PREFIX}*`, '',
    ].join('\n'));
    await this.startHostd();
  }
  rcli(...args) {
    return sh('redis-cli', ['-p', String(this.redisPort), '--no-auth-warning', '-a', this.password, ...args]).trim();
  }
  async startHostd() {
    this.logFile = path.join(this.dir, 'hostd.log');
    const from = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const out = fs.openSync(this.logFile, 'a');
    this.hostd = spawn(path.join(BUILD, 'hostd/vmgate-hostd'), ['--config', this.conf], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.hostdExit = new Promise((r) => this.hostd.once('exit', (code, sig) => r({ code, sig })));
    await until(() => fs.readFileSync(this.logFile).subarray(from).includes('host it-host up'), 5000, 'hostd start');
  }
  async stopHostd(signal = 'SIGTERM') {
    this.hostd.kill(signal);
    return this.hostdExit;
  }
  sock(vm, prefix = 'com') { return path.join(this.consoles, `${prefix}-${vm}.sock`); }
  defineVm(short) {
    const name = PREFIX + short, C = this.consoles;
    const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type><kernel>${GUEST}/vmlinuz</kernel><initrd>${GUEST}/initrd.gz</initrd><cmdline>console=ttyS0 quiet</cmdline></os>
<features><acpi/></features><on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
<devices><controller type='usb' model='none'/>
<serial type='unix'><source mode='bind' path='${C}/com-${name}.sock'/><log file='${C}/com-${name}.log' append='on'/><target port='0'/></serial>
<console type='unix'><source mode='bind' path='${C}/com-${name}.sock'/><target type='serial' port='0'/></console>
<console type='unix'><source mode='bind' path='${C}/hvc-${name}.sock'/><target type='virtio' port='1'/></console>
<memballoon model='none'/></devices></domain>`;
    const f = path.join(this.dir, `${name}.xml`);
    fs.writeFileSync(f, xml);
    try { virsh('destroy', name); } catch {}
    try { virsh('undefine', name); } catch {}
    virsh('define', f);
    this.vms.push(name);
    return name;
  }
  attach(vm, opts = {}) {
    return attachLink({ url: this.url, ca: this.ca, secret: this.secret, vm, ...opts });
  }
  async hostdRss() {
    const s = fs.readFileSync(`/proc/${this.hostd.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
  }
  async stop() {
    for (const vm of this.vms) {
      try { virsh('destroy', vm); } catch {}
      try { virsh('undefine', vm); } catch {}
    }
    if (this.hostd && this.hostd.exitCode === null && this.hostd.signalCode === null) await this.stopHostd();
    if (this.redis) this.redis.kill('SIGTERM');
    if (!this.dir) return;
    if (process.env.VG_TEST_KEEP) console.log(`kept ${this.dir}`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A console viewer on hostd's link (docs/protocol.md §1, §3): collects output with its offsets
// and checks that frames are contiguous.
function attachLink({ url, ca, secret, vm, dev = 'serial0', mode = 'rw', user = 'tester', offset = 'ring', take = false }) {
  const q = new URLSearchParams({ vm, dev, mode, user, offset: String(offset) });
  if (take) q.set('take', '1');
  const ws = new WebSocket(`${url}/link/console?${q}`, 'vmgate.console.v1', { ca, headers: { 'X-Vmgate-Link': secret } });
  const c = { ws, texts: [], chunks: [], gaps: [], first: null, next: null, closed: null, errors: [], waiters: [] };
  c.out = () => Buffer.concat(c.chunks);
  c.text = () => c.out().toString('latin1');
  const poke = () => { for (const w of [...c.waiters]) if (w.pred()) { c.waiters.splice(c.waiters.indexOf(w), 1); w.done(); } };
  ws.on('message', (data, isBinary) => {
    const b = Buffer.from(data);
    if (!isBinary) c.texts.push({ ...JSON.parse(b.toString()), at: Date.now() });
    else if (b[0] === 1) {
      const off = Number(b.readBigUInt64BE(1));
      if (c.next !== null && off !== c.next) c.errors.push(`discontinuity ${c.next} -> ${off}`);
      if (c.first === null) c.first = off;
      c.next = off + b.length - 9;
      c.chunks.push(b.subarray(9));
      c.lastDataAt = Date.now();
    } else if (b[0] === 2) {
      const from = Number(b.readBigUInt64BE(1)), to = Number(b.readBigUInt64BE(9));
      if (c.next !== null && from !== c.next) c.errors.push(`gap from ${from}, expected ${c.next}`);
      c.gaps.push([from, to]);
      if (c.first === null) c.first = from;
      c.next = to;
    }
    poke();
  });
  ws.on('close', (code) => { c.closed = code; poke(); });
  ws.on('error', (e) => c.errors.push(String(e)));
  c.wait = (pred, ms = 15000, what = 'condition') => new Promise((resolve, reject) => {
    if (pred()) return resolve();
    const t = setTimeout(() => {
      c.waiters.splice(c.waiters.indexOf(w), 1);
      reject(new Error(`timeout after ${ms} ms waiting for ${what}; output ends ${JSON.stringify(c.text().slice(-160))}`));
    }, ms);
    const w = { pred, done: () => { clearTimeout(t); resolve(); } };
    c.waiters.push(w);
  });
  c.waitText = (s, ms, from = 0) => c.wait(() => c.text().indexOf(s, from) >= 0, ms, JSON.stringify(s));
  c.waitMsg = (pred, ms, what) => c.wait(() => c.texts.some(pred), ms, what);
  c.input = (s) => ws.send(Buffer.concat([Buffer.from([0x11]), Buffer.from(s, 'latin1')]));
  c.close = () => new Promise((r) => { if (c.closed !== null) return r(); ws.once('close', r); ws.close(); });
  return c;
}
// ---- end of harness ----

const h = new Harness();
let vm;

test.before(async () => {
  await h.start();
  vm = h.defineVm('life');
});
test.after(async () => {
  await h.stop();
});

// Runs a lifecycle command; resolves when it exits, with the time its console socket file
// (re)appeared.
async function socketAppears(args) {
  const sock = h.sock(vm);
  const child = spawn('virsh', ['-c', 'qemu:///system', ...args], { stdio: 'ignore' });
  const done = new Promise((r) => child.once('exit', r));
  await until(() => fs.existsSync(sock), 20000, `${sock} to appear`, 2);
  return { at: Date.now(), done };
}

function stateMsg(c, connected, after) {
  return c.texts.find((m) => m.type === 'state' && m.connected === connected && m.at >= after);
}

test('the VM appears in Redis with host and console socket within 2 s of its socket', { timeout: 180000 }, async (t) => {
  const sock = await socketAppears(['start', vm]);
  // libvirt itself takes a second or two under TCG to move the domain from paused to running.
  await until(
    () => ['paused', 'running'].includes(h.rcli('HGET', `vg:vm:${vm}`, 'state')) &&
      h.rcli('HGET', `vg:vm:${vm}`, 'host') === 'it-host' && h.rcli('HGET', `vg:vm:${vm}:consoles`, 'serial0') === h.sock(vm),
    2000, 'registry entry');
  const took = Date.now() - sock.at;
  t.diagnostic(`registered ${took} ms after the socket appeared`);
  assert.ok(took < 2000, `registered after ${took} ms`);
  assert.equal(await sock.done, 0);
  await until(() => h.rcli('HGET', `vg:vm:${vm}`, 'state') === 'running', 10000, 'state running');
  assert.equal(h.rcli('HGET', `vg:vm:${vm}:consoles`, 'console1'), h.sock(vm, 'hvc'));
  assert.equal(h.rcli('SISMEMBER', 'vg:host:it-host:vms', vm), '1');
  assert.equal(h.rcli('EXISTS', 'vg:host:it-host:alive'), '1');
  // A lost registry is rebuilt within one heartbeat (500 ms here).
  h.rcli('FLUSHALL');
  await until(() => h.rcli('HGET', `vg:vm:${vm}:consoles`, 'serial0') === h.sock(vm), 1500, 'registry rebuilt');
});

test('output printed before anyone attached is replayed; every byte value and a split UTF-8 character arrive unchanged', { timeout: 180000 }, async () => {
  const log = path.join(h.consoles, `com-${vm}.log`);
  await until(() => fs.existsSync(log) && fs.readFileSync(log).includes('testvm# '), 90000, 'boot to a prompt');
  const c = h.attach(vm);
  await c.waitText('testvm# ', 5000);
  assert.equal(c.first, 0);
  assert.ok(c.text().includes('GUEST-READY'), 'boot log replayed');

  // -opost: the tty would turn \n into \r\n; everything else is passed as the guest wrote it.
  c.input('stty -opost; printf AB-B""EGIN; i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done; stty opost; echo; echo AB-E""ND\n');
  await c.waitText('AB-END', 30000);
  const out = c.out();
  const at = out.lastIndexOf('AB-BEGIN') + 'AB-BEGIN'.length;
  assert.deepEqual(out.subarray(at, at + 256), Buffer.from([...Array(256).keys()]));

  // The euro sign written in two pieces, 300 ms apart, so they are read separately.
  const before = c.chunks.length;
  c.input("printf 'EU-\\342\\202'; sleep 0.3; printf '\\254-R''O\\n'\n");
  await c.waitText('-RO', 10000);
  assert.ok(c.out().includes(Buffer.from('EU-\u20ac-RO')), 'euro sign whole');
  const split = c.chunks.slice(before).some((ch) => ch.length && ch[ch.length - 1] === 0x82);
  assert.ok(split, 'the two halves travelled in different frames');
  assert.deepEqual(c.errors, []);
  await c.close();
});

test('after destroy+start, save+restore and reboot the console is back within 1 s of its socket', { timeout: 300000 }, async (t) => {
  const c = h.attach(vm);
  await c.waitMsg((m) => m.type === 'hello', 5000, 'hello');
  const measure = async (what, args) => {
    const t0 = Date.now();
    const sock = await socketAppears(args);
    await c.waitMsg((m) => m.type === 'state' && m.connected && m.at >= t0, 5000, `${what}: connected`);
    const took = stateMsg(c, true, t0).at - sock.at;
    assert.equal(await sock.done, 0, `virsh ${args.join(' ')}`);
    t.diagnostic(`${what}: console back ${took} ms after the socket appeared`);
    assert.ok(took < 1000, `${what}: console back ${took} ms after the socket appeared`);
    return took;
  };

  virsh('destroy', vm);
  await c.waitMsg((m) => m.type === 'state' && !m.connected, 5000, 'disconnected on destroy');
  await measure('destroy+start', ['start', vm]);
  const bootFrom = c.text().length;
  await c.waitText('testvm# ', 90000, bootFrom);
  c.input('echo up-$((20+1))\n');
  await c.waitText('up-21', 10000);

  // A reboot keeps the socket: the holder connection must simply carry on.
  const readyBefore = c.text().split('GUEST-READY').length;
  virsh('reboot', vm);
  await c.wait(() => c.text().split('GUEST-READY').length > readyBefore, 90000, 'reboot');
  await c.waitText('testvm# ', 20000, c.text().lastIndexOf('GUEST-READY'));
  c.input('echo rebooted-$((3*3))\n');
  await c.waitText('rebooted-9', 10000);
  const img = path.join(h.dir, 'save.img');
  const saveAt = Date.now();
  virsh('save', vm, img);
  await c.waitMsg((m) => m.type === 'state' && !m.connected && m.at >= saveAt, 5000, 'disconnected on save');
  await measure('save+restore', ['restore', img]);
  fs.rmSync(img, { force: true });
  c.input('echo restored-$((40+2))\n');
  await c.waitText('restored-42', 10000);

  assert.deepEqual(c.errors, []);
  assert.deepEqual(c.gaps, []);
  await c.close();
});

test('a viewer that stops reading leaves hostd memory bounded and other viewers unaffected', { timeout: 240000 }, async (t) => {
  const slow = h.attach(vm, { mode: 'ro', offset: 'end' });
  const fast = h.attach(vm, { offset: 'end', take: true });
  await slow.waitMsg((m) => m.type === 'hello', 5000, 'hello');
  await fast.waitMsg((m) => m.type === 'hello', 5000, 'hello');
  slow.ws._socket.pause(); // stop reading: TCP fills up, hostd must not buffer for it
  const rss0 = await h.hostdRss();
  const total = 600000; // more than twice the 256 KiB ring
  fast.input(`head -c ${total} /dev/zero | tr '\\0' x; echo; echo BIG-D""ONE\n`);
  await fast.waitText('BIG-DONE', 150000);
  const rss1 = await h.hostdRss();
  assert.ok(fast.out().length > total, 'fast viewer got everything');
  assert.deepEqual(fast.gaps, []);
  assert.deepEqual(fast.errors, []);
  t.diagnostic(`hostd RSS ${rss0} KiB before, ${rss1} KiB after ${total} bytes with a stalled viewer`);
  assert.ok(rss1 - rss0 < 8192, `hostd RSS grew ${rss1 - rss0} KiB`);
  slow.ws._socket.resume();
  await slow.waitText('BIG-DONE', 20000);
  // Loopback TCP buffers can absorb a few MB for it; past that hostd skips it ahead with a
  // GAP. Either way its stream stays consistent.
  t.diagnostic(`stalled viewer: ${slow.gaps.length} gap(s), ${slow.out().length} bytes`);
  if (slow.gaps.length === 0) assert.ok(slow.out().length > total, 'no gap, so nothing may be missing');
  assert.deepEqual(slow.errors, []);
  await slow.close();
  await fast.close();
});
