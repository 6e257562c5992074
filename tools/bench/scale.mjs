// Scale benchmarks (docs/performance.md "Scale"): many viewers, many consoles, against vmgate,
// websockify, ttyd and the direct socket. Clients run in --workers processes (crowd.mjs). Prints
// JSON lines.
//
//   node scale.mjs --what=idle|consoles|fanout|echo --targets="vmgate websockify ttyd direct" \
//     --url=https://127.0.0.1:PORT --ca=CA --password-file=F --dir=STACKDIR --consoles=CONSOLE_DIR \
//     --gateway-pid=P --hostd-pid=P --wsk=wss://127.0.0.1:PORT/ --wsk-pid=P \
//     --ttyd=https://127.0.0.1:PORT/ --ttyd-pid=P [...]
//
// --what=idle: idle viewers of one idle console (the synthetic source --vm, never armed),
//   attached in steps (--counts for vmgate, --proxy-counts for websockify and ttyd); per step the
//   memory of the serving processes (RSS of gateway and hostd; PSS of the websockify or ttyd
//   tree), the bulk attach times (all, and the last 100 of the step) and --probes sequential
//   attach-and-close times with the step's viewers attached.
// --what=consoles: --n synthetic consoles (com-<prefix>NNNN sockets in CONSOLE_DIR), one vmgate
//   viewer each; websockify, ttyd and direct: --n clients, each with its own source connection
//   (what one console per client is for them). Attach times, memory, then throughput with every
//   source at each of --rates MB/s (0: as fast as read).
// --what=fanout: --n viewers of one console (--vm), throughput at each of --rates.
// --what=echo: --n viewers attached elsewhere (the synthetic consoles, or source clients),
//   their sources at --load-rate MB/s each, while echo.mjs times keystrokes on the real guest
//   (--echo-vm through vmgate, --echo-sock direct, --echo-wsk, --echo-ttyd).
//
// Every step and wait is bounded: --timeout-ms per attach, --step-s per step of attaches,
// --probe-s for the probes of a step, 5 min for hostd to register the consoles; a step
// stops early when MemAvailable falls below --min-free-mb (websockify costs ~5 MB per client).
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gatewayApi, nowMs, options, rssKiB, serverUsage, sleep, summary, vmgateClient, waitRegistered, within } from './lib.mjs';

const o = options({
  what: 'idle',
  targets: 'vmgate websockify ttyd direct',
  url: '',
  ca: '',
  user: 'admin',
  'password-file': '',
  dir: '',
  consoles: '',
  vm: 'vgt-bench-src',
  prefix: 'vgt-scale-',
  wsk: '',
  ttyd: '',
  'gateway-pid': 0,
  'hostd-pid': 0,
  'wsk-pid': 0,
  'ttyd-pid': 0,
  workers: 8,
  conc: 4,
  counts: '1000 2500 5000 10000',
  'proxy-counts': '100 500',
  n: 1000,
  probes: 50,
  rates: '0',
  seconds: 10,
  'load-rate': 0.005,
  'timeout-ms': 30000,
  'step-s': 300,
  'probe-s': 120,
  'min-free-mb': 3072,
  'max-growth-mb': 2048,
  'echo-n': 200,
  'echo-vm': '',
  'echo-sock': '',
  'echo-wsk': '',
  'echo-ttyd': '',
});
const MB = 1e6;
const list = (s) => String(s).split(/\s+/).filter(Boolean);
const r2 = (x) => Math.round(x * 100) / 100;
const pids = { gateway: o['gateway-pid'], hostd: o['hostd-pid'], websockify: o['wsk-pid'], ttyd: o['ttyd-pid'] };
const password = fs.readFileSync(o['password-file'], 'utf8').trim();

const memAvailableMB = () => Number(/MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))[1]) / 1024;

// The console sources: the synthetic consoles for vmgate (in console_dir, where hostd finds
// them), then one socket outside console_dir for websockify, ttyd and direct readers.
function startSource(vmNames) {
  const paths = [...vmNames.map((v) => path.join(o.consoles, `com-${v}.sock`)), path.join(o.dir, 'src', `com-${o.vm}.sock`)];
  fs.mkdirSync(path.join(o.dir, 'src'), { recursive: true });
  const child = fork(new URL('./source.mjs', import.meta.url), paths);
  const src = {
    outside: vmNames.length, // index of the socket outside console_dir
    ask: (m) =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send(m);
      }),
    send: (m) => child.send(m),
    async stop() {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.send('exit');
      await gone;
    },
  };
  return new Promise((resolve) => child.once('message', () => resolve(src)));
}

