// A host simulator: N fake hostd's on one Redis, writing exactly what hostd writes, for the
// fleet-scale benchmarks (scale-hosts.mjs, docs/performance.md "1,000 hosts").
//
//   node tools/bench/hostsim.mjs --redis-port=P [--password-file=F] [--hosts=1000] [--vms=100]
//        [--heartbeat-ms=2000] [--prefix=sim] [--projects=] [--nprojects=10] [--subscribe=1]
//
// Each host is what hostd/registry/registry.c does with Redis, through the same scripts:
// - a connection that loads redis-scripts/hostd_sync.lua (with the prelude, so its SHA1 is
//   hostd's) and calls it at start and then every heartbeat (a random phase per host), with the
//   vg:host:<id> fields hostd sends (id, link, mgmt_addr, version, started_ms, heartbeat_ms,
//   heartbeat_interval_ms and the capacity of hd_vmops_host_fields: cpus, mem_mib, disk_mib,
//   cpu_pct, mem_pct, net_mbps, console_dir, libvirt_uri), its VMs (running, 1 vCPU, 512 MiB,
//   one `serial0` console at <console_dir>/com-<vm>.sock, the name hostd's consdir.c gives a
//   QEMU serial socket) and an alive TTL of three heartbeats;
// - with --subscribe=1, a second connection subscribed to vg:hostd (as hostd), which re-reads
//   vg:settings heartbeat_ms on settings.changed and moves its heartbeat as hostd does.
// Host <prefix>-h0001 has VMs <prefix>-h0001-v001 …; no console socket exists and the link URL
// leads nowhere (port 1): the simulated hosts serve no RPC and no console.
//
// --projects=P puts every VM into one of --nprojects projects P0, P1 … (they must exist):
// VM v of every host goes to project floor(v * nprojects / vms), through
// redis-scripts/gateway_vm_reserve.lua in mode adopt with the arguments vm.adopt gives it, so
// each project holds hosts × vms / nprojects VMs spread over every host.
//
// Forked with an IPC channel (scale-hosts.mjs), it sends {ready, hosts, register_s, adopt_s}
// after the first sync of every host and the adoptions, then answers messages:
//   {op: 'stop-host', host} → {host, last_ms}: the host stops heartbeating; last_ms is the `now`
//     of its last sync, which has completed (as a hostd that died right after it)
//   {op: 'start-host', host} → {host}: it heartbeats again (a sync at once)
//   {op: 'stats'} → {syncs, sync_ms: round trip of each sync, cpu_s: the simulator's CPU time,
//     both since the previous stats}
//   'exit' ends it.
// Without IPC it runs until SIGINT/SIGTERM and prints the sync statistics every 10 s.
import fs from 'node:fs';
import { luaScript, nowMs, options, redisClient, summary } from './lib.mjs';

const o = options({ 'redis-port': 0, 'password-file': '', hosts: 1000, vms: 100, 'heartbeat-ms': 2000, prefix: 'sim',
  projects: '', nprojects: 10, subscribe: 1 });
if (!o['redis-port']) throw new Error('--redis-port is required');
const password = o['password-file'] ? fs.readFileSync(o['password-file'], 'utf8').trim() : undefined;
const pad = (n, w) => String(n).padStart(w, '0');
const SYNC = luaScript('hostd_sync.lua');
const ADOPT = luaScript('gateway_vm_reserve.lua');
const VM_VCPUS = 1;
const VM_MIB = 512;

let syncMs = [];
const startedMs = Date.now();

function makeHost(i) {
  const id = `${o.prefix}-h${pad(i, 4)}`;
  const consoleDir = `/nonexistent/${id}/consoles`;
  const vms = Array.from({ length: o.vms }, (_, v) => {
    const name = `${id}-v${pad(v, 3)}`;
    return { name, uuid: `00000000-0000-4000-8000-${pad(i, 6)}${pad(v, 6)}`, state: 'running', vcpus: VM_VCPUS,
      memory_mib: VM_MIB, autostart: 0, consoles: { serial0: `${consoleDir}/com-${name}.sock` } };
  });
  const h = {
    id,
    consoleDir,
    vms,
    vmsJson: JSON.stringify(vms),
    digest: '', // what the last sync answered: with it, a heartbeat sends no VM list (as hostd)
    heartbeatMs: o['heartbeat-ms'],
    redis: redisClient(o['redis-port'], { password }),
    sub: null,
    sha: null,
    timer: null,
    stopped: false,
    lastMs: 0,
    inflight: Promise.resolve(),
  };
  return h;
}

// The vg:host:<id> fields of registry.c host_json with hd_vmops_host_fields' capacity.
function hostJson(h, i) {
  return JSON.stringify({
    id: h.id,
    link: 'wss://127.0.0.1:1',
    mgmt_addr: '127.0.0.1',
    cpus: 64,
    mem_mib: 262144,
    disk_mib: 4194304,
    cpu_pct: Math.round((20 + 60 * Math.abs(Math.sin(Date.now() / 60000 + i))) * 10) / 10,
    mem_pct: 25,
    net_mbps: 1.5,
    console_dir: h.consoleDir,
    libvirt_uri: `qemu+tls://${h.id}/system`,
    version: 'hostsim',
    started_ms: String(startedMs),
    heartbeat_ms: String(h.heartbeatMs),
    heartbeat_interval_ms: String(h.heartbeatMs),
  });
}

