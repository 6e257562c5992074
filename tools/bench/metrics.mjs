// The metrics store's benchmarks (docs/performance.md "Metrics"). Prints one JSON line per
// measurement.
//
//   node metrics.mjs --mode=store [--vms=20] [--port=23990]
//     A private redis-server on 127.0.0.1 (a temporary directory, no persistence). Synthetic
//     rounds of one host with --vms VMs go through redis-scripts/hostd_metrics_write.lua, as
//     hostd sends them, along a timeline that ends now and fills every tier to its full
//     retention: one round per hour over 400 days (1-hour rollups), one per minute over 7 days
//     (1-minute rollups), one per interval over 2 h (raw). Then Redis memory per VM
//     (MEMORY USAGE of every key of one VM, and the INFO used_memory that deleting every VM's
//     keys gives back / VMs).
//   node metrics.mjs --mode=scale [--vms=1000] [--rounds=30] [--port=23990]
//     Rounds of --vms synthetic VMs at the default 10 s interval: each round's time in Redis,
//     its payload size and the Redis commands it runs (INFO commandstats).
//   node metrics.mjs --mode=round [--vms=1000] [--rounds=20] [--port=23990]
//     hostd's own CPU per round with --vms domains: vg-bench-metrics-round (tools/bench/round,
//     in $VG_BUILD_DIR, default build/) runs hostd's round code on synthetic libvirt stats
//     records and writes through hostd_metrics_write.lua into a private redis-server.
//   node metrics.mjs --mode=fill --port=REDIS_PORT --password-file=F --vm=NAME [--host=ID]
//     Gives VM NAME of a running stack 7 days of history (one round a minute, then one per
//     interval over the last 2 h) through the same write script, for --mode=query.
//   node metrics.mjs --mode=query --url=https://127.0.0.1:PORT --ca=CA --password-file=F --vm=NAME [--n=200]
//     metrics.query over the HTTP API of a running stack: 7 days at 1-minute steps and the
//     last hour of raw points, --n calls each, latency p50/p99.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { REPO, gatewayApi, luaScript, nowMs, options, redisClient, sleep, startRedis, summary } from './lib.mjs';

const o = options({ mode: 'store', vms: 0, rounds: 30, port: 23990, url: '', ca: '', 'password-file': '', vm: '', host: 'bench-host', n: 200 });

const script = () => luaScript('hostd_metrics_write.lua');

// A VM target as hostd_mstats_vm_target makes it: four series and the latest fields.
function vmTarget(i, t) {
  const w = (x) => Math.abs(Math.sin(t / 600 + i + x));
  const disks = { disk_rd_bps: 4096 * w(1), disk_wr_bps: 65536 * w(2), disk_rd_iops: 3 * w(3), disk_wr_iops: 9 * w(4) };
  const nics = { net_rx_bps: 1500 * w(5), net_tx_bps: 900 * w(6), net_rx_pps: 10 * w(7), net_tx_pps: 7 * w(8) };
  const s = [100 * w(0), 60 + 20 * w(9), disks.disk_rd_bps + disks.disk_wr_bps, nics.net_rx_bps + nics.net_tx_bps];
  return { name: `vgt-syn-${String(i).padStart(4, '0')}`, s,
    l: { cpu_pct: s[0], mem_pct: s[1], mem_used_bytes: 512 << 20, mem_total_bytes: 1 << 30, vcpus: 1, state: 'running',
      host: 'bench-host', ...disks, ...nics } };
}

// A round as hostd sends it: scripts of at most CHUNK VMs, the host in the first, `last` in the
// last (HD_MROUND_CHUNK in hostd/metrics/round.h).
const CHUNK = 100;
function roundChunks(t, vms, name) {
  const out = [];
  for (let from = 0; from === 0 || from < vms; from += CHUNK) {
    const to = Math.min(from + CHUNK, vms);
    const chunk = { t, vms: Array.from({ length: to - from }, (_, i) => ({ ...vmTarget(from + i, t), ...(name ? { name } : {}) })) };
    if (from === 0) chunk.host = { s: [30, 40, 1e6, 2e5], l: { load1: 0.5, vms_running: vms } };
    if (to === vms) chunk.last = true;
    out.push(JSON.stringify(chunk));
    if (to === vms) break;
  }
  return out;
}