// Worker processes holding the clients.
async function crowd(n) {
  const ws = await Promise.all(
    Array.from({ length: n }, () => {
      const child = fork(new URL('./crowd.mjs', import.meta.url));
      return new Promise((resolve) => child.once('message', () => resolve(child)));
    }),
  );
  const ask = (w, m) =>
    new Promise((resolve) => {
      w.once('message', resolve);
      w.send(m);
    });
  return {
    all: (m) => Promise.all(ws.map((w) => ask(w, m))),
    // Opens n more clients, spread evenly over the workers; vms[i] for the i-th of them.
    async open(target, n, api, vms, extra = {}) {
      const per = ws.map((_, i) => Math.floor(n / ws.length) + (i < n % ws.length ? 1 : 0));
      let at = 0;
      const answers = await Promise.all(
        ws.map((w, i) => {
          const mine = vms.length > 1 ? vms.slice(at, at + per[i]) : vms;
          at += per[i];
          return per[i]
            ? ask(w, {
                op: 'open',
                target,
                n: per[i],
                conc: o.conc,
                timeoutMs: o['timeout-ms'],
                deadlineMs: o['step-s'] * 1000,
                vms: mine,
                url: o.url,
                ca: o.ca,
                token: api?.token,
                wsk: o.wsk,
                ttyd: o.ttyd,
                sock: path.join(o.dir, 'src', `com-${o.vm}.sock`),
                ...extra,
              })
            : { ok: 0, failed: 0, skipped: 0, ms: [], errors: [] };
        }),
      );
      return {
        ok: answers.reduce((a, x) => a + x.ok, 0),
        failed: answers.reduce((a, x) => a + x.failed, 0),
        skipped: answers.reduce((a, x) => a + x.skipped, 0),
        // Attach times in the order they were started, interleaved over the workers.
        ms: answers.flatMap((x) => x.ms),
        last: answers.flatMap((x) => x.ms.slice(-Math.ceil(100 / ws.length))),
        errors: answers.flatMap((x) => x.errors).slice(0, 3),
      };
    },
    async stats() {
      const s = await this.all({ op: 'stats' });
      return {
        bytes: s.flatMap((x) => x.bytes),
        gap: s.reduce((a, x) => a + x.gap, 0),
        text: s.reduce((a, x) => a + x.text, 0),
        closed: s.reduce((a, x) => a + x.closed, 0),
        cpuSec: s.reduce((a, x) => a + x.cpuSec, 0),
      };
    },
    close: () => Promise.all(ws.map((w) => ask(w, { op: 'close' }))),
    async exit() {
      await Promise.all(
        ws.map((w) => {
          const gone = new Promise((resolve) => w.once('exit', resolve));
          w.send('exit');
          return gone;
        }),
      );
    },
  };
}

async function login() {
  const api = gatewayApi(o.url, o.ca);
  await api.login(o.user, password);
  return api;
}

// Sequential attach-and-close of one more viewer, n times (vmgate: ticket + WebSocket + hello),
// for at most --probe-s seconds.
async function probe(api, n) {
  const ms = [];
  let failed = 0;
  const t0 = nowMs();
  for (let i = 0; i < n && nowMs() - t0 < o['probe-s'] * 1000; i++) {
    const t0 = nowMs();
    try {
      const c = await within(vmgateClient(api, { vm: o.vm, mode: 'ro', offset: 'end' }), o['timeout-ms'], 'probe');
      ms.push(nowMs() - t0);
      c.close();
    } catch {
      failed++;
    }
  }
  return { ...summary(ms), failed };
}