function sync(h, i) {
  const now = Date.now();
  const t0 = nowMs();
  const light = h.digest !== '';
  h.inflight = h.redis.call('EVALSHA', h.sha, 0, h.id, hostJson(h, i), light ? '' : h.vmsJson, h.heartbeatMs * 3, now, h.digest).then((d) => {
    syncMs.push(nowMs() - t0);
    h.digest = String(d ?? '');
    if (!h.stopped) h.lastMs = now;
    // The record changed behind the host: hostd sends its list at once.
    if (light && !h.digest && !h.stopped) return sync(h, i);
  }, (e) => {
    h.digest = '';
    console.error(`hostsim: sync of ${h.id} failed: ${e.message}`);
  });
  return h.inflight;
}

function schedule(h, i, firstMs) {
  clearTimeout(h.timer);
  clearInterval(h.timer);
  h.timer = setTimeout(() => {
    sync(h, i);
    h.timer = setInterval(() => sync(h, i), h.heartbeatMs);
  }, firstMs);
}

async function subscribe(h, i) {
  h.sub = redisClient(o['redis-port'], {
    password,
    onPush: (m) => {
      if (!Array.isArray(m) || m[0] !== 'message' || !m[2].includes('"settings.changed"')) return;
      h.redis.call('HGET', 'vg:settings', 'heartbeat_ms').then((v) => {
        const ms = v === null ? o['heartbeat-ms'] : Number(v);
        if (!(ms >= 100 && ms <= 600000) || ms === h.heartbeatMs) return;
        h.heartbeatMs = ms;
        if (!h.stopped) schedule(h, i, 0);
      });
    },
  });
  await h.sub.ready;
  await h.sub.call('SUBSCRIBE', 'vg:hostd');
}

const hosts = Array.from({ length: o.hosts }, (_, i) => makeHost(i + 1));
const byId = new Map(hosts.map((h, i) => [h.id, { h, i }]));

const t0 = nowMs();
await Promise.all(hosts.map(async (h) => {
  await h.redis.ready;
  h.sha = await h.redis.call('SCRIPT', 'LOAD', SYNC);
}));
await Promise.all(hosts.map((h, i) => sync(h, i)));
if (o.subscribe) await Promise.all(hosts.map((h, i) => subscribe(h, i)));
const registerS = (nowMs() - t0) / 1000;

let adoptS = 0;
if (o.projects) {
  const t1 = nowMs();
  const r = hosts[0].redis;
  const sha = await r.call('SCRIPT', 'LOAD', ADOPT);
  const spec = (name) => JSON.stringify({ name, vcpus: VM_VCPUS, memory_mib: VM_MIB });
  // Batches of one host's VMs, pipelined: gateway_vm_reserve.lua as vm.adopt calls it.
  for (const h of hosts) {
    const replies = await Promise.all(h.vms.map((vm, v) => r.call('EVALSHA', sha, 0, 'adopt', vm.name,
      `${o.projects}${Math.floor((v * o.nprojects) / o.vms)}`, VM_VCPUS, VM_MIB, 0, spec(vm.name), h.id, 'hostsim',
      Date.now(), '')));
    const bad = replies.find((x) => x[0] !== '' && x[0] !== 'conflict');
    if (bad) throw new Error(`adopting the VMs of ${h.id}: ${bad.join(': ')}`);
  }
  adoptS = (nowMs() - t1) / 1000;
}

hosts.forEach((h, i) => schedule(h, i, Math.random() * h.heartbeatMs));

let cpuAt = process.cpuUsage();
function stats() {
  const cu = process.cpuUsage(cpuAt);
  cpuAt = process.cpuUsage();
  const out = { syncs: syncMs.length, sync_ms: summary(syncMs), cpu_s: (cu.user + cu.system) / 1e6 };
  syncMs = [];
  return out;
}

function exit() {
  for (const h of hosts) {
    clearTimeout(h.timer);
    clearInterval(h.timer);
    h.redis.close();
    h.sub?.close();
  }
  process.exit(0);
}

if (process.send) {
  process.on('disconnect', exit);
  process.on('message', async (m) => {
    if (m === 'exit') exit();
    const at = m.host ? byId.get(m.host) : null;
    if (m.host && !at) return process.send({ error: `no host ${m.host}` });
    if (m.op === 'stop-host') {
      clearTimeout(at.h.timer);
      clearInterval(at.h.timer);
      await at.h.inflight;
      at.h.stopped = true;
      process.send({ host: m.host, last_ms: at.h.lastMs });
    } else if (m.op === 'start-host') {
      at.h.stopped = false;
      schedule(at.h, at.i, 0);
      process.send({ host: m.host });
    } else if (m.op === 'stats') process.send(stats());
  });
  process.send({ ready: true, hosts: hosts.map((h) => h.id), register_s: registerS, adopt_s: adoptS });
} else {
  console.log(JSON.stringify({ hostsim: 'ready', hosts: o.hosts, vms: o.hosts * o.vms, register_s: registerS, adopt_s: adoptS }));
  setInterval(() => console.log(JSON.stringify({ hostsim: 'stats', ...stats() })), 10000);
  process.on('SIGINT', exit);
  process.on('SIGTERM', exit);
}
