// Viewer-side costs of vmgate. Prints JSON lines.
//
// --what=memory: RSS of the gateway and hostd with each of --counts idle viewers attached
//   (read-only, offset=end, on a real guest's serial console), and the cost per viewer; then the
//   PSS of websockify (--wsk-pid, with the process it forks per client) with each of
//   --wsk-counts idle clients of --wsk-url, which proxies to an idle source.mjs at --src-sock,
//   and the same for ttyd (--ttyd-pid with its per-client socat, --ttyd-url).
// --what=latency: attach time (console.ticket over HTTPS + console WebSocket open + hello),
//   sequential, --n times; API latency of vm.list over the API WebSocket and over HTTPS
//   (keep-alive connection, and a new TLS connection per call), --n-api times each.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { gatewayApi, nowMs, options, rssKiB, sleep, summary, treePssKiB, ttydClient, vmgateClient, websockifyClient } from './lib.mjs';

const o = options({
  what: 'memory',
  url: '',
  ca: '',
  user: 'admin',
  'password-file': '',
  vm: '',
  counts: '0 100 500',
  n: 100,
  'n-api': 500,
  'gateway-pid': 0,
  'hostd-pid': 0,
  'wsk-url': '',
  'wsk-pid': 0,
  'wsk-counts': '0 10 50',
  'ttyd-url': '',
  'ttyd-pid': 0,
  'src-sock': '',
});

const api = gatewayApi(o.url, o.ca);
await api.login(o.user, fs.readFileSync(o['password-file'], 'utf8').trim());

async function memory() {
  const viewers = [];
  const base = {};
  let prev = { n: Infinity };
  try {
    for (const n of o.counts.split(/\s+/).filter(Boolean).map(Number)) {
      // Attach in small parallel batches: fast, yet no burst the gateway must queue.
      while (viewers.length < n) {
        const batch = Math.min(10, n - viewers.length);
        viewers.push(...(await Promise.all(Array.from({ length: batch }, () => vmgateClient(api, { vm: o.vm, mode: 'ro', offset: 'end' })))));
      }
      await sleep(2000); // let freed TLS handshake buffers settle
      const rss = { gateway: rssKiB(o['gateway-pid']), hostd: rssKiB(o['hostd-pid']) };
      if (base.gateway === undefined) Object.assign(base, rss, { n });
      // Per viewer against the first count, and against the previous one (the step).
      const per = (from, k) => (n > from.n ? Math.round(((rss[k] - from[k]) / (n - from.n)) * 10) / 10 : null);
      console.log(
        JSON.stringify({
          bench: 'memory',
          viewers: n,
          rssKiB: rss,
          perViewerKiB: { gateway: per(base, 'gateway'), hostd: per(base, 'hostd') },
          stepPerViewerKiB: { gateway: per(prev, 'gateway'), hostd: per(prev, 'hostd') },
        }),
      );
      prev = { ...rss, n };
    }
  } finally {
    viewers.forEach((v) => v.close());
  }
}

// websockify or ttyd: both fork a process per client (websockify itself, ttyd its command).
async function proxyMemory(kind, url, pid) {
  const clients = [];
  let base = null;
  const source = fork(new URL('./source.mjs', import.meta.url), [o['src-sock']]);
  await new Promise((resolve) => source.once('message', resolve));
  try {
    for (const n of o['wsk-counts'].split(/\s+/).filter(Boolean).map(Number)) {
      while (clients.length < n) clients.push(await (kind === 'ttyd' ? ttydClient(url, o.ca) : websockifyClient(url, o.ca)));
      await sleep(2000);
      const pss = treePssKiB(pid);
      base ??= { ...pss, n };
      const per = n > base.n ? Math.round(((pss.kib - base.kib) / (n - base.n)) * 10) / 10 : null;
      console.log(JSON.stringify({ bench: `memory-${kind}`, viewers: n, pssKiB: pss.kib, processes: pss.procs, perViewerKiB: per }));
    }
  } finally {
    clients.forEach((c) => c.close());
    const gone = new Promise((resolve) => source.once('exit', resolve));
    source.send('exit');
    await gone;
  }
}

async function time(n, fn) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await fn();
    samples.push(nowMs() - t0);
  }
  return summary(samples);
}

async function latency() {
  await api.call('whoami'); // opens the keep-alive connection outside the timing
  const attach = await time(o.n, async () => {
    const c = await vmgateClient(api, { vm: o.vm, mode: 'ro', offset: 'end' });
    c.close();
  });
  console.log(JSON.stringify({ bench: 'attach', ...attach }));
  const ticket = await time(o.n, () => api.call('console.ticket', { vm: o.vm, mode: 'ro' }));
  console.log(JSON.stringify({ bench: 'api', method: 'console.ticket', via: 'https keep-alive', ...ticket }));
  const ws = await api.ws();
  await ws.call('whoami');
  const overWs = await time(o['n-api'], () => ws.call('vm.list'));
  ws.close();
  console.log(JSON.stringify({ bench: 'api', method: 'vm.list', via: 'websocket', ...overWs }));
  const keep = await time(o['n-api'], () => api.call('vm.list'));
  console.log(JSON.stringify({ bench: 'api', method: 'vm.list', via: 'https keep-alive', ...keep }));
  const fresh = await time(Math.ceil(o['n-api'] / 5), () => api.call('vm.list', {}, { reuse: false }));
  console.log(JSON.stringify({ bench: 'api', method: 'vm.list', via: 'https new TLS connection', ...fresh }));
}

try {
  if (o.what === 'memory') {
    await memory();
    if (o['wsk-pid']) await proxyMemory('websockify', o['wsk-url'], o['wsk-pid']);
    if (o['ttyd-pid']) await proxyMemory('ttyd', o['ttyd-url'], o['ttyd-pid']);
  }
  else if (o.what === 'latency') await latency();
  else throw new Error(`--what is memory or latency, not ${o.what}`);
} finally {
  api.close();
}