async function idle(target, api) {
  const counts = list(target === 'vmgate' ? o.counts : o['proxy-counts']).map(Number);
  const c = await crowd(o.workers);
  const base = serverUsage(target, pids);
  const baseRss = target === 'vmgate' ? rss() : null;
  let held = 0;
  try {
    console.log(JSON.stringify({ bench: 'scale-idle', target, viewers: 0, serverKiB: base.kib, rssKiB: baseRss ?? undefined }));
    for (const n of counts) {
      if (memAvailableMB() < o['min-free-mb']) break;
      const t0 = nowMs();
      const want = n - held;
      const got = await c.open(target, want, api, [o.vm]);
      held += got.ok;
      const stepS = r2((nowMs() - t0) / 1000);
      await sleep(2000); // freed handshake buffers settle
      const now = serverUsage(target, pids);
      const st = await c.stats();
      const alive = held - st.closed; // websockify, for one, drops clients past ~500
      const row = {
        bench: 'scale-idle',
        target,
        viewers: held,
        wanted: n,
        failed: got.failed,
        skipped: got.skipped,
        errors: got.errors,
        stepSeconds: stepS,
        serverKiB: now.kib,
        alive,
        perViewerKiB: alive > 0 ? r2((now.kib - base.kib) / alive) : null,
        rssKiB: target === 'vmgate' ? rss() : undefined,
        attach: summary(got.ms),
        attachLast100: summary(got.last),
        probe: target === 'vmgate' ? await probe(api, o.probes) : undefined,
        closedByServer: st.closed,
        textMB: r2(st.text / MB),
      };
      if (target === 'vmgate') row.perViewerKiBByProcess = { gateway: r2((row.rssKiB.gateway - baseRss.gateway) / alive), hostd: r2((row.rssKiB.hostd - baseRss.hostd) / alive) };
      console.log(JSON.stringify(row));
      if (got.failed + got.skipped + st.closed > want / 100) break; // the path is at its limit
    }
  } finally {
    await c.close();
    await c.exit();
  }
}

const rss = () => ({ gateway: rssKiB(pids.gateway), hostd: rssKiB(pids.hostd) });

// Output delivered to the crowd's clients for o.seconds with the sources armed: per-viewer and
// aggregate MB/s, GAP, server CPU (% of a core, ms per delivered MB), clients' CPU.
async function flow(target, c, src, rate, span, n) {
  src.send({ arm: rate * MB, ...span });
  await sleep(1000); // warm-up
  const s0 = await c.stats();
  const u0 = serverUsage(target, pids);
  await src.ask('stats');
  const t0 = nowMs();
  let peak = u0.kib;
  let cut = false;
  while (nowMs() - t0 < o.seconds * 1000) {
    await sleep(250);
    peak = Math.max(peak, serverUsage(target, pids).kib);
    if (peak - u0.kib > o['max-growth-mb'] * 1024 || memAvailableMB() < o['min-free-mb']) {
      cut = true;
      break;
    }
  }
  const secs = (nowMs() - t0) / 1000;
  const u1 = serverUsage(target, pids);
  const s1 = await c.stats();
  const { written } = await src.ask('stats');
  src.send('disarm');
  await sleep(1000);
  const got = s1.bytes.map((b, i) => b - (s0.bytes[i] || 0));
  const total = got.reduce((a, b) => a + b, 0);
  const serverSec = u1.cpu - u0.cpu;
  return {
    target,
    viewers: n,
    rateMBs: rate,
    seconds: r2(secs),
    perViewerMBs: r2(total / got.length / secs / MB),
    minViewerMBs: r2(Math.min(...got) / secs / MB),
    aggregateMBs: r2(total / secs / MB),
    sourceMBs: r2(written / secs / MB),
    gapMB: r2((s1.gap - s0.gap) / MB),
    serverGrowthMB: Number.isNaN(peak - u0.kib) ? null : r2((peak - u0.kib) / 1024),
    cutShort: cut,
    closedByServer: s1.closed,
    cpuPercent: {
      ...(target === 'vmgate'
        ? { gateway: Math.round(((u1.gateway - u0.gateway) / secs) * 100), hostd: Math.round(((u1.hostd - u0.hostd) / secs) * 100) }
        : Number.isNaN(serverSec)
          ? {}
          : { [target]: Math.round((serverSec / secs) * 100) }),
      clients: Math.round(((s1.cpuSec - s0.cpuSec) / secs) * 100),
    },
    serverCpuMsPerMB: Number.isNaN(serverSec) || !total ? null : r2((serverSec * 1000) / (total / MB)),
  };
}