async function commandCalls(r) {
  const text = await r.call('INFO', 'commandstats');
  let n = 0;
  for (const m of text.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) if (m[1] !== 'info') n += Number(m[2]);
  return n;
}

// Round times that fill every tier to its default retention, ending now: one an hour over
// `days` days, one a minute over 7 days, one per 10 s over 2 h.
function history(days) {
  const now = Math.floor(Date.now() / 1000);
  const times = new Set();
  for (let t = now - days * 86400; t <= now; t += 3600) times.add(Math.floor(t / 3600) * 3600);
  for (let t = now - 7 * 86400; t <= now; t += 60) times.add(Math.floor(t / 60) * 60);
  for (let t = now - 7200; t <= now; t += 10) times.add(Math.floor(t / 10) * 10);
  return [...times].sort((a, b) => a - b);
}

// A bucket written for a time past its retention expires at once and is made again, without a
// TTL, by the same round's next write: what hostd, writing the present, never does. These are
// dropped, as Redis would have dropped them had the timeline really passed.
async function prune(r, pattern) {
  let pruned = 0;
  let cur = '0';
  do {
    const [next, batch] = await r.call('SCAN', cur, 'MATCH', pattern, 'COUNT', 1000);
    cur = next;
    for (const k of batch) if ((await r.call('TTL', k)) === -1) pruned += await r.call('DEL', k);
  } while (cur !== '0');
  return pruned;
}

async function fill() {
  const r = redisClient(o.port, { password: fs.readFileSync(o['password-file'], 'utf8').trim() });
  await r.ready;
  try {
    const sha = await r.call('SCRIPT', 'LOAD', script());
    const timeline = history(7);
    for (const t of timeline) {
      const [c] = roundChunks(t, 1, o.vm);
      const chunk = JSON.parse(c);
      delete chunk.host; // the stack's own host is written by its hostd
      delete chunk.last;
      await r.call('EVALSHA', sha, 0, o.host, JSON.stringify(chunk));
    }
    console.log(JSON.stringify({ bench: 'metrics-fill', vm: o.vm, rounds: timeline.length, pruned: await prune(r, `vg:m:vm:${o.vm}:*`) }));
  } finally {
    r.close();
  }
}

