// Console output throughput to 1..N viewers from a fast source (source.mjs), through vmgate
// (source → hostd → gateway → viewer), through websockify (one source connection per viewer)
// and read directly from the socket (one connection per reader). Prints one JSON line per
// target and viewer count.
//
//   node throughput.mjs --url=https://127.0.0.1:PORT --ca=CA --password-file=F --dir=STACKDIR \
//     --consoles=CONSOLE_DIR --vm=vgt-bench-src --wsk=wss://127.0.0.1:PORT/ --viewers="1 10 50" \
//     --seconds=10 --gateway-pid=P --hostd-pid=P [--targets="direct websockify vmgate"] [--rates="0"]
//
// Server memory is sampled during each run: RSS of gateway + hostd, PSS of websockify (--wsk-pid)
// with its per-client processes. websockify queues whatever its target sends without bound
// while its client is slower, so a run is cut short once it grew by --max-growth-mb.
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
import { directClient, gatewayApi, nowMs, options, rssKiB, sleep, treePssKiB, vmgateClient, websockifyClient } from './lib.mjs';

const o = options({
  url: '',
  ca: '',
  user: 'admin',
  'password-file': '',
  dir: '',
  consoles: '',
  vm: 'vgt-bench-src',
  wsk: '',
  viewers: '1 10 50',
  seconds: 10,
  'gateway-pid': 0,
  'hostd-pid': 0,
  'wsk-pid': 0,
  'max-growth-mb': 1024,
  targets: 'direct websockify vmgate',
  rates: '0',
});
const MB = 1e6;

// CPU seconds (user + system) a process has used so far.
function cpuSeconds(pid) {
  if (!pid) return NaN;
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

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

// hostd finds the socket, registers the console and the gateway sees it in Redis.
async function registered() {
  const t0 = nowMs();
  for (;;) {
    const { vms } = await api.call('vm.list');
    const vm = vms.find((v) => v.name === o.vm);
    if (vm && vm.consoles.includes('serial0') && vm.host_up) return;
    if (nowMs() - t0 > 30000) throw new Error(`${o.vm} did not appear in vm.list`);
    await sleep(250);
  }
}

// Memory of the serving side in KiB (NaN for the direct reader: there is none).
function serverKiB(target) {
  if (target === 'vmgate') return rssKiB(o['gateway-pid']) + rssKiB(o['hostd-pid']);
  if (target === 'websockify' && o['wsk-pid']) return treePssKiB(o['wsk-pid']).kib;
  return NaN;
}

async function open(target, n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    if (target === 'direct') clients.push(await directClient(srcPath));
    else if (target === 'websockify') clients.push(await websockifyClient(o.wsk, o.ca));
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
  const cpu0 = { gateway: cpuSeconds(o['gateway-pid']), hostd: cpuSeconds(o['hostd-pid']), client: process.cpuUsage() };
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
  const cpu = {
    gateway: Math.round(((cpuSeconds(o['gateway-pid']) - cpu0.gateway) / secs) * 100),
    hostd: Math.round(((cpuSeconds(o['hostd-pid']) - cpu0.hostd) / secs) * 100),
    client: Math.round(((cu.user + cu.system) / 1e6 / secs) * 100),
  };
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
    cpuPercent: target === 'vmgate' ? cpu : { client: cpu.client },
  };
}

try {
  await registered();
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
