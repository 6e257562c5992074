// Shared helpers of the benchmarks in tools/bench (see docs/performance.md): statistics, the
// four kinds of console clients (direct unix socket, websockify, vmgate, ttyd) and the vmgate API.
//
// Every client exposes the same small interface so one measurement runs unchanged against all
// four: send(buf), onData(fn(buf)) (console output bytes only), close().
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The only third-party module, `ws`, is the one the integration tests install.
const require = createRequire(path.join(REPO, 'tests/package.json'));
export const WebSocket = require('ws');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

// Command-line `--name=value` options over defaults; numbers stay numbers.
export function options(defaults) {
  const o = { ...defaults };
  for (const a of process.argv.slice(2)) {
    const m = /^--([a-z0-9-]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in defaults)) throw new Error(`unknown option ${a}`);
    o[m[1]] = typeof defaults[m[1]] === 'number' ? Number(m[2]) : m[2];
  }
  return o;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

// { n, p50, p99, max, mean } of a list of milliseconds, rounded to 0.01 ms.
export function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x) => Math.round(x * 100) / 100;
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s[s.length - 1] ?? NaN), mean: r(mean) };
}

// Rejects after ms unless the promise settled first.
export function within(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => {
      t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// Resident set size in KiB of a pid, from /proc.
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

// A process and all its descendants (pids), from /proc: websockify and ttyd fork a process per
// client, and their cost is the whole tree's.
export function processTree(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      // the process ended meanwhile
    }
  }
  const out = [];
  const walk = (p) => {
    out.push(p);
    (kids.get(p) || []).forEach(walk);
  };
  walk(pid);
  return out;
}

// Proportional set size in KiB of a process and all its descendants (shared pages counted
// once in total), from /proc: the fair sum for a forking server.
export function treePssKiB(pid) {
  let total = 0;
  let procs = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      if (m) {
        total += Number(m[1]);
        procs++;
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return { kib: total, procs };
}

// CPU seconds (user + system) a process has used so far, with those of its children that ended
// and were waited for.
export function cpuSeconds(pid) {
  if (!pid) return NaN;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(x[11]) + Number(x[12]) + Number(x[13]) + Number(x[14])) / 100;
  } catch {
    return 0; // ended meanwhile: its time is in its parent's children time
  }
}

// CPU seconds of a process tree (a forking server with its per-client processes).
export const treeCpuSeconds = (pid) => (pid ? processTree(pid).reduce((a, p) => a + cpuSeconds(p), 0) : NaN);

// The serving side of a path: its processes' memory (KiB: RSS of gateway + hostd, PSS of the
// websockify or ttyd tree) and CPU seconds so far. The direct path has no server (NaN).
// pids: { gateway, hostd, websockify, ttyd }.
export function serverUsage(target, pids) {
  if (target === 'vmgate')
    return { kib: rssKiB(pids.gateway) + rssKiB(pids.hostd), cpu: cpuSeconds(pids.gateway) + cpuSeconds(pids.hostd), gateway: cpuSeconds(pids.gateway), hostd: cpuSeconds(pids.hostd) };
  const pid = pids[target];
  if (!pid) return { kib: NaN, cpu: NaN };
  return { kib: treePssKiB(pid).kib, cpu: treeCpuSeconds(pid) };
}

function fanout() {
  const fns = new Set();
  return {
    on: (fn) => fns.add(fn),
    off: (fn) => fns.delete(fn),
    emit: (b) => fns.forEach((fn) => fn(b)),
  };
}

// (a) The direct limit: a plain client on the console's unix socket.
export function directClient(sockPath) {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(sockPath);
    const data = fanout();
    s.setNoDelay?.(true);
    s.on('data', data.emit);
    s.once('error', reject);
    s.once('connect', () =>
      resolve({ kind: 'direct', send: (b) => s.write(b), onData: data.on, offData: data.off, close: () => s.destroy(), raw: s }),
    );
  });
}

// (b) websockify: a WebSocket ('binary' subprotocol) whose binary messages are the raw bytes.
export function websockifyClient(url, caFile) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'binary', { ca: caFile ? fs.readFileSync(caFile) : undefined, perMessageDeflate: false });
    const data = fanout();
    ws.on('message', (m) => data.emit(Buffer.from(m)));
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({ kind: 'websockify', send: (b) => ws.send(b), onData: data.on, offData: data.off, close: () => ws.terminate(), raw: ws }),
    );
  });
}

// (d) ttyd: a WebSocket ('tty' subprotocol) on /ws. The client speaks first: a JSON message
// with AuthToken and the terminal size, upon which ttyd spawns its command (one process per
// client). Then output arrives as binary messages '0' + bytes ('1' window title and '2'
// preferences come once, first), and input goes out as '0' + bytes.
export function ttydClient(url, caFile) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(new URL('/ws', url).href, 'tty', { ca: caFile ? fs.readFileSync(caFile) : undefined, perMessageDeflate: false });
    const data = fanout();
    const OUTPUT = 0x30;
    ws.on('message', (m) => {
      const b = Buffer.from(m);
      if (b[0] === OUTPUT) data.emit(b.subarray(1));
    });
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(Buffer.from(JSON.stringify({ AuthToken: '', columns: 80, rows: 24 })));
      resolve({
        kind: 'ttyd',
        send: (b) => ws.send(Buffer.concat([Buffer.from([OUTPUT]), Buffer.from(b)])),
        onData: data.on,
        offData: data.off,
        close: () => ws.terminate(),
        raw: ws,
      });
    });
  });
}

