// Console output throughput to 1..N viewers from a fast source (source.mjs), through vmgate
// (source → hostd → gateway → viewer), through websockify and ttyd (one source connection per
// viewer) and read directly from the socket (one connection per reader). Prints one JSON line per
// target and viewer count.
//
//   node throughput.mjs --url=https://127.0.0.1:PORT --ca=CA --password-file=F --dir=STACKDIR \
//     --consoles=CONSOLE_DIR --vm=vgt-bench-src --wsk=wss://127.0.0.1:PORT/ --ttyd=https://127.0.0.1:PORT/ \
//     --viewers="1 10 50" --seconds=10 --gateway-pid=P --hostd-pid=P --wsk-pid=P --ttyd-pid=P \
//     [--targets="direct websockify ttyd vmgate"] [--rates="0"]
//
// Server memory is sampled during each run: RSS of gateway + hostd, PSS of websockify (--wsk-pid)
// and of ttyd (--ttyd-pid), each with its per-client processes. websockify queues whatever its
// target sends without bound while its client is slower, so a run is cut short once it grew by
// --max-growth-mb. Server CPU (user + system, whole process trees) is recorded per delivered MB.
//
// --rates: source output rates in MB/s per connection, 0 meaning as fast as it is read. vmgate's
// hostd reads its console as fast as it can and never slows the VM down (viewers that fall behind
// get a GAP), so a limited rate shows how fast vmgate delivers without loss.
//
// The source listens twice: CONSOLE_DIR/com-VM.sock, where hostd picks it up by convention, and
// STACKDIR/src/com-VM.sock for the direct readers and websockify.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { directClient, gatewayApi, nowMs, options, serverUsage, sleep, ttydClient, waitRegistered, vmgateClient, websockifyClient } from './lib.mjs';

const o = options({
  url: '',
  ca: '',
  user: 'admin',
  'password-file': '',
  dir: '',
  consoles: '',
  vm: 'vgt-bench-src',
  wsk: '',
  ttyd: '',
  viewers: '1 10 50',
  seconds: 10,
  'gateway-pid': 0,
  'hostd-pid': 0,
  'wsk-pid': 0,
  'ttyd-pid': 0,
  'max-growth-mb': 1024,
  targets: 'direct websockify ttyd vmgate',
  rates: '0',
});
const MB = 1e6;

const srcPath = path.join(o.dir, 'src', `com-${o.vm}.sock`);
fs.mkdirSync(path.dirname(srcPath), { recursive: true });
const source = fork(new URL('./source.mjs', import.meta.url), [path.join(o.consoles, `com-${o.vm}.sock`), srcPath]);
const ask = (m) =>
  new Promise((resolve) => {
    source.once('message', resolve);
    source.send(m);
  });
await new Promise((resolve) => source.once('message', resolve));

const api = gatewayApi(o.url, o.ca);
await api.login(o.user, fs.readFileSync(o['password-file'], 'utf8').trim());

const pids = { gateway: o['gateway-pid'], hostd: o['hostd-pid'], websockify: o['wsk-pid'], ttyd: o['ttyd-pid'] };
// Memory of the serving side in KiB (NaN for the direct reader: there is none).
const serverKiB = (target) => serverUsage(target, pids).kib;

async function open(target, n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    if (target === 'direct') clients.push(await directClient(srcPath));
    else if (target === 'websockify') clients.push(await websockifyClient(o.wsk, o.ca));
    else if (target === 'ttyd') clients.push(await ttydClient(o.ttyd, o.ca));
    else clients.push(await vmgateClient(api, { vm: o.vm, mode: 'ro', offset: 'end' }));
  }
  return clients;
}

async function measure(target, n, rateMBs) {
  const clients = await open(target, n);
  const bytes = clients.map(() => 0);
  clients.forEach((c, i) =>
    c.onData((b) => {
      bytes[i] += b.length;
    }),
  );
  await ask('stats');
  const mem0 = serverKiB(target);
  source.send({ arm: rateMBs * MB, listener: target === 'vmgate' ? 0 : 1 });
  await sleep(1000); // warm-up: buffers fill, TCP-like windows open
  const b0 = [...bytes];
  const g0 = clients.map((c) => c.gapBytes || 0);
  const cpu0 = { server: serverUsage(target, pids), client: process.cpuUsage() };
  await ask('stats');
  const t0 = nowMs();
  let peak = mem0;
  let cut = false;
  while (nowMs() - t0 < o.seconds * 1000) {
    await sleep(200);
    peak = Math.max(peak, serverKiB(target));
    if (peak - mem0 > o['max-growth-mb'] * 1024) {
      cut = true;
      break;
    }
  }
  const secs = (nowMs() - t0) / 1000;
  const { written } = await ask('stats');
  const got = bytes.map((b, i) => b - b0[i]);
  const gaps = clients.map((c, i) => (c.gapBytes || 0) - g0[i]);
  const cu = process.cpuUsage(cpu0.client);
  const s1 = serverUsage(target, pids);
  const pct = (sec) => Math.round((sec / secs) * 100);
  const serverSec = s1.cpu - cpu0.server.cpu;
  const cpu =
    target === 'vmgate'
      ? { gateway: pct(s1.gateway - cpu0.server.gateway), hostd: pct(s1.hostd - cpu0.server.hostd) }
      : Number.isNaN(serverSec)
        ? {}
        : { [target]: pct(serverSec) };
  cpu.client = pct((cu.user + cu.system) / 1e6);
  source.send('disarm');
  clients.forEach((c) => c.close());
  await sleep(1000); // let the pipes drain before the next run
  const total = got.reduce((a, b) => a + b, 0);
  const r = (x) => Math.round(x * 100) / 100;
  return {
    bench: 'throughput',
    target,
    viewers: n,
    rateMBs,
    seconds: r(secs),
    perViewerMBs: r(total / n / secs / MB),
    minViewerMBs: r(Math.min(...got) / secs / MB),
    aggregateMBs: r(total / secs / MB),
    sourceMBs: r(written / secs / MB),
    serverGrowthMB: Number.isNaN(peak - mem0) ? null : r((peak - mem0) / 1024),
    cutShort: cut,
    gapMB: r(gaps.reduce((a, b) => a + b, 0) / MB),
    cpuPercent: cpu,
    // Server CPU milliseconds (whole process trees) per delivered MB; null for direct (no server).
    serverCpuMsPerMB: Number.isNaN(serverSec) || !total ? null : r((serverSec * 1000) / (total / MB)),
  };
}

try {
  await waitRegistered(api, [o.vm], 30000);
  const list = (s) => s.split(/\s+/).filter(Boolean);
  for (const rate of list(o.rates).map(Number))
    for (const n of list(o.viewers).map(Number))
      for (const target of list(o.targets)) console.log(JSON.stringify(await measure(target, n, rate)));
} finally {
  api.close();
  const gone = new Promise((resolve) => source.once('exit', resolve));
  source.send('exit');
  await gone;
}
