// Console offsets survive hostd restarts (C3, C5): a client that resumes at the offset it had
// gets exactly the bytes after it, including what the guest printed while hostd was down.
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
    this.vms = [];
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

const TICKS = 300;
const tickCmd = `i=0; while [ $i -lt ${TICKS} ]; do echo tick-$i; i=$((i+1)); usleep 20000; done; echo TICK-D""ONE\n`;

function ticks(buf) {
  return [...buf.toString('latin1').matchAll(/tick-(\d+)\r\n/g)].map((m) => Number(m[1]));
}

test('a viewer resumes across hostd restarts (SIGTERM and SIGKILL) with no lost and no duplicated byte', { timeout: 300000 }, async () => {
  const h = new Harness();
  await h.start();
  try {
    const vm = h.defineVm('restart');
    virsh('start', vm);
    const a = h.attach(vm);
    await a.waitText('testvm# ', 90000);
    a.input(tickCmd);
    await a.waitText('tick-30\r\n', 20000);

    // Orderly restart: viewers are told 1001 (go away, resume), offsets are saved.
    await h.stopHostd('SIGTERM');
    await a.wait(() => a.closed !== null, 5000, 'close');
    assert.equal(a.closed, 1001);
    const firstResume = a.next;
    await sleep(1500); // the guest keeps printing; only virtlogd sees it
    await h.startHostd();
    const b = h.attach(vm, { offset: firstResume });
    await b.waitText('tick-150\r\n', 30000);
    const hello = b.texts.find((m) => m.type === 'hello');
    assert.equal(hello.offset, firstResume);

    // Crash: nothing is flushed, the resume still lines up.
    await h.stopHostd('SIGKILL');
    await b.wait(() => b.closed !== null, 5000, 'close');
    const secondResume = b.next;
    await sleep(1000);
    await h.startHostd();
    const c = h.attach(vm, { offset: secondResume });
    await c.waitText('TICK-DONE', 90000);

    for (const v of [a, b, c]) assert.deepEqual(v.errors, []);
    assert.deepEqual([...b.gaps, ...c.gaps], []);
    assert.equal(b.first, firstResume);
    assert.equal(c.first, secondResume);
    const all = Buffer.concat([a.out(), b.out(), c.out()]);
    assert.deepEqual(ticks(all), [...Array(TICKS).keys()]);
    // The three streams tile the console's stream exactly.
    assert.equal(a.first + a.out().length, b.first);
    assert.equal(b.first + b.out().length, c.first);
    await c.close();
  } finally {
    await h.stop();
  }
});