// The vmgate JSON API over HTTPS with one keep-alive connection (what a browser tab reuses).
export function gatewayApi(url, caFile) {
  const ca = fs.readFileSync(caFile);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  const fresh = new https.Agent({ keepAlive: false, ca });
  const api = {
    url,
    ca,
    token: null,
    // POST /api/v1/<method>; `reuse` false opens a new TLS connection for the call.
    call(method, params = {}, { reuse = true } = {}) {
      const body = JSON.stringify(params);
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (api.token) headers.authorization = `Bearer ${api.token}`;
      return new Promise((resolve, reject) => {
        const req = https.request(new URL(`/api/v1/${method}`, url), { method: 'POST', headers, agent: reuse ? agent : fresh }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            let msg;
            try {
              msg = JSON.parse(Buffer.concat(chunks).toString());
            } catch {
              reject(new Error(`${method}: HTTP ${res.statusCode}, not JSON`));
              return;
            }
            if (msg.error) reject(new Error(`${method}: ${msg.error.code}: ${msg.error.message}`));
            else resolve(msg.result);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    async login(user, password) {
      api.token = (await api.call('login', { user, password })).token;
      return api.token;
    },
    // The JSON API WebSocket: resolves { call(method, params), close() }.
    ws() {
      const ws = new WebSocket(url.replace(/^http/, 'ws') + '/ws/api', 'vmgate.api.v1', {
        ca,
        headers: { authorization: `Bearer ${api.token}` },
      });
      const pending = new Map();
      let next = 1;
      ws.on('message', (m) => {
        const msg = JSON.parse(m.toString());
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${msg.error.code}: ${msg.error.message}`));
        else p.resolve(msg.result);
      });
      return new Promise((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () =>
          resolve({
            call(method, params = {}) {
              const id = next++;
              ws.send(JSON.stringify({ id, method, params }));
              return new Promise((res, rej) => pending.set(id, { resolve: res, reject: rej }));
            },
            close: () => ws.close(),
          }),
        );
      });
    },
    close() {
      agent.destroy();
      fresh.destroy();
    },
  };
  return api;
}

// Waits until vm.list shows every VM of `names` with its serial console on a live host (hostd
// found the sockets and the registry has them), bounded by ms.
export async function waitRegistered(api, names, ms) {
  const t0 = nowMs();
  for (;;) {
    const vms = [];
    let cursor;
    do {
      const page = await api.call('vm.list', cursor ? { cursor } : {});
      vms.push(...page.vms);
      cursor = page.next;
    } while (cursor);
    const ready = new Set(vms.filter((v) => v.consoles.includes('serial0') && v.host_up).map((v) => v.name));
    const missing = names.filter((n) => !ready.has(n));
    if (!missing.length) return;
    if (nowMs() - t0 > ms) throw new Error(`${missing.length} of ${names.length} VMs (${missing[0]}, …) did not appear in vm.list`);
    await sleep(500);
  }
}

// A login flood against the gateway: `concurrency` clients, each on its own kept-alive HTTPS
// connection, log in back to back until stop() (which resolves { logins, errors, seconds }).
// Every login is one argon2id check. The right password keeps the flood going: wrong ones from
// one address would be refused by the lock-out after 50, without any argon2 work.
export function loginFlood(url, caFile, user, password, concurrency) {
  let stopped = false;
  let logins = 0;
  let errors = 0;
  const t0 = nowMs();
  const apis = Array.from({ length: concurrency }, () => gatewayApi(url, caFile));
  const loops = apis.map(async (api) => {
    while (!stopped) {
      try {
        await api.call('login', { user, password });
        logins++;
      } catch {
        errors++;
      }
    }
  });
  return {
    get logins() {
      return logins;
    },
    async stop() {
      stopped = true;
      await Promise.all(loops);
      apis.forEach((a) => a.close());
      return { logins, errors, seconds: Math.round(nowMs() - t0) / 1000 };
    },
  };
}

// (c) vmgate: a console.ticket, then the console WebSocket; resolves once `hello` arrived.
// Output frames (0x01) reach onData without their 9-byte header; GAP bytes are counted in
// client.gapBytes. Text messages after `hello` are only counted (client.textBytes): with
// thousands of viewers the who-is-attached updates would otherwise cost the client more than
// the servers. opts: vm, dev, mode ('rw'|'ro'), offset ('end'|'ring'|number), take.
export async function vmgateClient(api, { vm, dev, mode = 'rw', offset = 'end', take = false } = {}) {
  const params = { vm, mode };
  if (dev) params.dev = dev;
  const t = await api.call('console.ticket', params);
  const u = api.url.replace(/^http/, 'ws') + t.path + `&offset=${offset}` + (take ? '&take=1' : '');
  const ws = new WebSocket(u, 'vmgate.console.v1', { ca: api.ca, perMessageDeflate: false });
  const data = fanout();
  const client = {
    kind: 'vmgate',
    gapBytes: 0,
    textBytes: 0,
    hello: null,
    send: (b) => ws.send(Buffer.concat([Buffer.from([0x11]), Buffer.from(b)])),
    onData: data.on,
    offData: data.off,
    close: () => ws.terminate(),
    raw: ws,
  };
  return new Promise((resolve, reject) => {
    ws.on('message', (m, isBinary) => {
      const b = Buffer.from(m);
      if (!isBinary) {
        if (client.hello) {
          client.textBytes += b.length;
          return;
        }
        const msg = JSON.parse(b.toString());
        if (msg.type === 'hello') {
          client.hello = msg;
          resolve(client);
        } else if (msg.type === 'error') reject(new Error(`console: ${msg.code}: ${msg.message}`));
        return;
      }
      if (b[0] === 0x01) data.emit(b.subarray(9));
      else if (b[0] === 0x02) client.gapBytes += Number(b.readBigUInt64BE(9) - b.readBigUInt64BE(1));
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`console closed with ${code} before hello`)));
  });
}

// Resolves with the first chunk for which pred(chunk) is true (bounded by ms).
export function waitData(client, pred, ms, what) {
  let fn;
  return within(
    new Promise((resolve) => {
      fn = (b) => pred(b) && resolve(b);
      client.onData(fn);
    }),
    ms,
    what,
  ).finally(() => client.offData(fn));
}

// Collects output as text until it contains `needle` (bounded by ms).
export function waitText(client, needle, ms) {
  let acc = '';
  return waitData(
    client,
    (b) => {
      acc = (acc + b.toString('latin1')).slice(-4096);
      return acc.includes(needle);
    },
    ms,
    `output ${JSON.stringify(needle)}`,
  );
}

// A minimal RESP client: commands as arrays of strings, replies parsed in order. password: sent
// with AUTH first. A message that answers no command (pub/sub, after SUBSCRIBE's own replies)
// goes to onPush(array).
export function redisClient(port, { password, onPush } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  let buf = Buffer.alloc(0);
  const waiting = [];
  const parse = (b, i) => {
    const end = b.indexOf('\r\n', i);
    if (end < 0) return null;
    const type = String.fromCharCode(b[i]);
    const line = b.toString('utf8', i + 1, end);
    if (type === '+' || type === ':') return { v: type === ':' ? Number(line) : line, next: end + 2 };
    if (type === '-') return { v: new Error(line), next: end + 2 };
    if (type === '$') {
      const n = Number(line);
      if (n < 0) return { v: null, next: end + 2 };
      if (b.length < end + 2 + n + 2) return null;
      return { v: b.toString('utf8', end + 2, end + 2 + n), next: end + 2 + n + 2 };
    }
    if (type === '*') {
      const n = Number(line);
      const out = [];
      let j = end + 2;
      for (let k = 0; k < n; k++) {
        const r = parse(b, j);
        if (!r) return null;
        out.push(r.v);
        j = r.next;
      }
      return { v: n < 0 ? null : out, next: j };
    }
    throw new Error(`RESP type ${type}`);
  };
  sock.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let at = 0;
    for (;;) {
      const r = at < buf.length ? parse(buf, at) : null;
      if (!r) break;
      at = r.next;
      const w = waiting.shift();
      if (!w) onPush?.(r.v);
      else if (r.v instanceof Error) w.reject(r.v);
      else w.resolve(r.v);
    }
    buf = buf.subarray(at);
  });
  const client = {
    call(...args) {
      const parts = [`*${args.length}\r\n`];
      for (const a of args) {
        const s = String(a);
        parts.push(`$${Buffer.byteLength(s)}\r\n${s}\r\n`);
      }
      sock.write(parts.join(''));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    close: () => sock.end(),
  };
  client.ready = new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject)).then(() =>
    password ? client.call('AUTH', password) : null);
  return client;
}

// The text a daemon sends for redis-scripts/<name>: the prelude and the script joined as `cat`
// would (common/vg_rscript.c), so its SHA1 is the daemon's.
export const luaScript = (name) =>
  fs.readFileSync(path.join(REPO, 'redis-scripts/lib/prelude.lua'), 'utf8') +
  fs.readFileSync(path.join(REPO, 'redis-scripts', name), 'utf8');

// A private redis-server on 127.0.0.1 (a temporary directory, no persistence).
export async function startRedis(port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-bench-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const r = redisClient(port);
    try {
      await r.ready;
      return { r, stop: () => { r.close(); proc.kill(); fs.rmSync(dir, { recursive: true, force: true }); } };
    } catch {
      await sleep(100);
    }
  }
  proc.kill();
  throw new Error(`redis-server on port ${port} did not start`);
}