// Many consoles (one viewer each) or one console with many viewers, then throughput per rate.
async function spread(what, target, api, src, names) {
  const c = await crowd(o.workers);
  try {
    const u0 = serverUsage(target, pids);
    const t0 = nowMs();
    const vms = target === 'vmgate' ? (what === 'consoles' ? names : [o.vm]) : [];
    const got = await c.open(target, o.n, api, vms);
    const stepS = r2((nowMs() - t0) / 1000);
    await sleep(2000);
    const u1 = serverUsage(target, pids);
    const head = {
      bench: `scale-${what}`,
      consoles: what === 'consoles' ? got.ok : 1,
      failed: got.failed,
      skipped: got.skipped,
      errors: got.errors,
      attachSeconds: stepS,
      attach: summary(got.ms),
      attachLast100: summary(got.last),
      memGrowthKiB: u1.kib - u0.kib,
      perViewerKiB: got.ok ? r2((u1.kib - u0.kib) / got.ok) : null,
    };
    if (!got.ok) {
      console.log(JSON.stringify({ ...head, target, viewers: 0 }));
      return;
    }
    // vmgate's viewers read the synthetic consoles (or the one console --vm), the other paths'
    // clients the socket outside console_dir.
    const span =
      target === 'vmgate' ? (what === 'consoles' ? { from: 0, to: names.length } : { from: 0, to: 1 }) : { from: src.outside, to: src.outside + 1 };
    for (const rate of list(o.rates).map(Number)) console.log(JSON.stringify({ ...head, ...(await flow(target, c, src, rate, span, got.ok)) }));
  } finally {
    await c.close();
    await c.exit();
  }
}

function echoArgs(target) {
  const common = [`--ca=${o.ca}`, `--n=${o['echo-n']}`];
  if (target === 'vmgate') return [`--target=vmgate`, `--url=${o.url}`, `--password-file=${o['password-file']}`, `--vm=${o['echo-vm']}`, ...common];
  if (target === 'direct') return [`--target=direct`, `--sock=${o['echo-sock']}`, `--n=${o['echo-n']}`];
  if (target === 'websockify') return [`--target=websockify`, `--url=${o['echo-wsk']}`, ...common];
  return [`--target=ttyd`, `--url=${o['echo-ttyd']}`, ...common];
}

// Keystroke echo on the real guest while --n viewers elsewhere read their consoles.
async function echoElsewhere(target, api, src, names) {
  const c = await crowd(o.workers);
  try {
    const got = await c.open(target, o.n, api, target === 'vmgate' ? names : []);
    const span = target === 'vmgate' ? { from: 0, to: names.length } : { from: src.outside, to: src.outside + 1 };
    src.send({ arm: o['load-rate'] * MB, ...span });
    await sleep(1000);
    const s0 = await c.stats();
    const t0 = nowMs();
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, [new URL('./echo.mjs', import.meta.url).pathname, ...echoArgs(target)], { timeout: 600000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`echo.mjs: ${err.message} ${stderr}`)) : resolve(stdout),
      ),
    );
    const secs = (nowMs() - t0) / 1000;
    const s1 = await c.stats();
    src.send('disarm');
    const e = JSON.parse(out.trim().split('\n').pop());
    const delivered = s1.bytes.reduce((a, b) => a + b, 0) - s0.bytes.reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify({
        ...e,
        bench: 'scale-echo',
        elsewhere: got.ok,
        elsewhereFailed: got.failed + got.skipped,
        loadRateMBs: o['load-rate'],
        elsewhereMBs: r2(delivered / secs / MB),
        elsewhereGapMB: r2((s1.gap - s0.gap) / MB),
      }),
    );
  } finally {
    await c.close();
    await c.exit();
  }
}

const api = await login();
const names = ['consoles', 'echo'].includes(o.what) ? Array.from({ length: o.n }, (_, i) => `${o.prefix}${String(i + 1).padStart(4, '0')}`) : [];
const src = await startSource(o.what === 'consoles' || o.what === 'echo' ? names : [o.vm]);
try {
  if (o.targets.includes('vmgate')) await waitRegistered(api, names.length ? names : [o.vm], 300000);
  for (const target of list(o.targets)) {
    try {
      if (o.what === 'idle') {
        if (target !== 'direct') await idle(target, api);
      } else if (o.what === 'consoles' || o.what === 'fanout') await spread(o.what, target, api, src, names);
      else if (o.what === 'echo') await echoElsewhere(target, api, src, names);
      else throw new Error(`--what is idle, consoles, fanout or echo, not ${o.what}`);
    } catch (e) {
      // A daemon that died leaves its /proc entry behind as ENOENT (run.sh records the death).
      const msg = /ENOENT.*\/proc\//.test(e.message) ? `a serving process exited (${e.message})` : e.message;
      console.error(`scale ${o.what} ${target}: ${msg}`);
      console.log(JSON.stringify({ bench: `scale-${o.what}`, target, error: msg }));
    }
    await sleep(2000); // let the servers close the last connections before the next path
  }
} finally {
  api.close();
  await src.stop();
}