async function store() {
  const vms = o.vms || 20;
  const { r, stop } = await startRedis(o.port);
  try {
    const sha = await r.call('SCRIPT', 'LOAD', script());
    const timeline = history(400);
    const t0 = nowMs();
    for (const t of timeline) for (const c of roundChunks(t, vms)) await r.call('EVALSHA', sha, 0, 'bench-host', c);
    const pruned = await prune(r, 'vg:m:*');
    const vmKeys = async (pattern) => {
      const keys = [];
      let cursor = '0';
      do {
        const [next, batch] = await r.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      return keys;
    };
    const keys = await vmKeys('vg:m:vm:vgt-syn-0000:*');
    let usage = 0;
    for (const k of keys) usage += Number(await r.call('MEMORY', 'USAGE', k, 'SAMPLES', 0));
    // used_memory also holds what no key owns (the Lua state, buffers, the pruned keys' traces)
    // and the host's own history, so the VMs' share is what deleting their keys gives back,
    // once Redis's cron (a few times a second) has shrunk its key and expiry tables.
    const used = async () => {
      await sleep(2000);
      return Number(/used_memory:(\d+)/.exec(await r.call('INFO', 'memory'))[1]);
    };
    const mem1 = await used();
    for (const k of await vmKeys('vg:m:vm:*')) await r.call('DEL', k);
    const mem2 = await used();
    console.log(JSON.stringify({ bench: 'metrics-store', vms, rounds: timeline.length, pruned, seconds: Math.round((nowMs() - t0) / 10) / 100,
      keys_per_vm: keys.length, memory_usage_per_vm_kib: Math.round(usage / 102.4) / 10,
      used_memory_per_vm_kib: Math.round((mem1 - mem2) / vms / 102.4) / 10 }));
  } finally {
    stop();
  }
}

async function scale() {
  const vms = o.vms || 1000;
  const { r, stop } = await startRedis(o.port);
  try {
    const sha = await r.call('SCRIPT', 'LOAD', script());
    const now = Math.floor(Date.now() / 1000 / 10) * 10 - o.rounds * 10;
    const took = [];
    const longest = []; // the longest single script of each round: how long Redis served no one else
    let calls = 0;
    let bytes = 0;
    for (let i = 0; i < o.rounds; i++) {
      const chunks = roundChunks(now + i * 10, vms);
      const c0 = await commandCalls(r);
      let total = 0;
      let max = 0;
      for (const payload of chunks) {
        const t0 = nowMs();
        await r.call('EVALSHA', sha, 0, 'bench-host', payload);
        const ms = nowMs() - t0;
        total += ms;
        max = Math.max(max, ms);
        bytes += payload.length;
      }
      took.push(total);
      longest.push(max);
      calls += (await commandCalls(r)) - c0;
    }
    console.log(JSON.stringify({ bench: 'metrics-scale', vms, rounds: o.rounds, scripts_per_round: roundChunks(now, vms).length,
      round_ms: summary(took), longest_script_ms: summary(longest),
      redis_commands_per_round: Math.round(calls / o.rounds), payload_kib: Math.round(bytes / o.rounds / 1024) }));
  } finally {
    stop();
  }
}

// The answer's time is split in two: until its last byte arrived (the gateway, Redis and the
// transfer: what vmgate controls) and until the client had parsed it (JSON.parse of ~0.7 MB in
// Node is ~9 ms of this machine's CPU, the client's own cost).
async function query() {
  const api = gatewayApi(o.url, o.ca);
  await api.login('admin', fs.readFileSync(o['password-file'], 'utf8').trim());
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: api.ca });
  const call = (params) => new Promise((resolve, reject) => {
    const body = JSON.stringify(params);
    const t0 = nowMs();
    const req = https.request(new URL('/api/v1/metrics.query', o.url), {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${api.token}` },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const received = nowMs() - t0;
        const msg = JSON.parse(Buffer.concat(chunks).toString());
        if (msg.error) reject(new Error(`metrics.query: ${msg.error.code}: ${msg.error.message}`));
        else resolve({ received, parsed: nowMs() - t0, bytes: chunks.reduce((n, c) => n + c.length, 0) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  const now = Date.now();
  const cases = {
    '7d-1min': { target: 'vm', name: o.vm, metrics: ['cpu', 'mem', 'disk', 'net'], from: now - 7 * 86400000, to: now, step: 60 },
    '1h-raw': { target: 'vm', name: o.vm, metrics: ['cpu', 'mem', 'disk', 'net'], from: now - 3600000, to: now },
  };
  for (const [name, params] of Object.entries(cases)) {
    const received = [];
    const parsed = [];
    let bytes = 0;
    for (let i = 0; i < o.n; i++) {
      const r = await call(params);
      received.push(r.received);
      parsed.push(r.parsed);
      bytes = r.bytes;
    }
    console.log(JSON.stringify({ bench: 'metrics-query', case: name, answer_bytes: bytes, received_ms: summary(received), parsed_ms: summary(parsed) }));
  }
  agent.destroy();
  api.close();
}

async function round() {
  const { stop } = await startRedis(o.port);
  try {
    const bin = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/bench/round/vg-bench-metrics-round');
    const out = execFileSync(bin, [String(o.port), path.join(REPO, 'redis-scripts'), String(o.vms || 1000), String(o.rounds)],
      { encoding: 'utf8' });
    process.stdout.write(out);
  } finally {
    stop();
  }
}

const run = { store, scale, round, fill, query }[o.mode];
if (!run) throw new Error(`--mode is store, scale, round, fill or query, not ${o.mode}`);
await run();
