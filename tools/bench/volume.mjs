// Volume transfer throughput (docs/performance.md "Volume transfers"): uploads --size-mb of
// generated, incompressible data into a volume through the gateway (POST volume.upload, HTTPS →
// gateway → hostd → libvirt) and downloads it again (GET volume.download), timing each and
// recording the CPU the gateway and hostd spent per MB; then the same through libvirt alone
// (`virsh vol-upload` / `vol-download` from and to a file, --virsh-uri), the floor vmgate
// stands on. Also times --n-rpc calls of volume.get, an API call the gateway answers with a call
// to hostd over its persistent RPC link. Prints one JSON line per measurement.
//
//   node volume.mjs --url=https://127.0.0.1:PORT --ca=CA --password-file=F --pool=POOL \
//     --gateway-pid=P --hostd-pid=P [--size-mb=512] [--virsh-uri=URI] [--n-rpc=200]
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { cpuSeconds, gatewayApi, nowMs, options, summary } from './lib.mjs';

const o = options({
  url: '',
  ca: '',
  user: 'admin',
  'password-file': '',
  pool: 'vmgate',
  volume: 'vgt-bench-vol.raw',
  'size-mb': 512,
  'gateway-pid': 0,
  'hostd-pid': 0,
  'virsh-uri': '',
  'n-rpc': 200,
});
const MB = 1e6;
const MIB = 1 << 20;
const size = o['size-mb'] * MIB;
const noise = crypto.randomBytes(MIB);

const api = gatewayApi(o.url, o.ca);
await api.login(o.user, fs.readFileSync(o['password-file'], 'utf8').trim());

const cpu = () => ({ gateway: cpuSeconds(o['gateway-pid']), hostd: cpuSeconds(o['hostd-pid']) });

function report(op, path_, seconds, before, after) {
  const mb = size / MB;
  const perMB = (k) => (before ? Math.round(((after[k] - before[k]) * 1000 * 100) / mb) / 100 : null);
  console.log(
    JSON.stringify({
      bench: 'volume',
      op,
      path: path_,
      mb: Math.round(mb),
      seconds: Math.round(seconds * 100) / 100,
      mbPerS: Math.round((mb / seconds) * 10) / 10,
      gatewayCpuMsPerMB: perMB('gateway'),
      hostdCpuMsPerMB: perMB('hostd'),
    }),
  );
}

function request(method, opts, body) {
  const q = new URLSearchParams({ pool: o.pool, volume: o.volume });
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(`/api/v1/${method}?${q}`, o.url),
      { ...opts, headers: { ...opts.headers, authorization: `Bearer ${api.token}` }, ca: api.ca, agent: false },
      (r) => {
        let n = 0;
        const chunks = [];
        r.on('data', (c) => {
          n += c.length;
          if (r.statusCode !== 200 || method !== 'volume.download') chunks.push(c);
        });
        r.on('end', () => (r.statusCode === 200 ? resolve(n) : reject(new Error(`${method}: HTTP ${r.statusCode} ${Buffer.concat(chunks)}`))));
        r.on('error', reject);
      },
    );
    req.on('error', reject);
    body?.(req);
    if (!body) req.end();
  });
}

// Upload through vmgate.
let before = cpu();
let t0 = nowMs();
await request('volume.upload', { method: 'POST', headers: { 'content-length': size } }, (req) => {
  let i = 0;
  const pump = () => {
    while (i < size / MIB) {
      i++;
      if (!req.write(noise)) return req.once('drain', pump);
    }
    req.end();
  };
  pump();
});
report('upload', 'vmgate', (nowMs() - t0) / 1000, before, cpu());

// Download through vmgate.
before = cpu();
t0 = nowMs();
const got = await request('volume.download', { method: 'GET' });
if (got !== size) throw new Error(`download: ${got} bytes of ${size}`);
report('download', 'vmgate', (nowMs() - t0) / 1000, before, cpu());

// libvirt alone, from and to a file.
if (o['virsh-uri']) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-bench-vol-'));
  const file = path.join(dir, 'data');
  try {
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < size / MIB; i++) fs.writeSync(fd, noise);
    fs.closeSync(fd);
    const virsh = (...args) => execFileSync('virsh', ['-q', '-c', o['virsh-uri'], ...args]);
    t0 = nowMs();
    virsh('vol-upload', '--pool', o.pool, o.volume, file);
    report('upload', 'virsh', (nowMs() - t0) / 1000, null, null);
    t0 = nowMs();
    virsh('vol-download', '--pool', o.pool, o.volume, file);
    report('download', 'virsh', (nowMs() - t0) / 1000, null, null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
// A hostd RPC per call: volume.get of that volume, one call at a time over HTTPS keep-alive.
const ms = [];
for (let i = 0; i <= o['n-rpc']; i++) {
  const t = nowMs();
  await api.call('volume.get', { pool: o.pool, volume: o.volume });
  if (i) ms.push(nowMs() - t); // the first may open the link
}
console.log(JSON.stringify({ bench: 'api', method: 'volume.get (a hostd RPC)', via: 'https keep-alive', ...summary(ms) }));
await api.call('volume.delete', { pool: o.pool, volume: o.volume }).catch(() => {});
process.exit(0);
