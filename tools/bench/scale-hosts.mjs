// The fleet-scale benchmarks (docs/performance.md "1,000 hosts"): a private stack with no test
// VM (tests/integration/lib/stack.mjs), 1,000 simulated hosts × 100 VMs on its Redis
// (hostsim.mjs), and up to three gateways on that Redis. Prints one JSON line per measurement.
//
//   ulimit -n $(ulimit -Hn)   # the fan-out bench holds 2 descriptors per API WebSocket
//   VG_BUILD_DIR=$PWD/build node tools/bench/scale-hosts.mjs [--hosts=1000] [--vms=100]
//       [--heartbeat-ms=2000] [--benches=heartbeats,list,place,down,fanout] [--n=100]
//       [--fanout1=1000] [--fanout3=10000] [--workers=4] [--publishes=30] [--interval-ms=1000]
//
// - heartbeats: Redis memory (INFO used_memory, before the hosts and after) and, over 20 s of
//   heartbeats, Redis commands/s (INFO commandstats), its CPU, and the round trip of the syncs.
// - list: a user of the project holding 10,000 VMs (hosts × vms / 10) lists them all, paged as
//   the API pages (limit 1000, following next), over the API WebSocket: every page's time and
//   the whole listing's; n listings by one client on one gateway, then 3 clients at once on
//   one gateway and on three.
// - place: gateway_place.lua, the script vm.create runs to choose a host, called directly
//   (EVALSHA with the gateway's text) for a new 1-vCPU 512 MiB VM of the project, n times;
//   and gateway_host_watch.lua, the check every gateway runs every 500 ms (its usual pass over the
//   hosts past their deadline, and the full pass of every 10 s).
// - down: 5 hosts stop heartbeating; the time from each one's last heartbeat to the host.down
//   event on an API WebSocket (and to the ts the declaring gateway put in it).
// - fanout: API WebSockets subscribed to events (administrator sessions), split over --workers
//   processes; a PUBLISH on vg:events every --interval-ms carries the publisher's monotonic
//   clock, and each message is timed until every subscriber had it (those that arrive up to 5 s
//   after the last publish are counted). --fanout1 on one gateway, --fanout3
//   spread over three.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, gatewayApi, luaScript, nowMs, redisClient, sleep, summary, within } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---- a worker holding a share of the fan-out subscribers ----
if (process.argv[2] === '--worker') {
  const clients = [];
  const got = new Map(); // seq -> latest arrival latency over this worker's clients
  let count = 0;
  const open = (url, ca, token) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws/api`, 'vmgate.api.v1', { ca, headers: { authorization: `Bearer ${token}` } });
    ws.once('error', reject);
    ws.once('open', () => ws.send('{"id":1,"method":"events.subscribe"}'));
    ws.on('message', (m) => {
      const t = nowMs();
      const s = m.toString();
      if (s.startsWith('{"id":1')) {
        if (s.includes('"result"')) resolve(ws);
        else reject(new Error(s));
        return;
      }
      const x = /"bench\.fanout","seq":(\d+),"t":([\d.]+)/.exec(s);
      if (!x) return;
      const lat = t - Number(x[2]);
      const seq = Number(x[1]);
      count++;
      if (!(got.get(seq) >= lat)) got.set(seq, lat);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (m) => {
    if (m === 'exit') process.exit(0);
    if (m.op === 'open') {
      const ca = fs.readFileSync(m.ca);
      let ok = 0;
      const errors = [];
      let next = 0;
      const lane = async () => {
        while (next < m.n) {
          const i = next++;
          try {
            clients.push(await within(open(m.urls[i % m.urls.length], ca, m.token), 30000, 'subscribe'));
            ok++;
          } catch (e) {
            if (errors.length < 3) errors.push(String(e.message || e));
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
      process.send({ ok, errors });
    } else if (m.op === 'collect') {
      process.send({ latest: [...got.entries()], count });
      got.clear();
      count = 0;
    } else if (m.op === 'close') {
      clients.forEach((c) => c.terminate());
      clients.length = 0;
      process.send({});
    }
  });
  process.send('ready');
}

function opts() {
  const o = { hosts: 1000, vms: 100, 'heartbeat-ms': 2000, benches: 'heartbeats,list,place,down,fanout', n: 100,
    fanout1: 1000, fanout3: 10000, workers: 4, publishes: 30, 'interval-ms': 1000 };
  for (const a of process.argv.slice(2)) {
    const m = /^--([a-z0-9-]+)=(.*)$/.exec(a);
    if (!m || !(m[1] in o)) throw new Error(`unknown option ${a}`);
    o[m[1]] = typeof o[m[1]] === 'number' ? Number(m[2]) : m[2];
  }
  return o;
}

const out = (x) => console.log(JSON.stringify(x));
const info = async (r, section) => {
  const text = await r.call('INFO', section);
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(/:(.*)/s).slice(0, 2)));
};
const commandCalls = async (r) => {
  let n = 0;
  for (const m of (await r.call('INFO', 'commandstats')).matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) if (!m[1].startsWith('info')) n += Number(m[2]);
  return n;
};

// A child process answering one message per request.
function child(file, args) {
  const p = fork(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue = [];
  let first;
  const ready = new Promise((r) => { first = r; });
  p.on('message', (m) => {
    if (first) {
      const f = first;
      first = null;
      f(m);
    } else queue.shift()?.(m);
  });
  return {
    p,
    ready,
    ask: (m) => new Promise((r) => {
      queue.push(r);
      p.send(m);
    }),
    stop: () => {
      if (!p.connected) return;
      p.send('exit');
      p.disconnect();
    },
  };
}

async function main() {
  const o = opts();
  const benches = new Set(o.benches.split(','));
  const soft = Number(/Max open files\s+(\d+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1]);
  if (benches.has('fanout') && soft < 2 * o.fanout3 / 3 + 2000) {
    throw new Error(`the open-file limit is ${soft}: run ulimit -n $(ulimit -Hn) first (the gateways inherit it)`);
  }
  process.env.VG_BUILD_DIR ||= path.join(HERE, '../../build');
  const { startStack } = await import('../../tests/integration/lib/stack.mjs');
  const { startSecondGateway } = await import('../../tests/integration/lib/gateway2.mjs');
  const stack = await startStack({ vms: [], prefix: 'vgt-hostsim-' });
  const extra = [];
  // stack.mjs tears the stack down when the process ends early; the extra gateways go too.
  process.on('exit', () => extra.forEach((g) => g.kill()));
  let sim = null;
  const workers = [];
  const redis = redisClient(stack.redisPort, { password: stack.redisPassword });
  try {
    await redis.ready;
    const admin = gatewayApi(stack.url, stack.caFile);
    await admin.login('admin', stack.adminPassword);
    const quotas = { instances: -1, vcpus: -1, memory_mib: -1, disk_mib: -1, images: -1, snapshots: -1 };
    for (let k = 0; k < 10; k++) await admin.call('project.create', { name: `sim-p${k}`, quotas });
    await admin.call('user.create', { name: 'simuser', password: 'simuser-password', role: 'operator' });
    await admin.call('project.member.set', { project: 'sim-p0', user: 'simuser', role: 'operator' });

    // Simulated hosts a gateway holds down (vg:host:<id>:downmark) although they heartbeat.
    const markedDown = async (hosts) => (await Promise.all(hosts.map((h) => redis.call('EXISTS', `vg:host:${h}:downmark`)))).reduce((a, b) => a + b, 0);
    const mem0 = Number((await info(redis, 'memory')).used_memory);
    sim = child(path.join(HERE, 'hostsim.mjs'), [`--redis-port=${stack.redisPort}`,
      `--password-file=${path.join(stack.dir, 'redis/password')}`, `--hosts=${o.hosts}`, `--vms=${o.vms}`,
      `--heartbeat-ms=${o['heartbeat-ms']}`, '--projects=sim-p', '--nprojects=10']);
    const ready = await sim.ready;
    const mem1 = Number((await info(redis, 'memory')).used_memory);
    out({ bench: 'hostsim-ready', hosts: o.hosts, vms: o.hosts * o.vms, register_s: ready.register_s, adopt_s: ready.adopt_s,
      redis_used_memory_mib: Math.round(mem1 / 1048576), growth_mib: Math.round((mem1 - mem0) / 1048576),
      keys: await redis.call('DBSIZE') });
    await sleep(2 * o['heartbeat-ms']);

    if (benches.has('heartbeats')) {
      await sim.ask({ op: 'stats' });
      const c0 = await commandCalls(redis);
      const cpu0 = await info(redis, 'cpu');
      const t0 = nowMs();
      await sleep(20000);
      const secs = (nowMs() - t0) / 1000;
      const c1 = await commandCalls(redis);
      const cpu1 = await info(redis, 'cpu');
      const st = await sim.ask({ op: 'stats' });
      const cpu = (k) => Number(cpu1[k]) - Number(cpu0[k]);
      const mem = await info(redis, 'memory');
      const clients = await info(redis, 'clients');
      out({ bench: 'heartbeats', hosts: o.hosts, vms_per_host: o.vms, heartbeat_ms: o['heartbeat-ms'], seconds: Math.round(secs),
        syncs_per_s: Math.round(st.syncs / secs), expected_syncs_per_s: Math.round((o.hosts * 1000) / o['heartbeat-ms']),
        sync_round_trip_ms: st.sync_ms, redis_commands_per_s: Math.round((c1 - c0) / secs),
        redis_cpu_pct: Math.round(((cpu('used_cpu_sys') + cpu('used_cpu_user')) / secs) * 100),
        redis_used_memory_mib: Math.round(Number(mem.used_memory) / 1048576), redis_rss_mib: Math.round(Number(mem.used_memory_rss) / 1048576),
        redis_clients: Number(clients.connected_clients), hostsim_cpu_pct: Math.round((st.cpu_s / secs) * 100),
        hosts_marked_down: await markedDown(ready.hosts) });
    }

    if (benches.has('list') || benches.has('fanout')) {
      for (const name of ['gateway2', 'gateway3']) extra.push(await startSecondGateway(stack, admin.token, { name }));
    }
    const urls = [stack.url, ...extra.map((g) => g.stack.url)];

    if (benches.has('list')) {
      const listAll = async (ws) => {
        const pages = [];
        let cursor = null;
        let n = 0;
        const t0 = nowMs();
        do {
          const t = nowMs();
          const r = await ws.call('vm.list', cursor ? { limit: 1000, cursor } : { limit: 1000 });
          pages.push(nowMs() - t);
          n += r.vms.length;
          cursor = r.next;
        } while (cursor);
        return { ms: nowMs() - t0, pages, n };
      };
      const users = urls.map((u) => gatewayApi(u, stack.caFile));
      for (const u of users) await u.login('simuser', 'simuser-password');
      const run = async (label, clients, reps) => {
        const wss = await Promise.all(clients.map((u) => u.ws()));
        await listAll(wss[0]); // warm-up
        const whole = [];
        const pages = [];
        let n = 0;
        await Promise.all(wss.map(async (ws) => {
          for (let i = 0; i < reps; i++) {
            const r = await listAll(ws);
            whole.push(r.ms);
            pages.push(...r.pages);
            n = r.n;
          }
        }));
        wss.forEach((w) => w.close());
        out({ bench: 'vm.list', case: label, vms_listed: n, fleet_vms: o.hosts * o.vms, page_ms: summary(pages), listing_ms: summary(whole),
          hosts_marked_down: await markedDown(ready.hosts) });
      };
      // The script alone, as the gateway calls it for simuser's pages (where the time goes): the
      // round trip, which includes the wait behind other clients' commands, and the time Redis
      // ran it (its slow log, told to log every command of 1 ms or more meanwhile).
      const sha = await redis.call('SCRIPT', 'LOAD', luaScript('gateway_vm_list.lua'));
      const slowWas = (await redis.call('CONFIG', 'GET', 'slowlog-*')).slice();
      const slowConf = Object.fromEntries(Array.from({ length: slowWas.length / 2 }, (_, i) => [slowWas[2 * i], slowWas[2 * i + 1]]));
      await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', '1000', 'slowlog-max-len', '100000');
      await redis.call('SLOWLOG', 'RESET');
      const script = [];
      for (let i = 0; i < o.n; i++) {
        let cursor = '';
        do {
          const t = nowMs();
          const r = await redis.call('EVALSHA', sha, 0, 'simuser', '0', 1000, cursor, '', '', '', '', '');
          script.push(nowMs() - t);
          cursor = r[1];
        } while (cursor);
      }
      const slow = await redis.call('SLOWLOG', 'GET', '-1');
      await redis.call('CONFIG', 'SET', 'slowlog-log-slower-than', slowConf['slowlog-log-slower-than'], 'slowlog-max-len', slowConf['slowlog-max-len']);
      await redis.call('SLOWLOG', 'RESET');
      const ran = slow.filter((e) => e[3][0] === 'EVALSHA' && e[3][1] === sha).map((e) => Number(e[2]) / 1000);
      out({ bench: 'vm.list', case: 'the script alone (EVALSHA, a page of 1000)', page_ms: summary(script), redis_ran_ms: summary(ran) });
      await run('1 client, 1 gateway', [users[0]], o.n);
      await run('3 clients, 1 gateway', [users[0], users[0], users[0]], Math.ceil(o.n / 3));
      await run('3 clients, 3 gateways', users, Math.ceil(o.n / 3));
      users.forEach((u) => u.close());
    }

    if (benches.has('place')) {
      const place = await redis.call('SCRIPT', 'LOAD', luaScript('gateway_place.lua'));
      const watch = await redis.call('SCRIPT', 'LOAD', luaScript('gateway_host_watch.lua'));
      const took = [];
      let chosen = '';
      for (let i = 0; i < o.n; i++) {
        const t = nowMs();
        const r = await redis.call('EVALSHA', place, 0, 'sim-p0', 1, 512, '', '', '');
        took.push(nowMs() - t);
        if (r[0] !== 1) throw new Error(`placement failed: ${r[1]}`);
        chosen = r[1];
      }
      out({ bench: 'placement', hosts: o.hosts + 1, vms: o.hosts * o.vms, chosen, ms: summary(took) });
      // The check of every 500 ms reads the hosts past their deadline; every 20th reads all.
      for (const pass of ['', 'all']) {
        const wt = [];
        for (let i = 0; i < (pass ? 10 : 50); i++) {
          const t = nowMs();
          await redis.call('EVALSHA', watch, 0, Date.now(), pass);
          wt.push(nowMs() - t);
          await sleep(100);
        }
        out({ bench: 'host_watch script', pass: pass || 'past deadline', hosts: o.hosts + 1, ms: summary(wt) });
      }
    }

    if (benches.has('down')) {
      const seen = new Map();
      const raw = await new Promise((resolve) => {
        // gatewayApi's ws keeps only answers; the events come on a WebSocket of our own.
        const w = new WebSocket(`${stack.url.replace(/^http/, 'ws')}/ws/api`, 'vmgate.api.v1', { ca: fs.readFileSync(stack.caFile), headers: { authorization: `Bearer ${admin.token}` } });
        w.on('message', (m) => {
          const e = JSON.parse(m.toString());
          if (e.event === 'host.down') seen.set(e.data.host, { at: Date.now(), ts: e.data.ts });
        });
        w.once('open', () => { w.send('{"id":1,"method":"events.subscribe"}'); setTimeout(() => resolve(w), 500); });
      });
      const dead = Number(await redis.call('HGET', 'vg:settings', 'host_dead_after')) || 3;
      const stopped = [];
      for (let k = 0; k < 5; k++) {
        const host = ready.hosts[k * Math.floor(o.hosts / 5)];
        stopped.push(await sim.ask({ op: 'stop-host', host }));
        await sleep(700);
      }
      const bound = dead * o['heartbeat-ms'] + o['heartbeat-ms'];
      const t0 = Date.now();
      while (stopped.some((s) => !seen.has(s.host)) && Date.now() - t0 < 4 * bound) await sleep(50);
      const rows = stopped.map((s) => ({ host: s.host, event_after_ms: seen.get(s.host) ? seen.get(s.host).at - s.last_ms : null,
        declared_after_ms: seen.get(s.host) ? seen.get(s.host).ts - s.last_ms : null }));
      out({ bench: 'host down', heartbeat_ms: o['heartbeat-ms'], dead_after: dead, bound_ms: bound, hosts: rows,
        event_after_ms: summary(rows.filter((r) => r.event_after_ms !== null).map((r) => r.event_after_ms)) });
      for (const s of stopped) await sim.ask({ op: 'start-host', host: s.host });
      raw.close();
    }

    if (benches.has('fanout')) {
      const caseRun = async (label, n, gwUrls) => {
        const per = Math.ceil(n / o.workers);
        for (let i = 0; i < o.workers; i++) {
          const w = child(fileURLToPath(import.meta.url), ['--worker']);
          await w.ready;
          workers.push(w);
        }
        const t0 = nowMs();
        const opened = await Promise.all(workers.map((w, i) => w.ask({ op: 'open', urls: gwUrls, n: Math.min(per, n - i * per), ca: stack.caFile, token: admin.token })));
        const ok = opened.reduce((a, r) => a + r.ok, 0);
        const openS = (nowMs() - t0) / 1000;
        await sleep(2000);
        await Promise.all(workers.map((w) => w.ask({ op: 'collect' })));
        for (let seq = 1; seq <= o.publishes; seq++) {
          await redis.call('PUBLISH', 'vg:events', `{"type":"bench.fanout","seq":${seq},"t":${nowMs()}}`);
          await sleep(o['interval-ms']);
        }
        await sleep(5000);
        const got = await Promise.all(workers.map((w) => w.ask({ op: 'collect' })));
        const all = new Map();
        let delivered = 0;
        for (const g of got) {
          delivered += g.count;
          for (const [seq, lat] of g.latest) all.set(seq, Math.max(all.get(seq) ?? 0, lat));
        }
        out({ bench: 'event fan-out', case: label, subscribers: ok, wanted: n, open_errors: opened.flatMap((r) => r.errors).slice(0, 3),
          open_s: Math.round(openS), publishes: o.publishes, delivered, expected: ok * o.publishes,
          until_every_subscriber_ms: summary([...all.values()]) });
        await Promise.all(workers.map((w) => w.ask({ op: 'close' })));
        workers.splice(0).forEach((w) => w.stop());
        await sleep(2000);
      };
      if (o.fanout1) await caseRun(`${o.fanout1} on 1 gateway`, o.fanout1, [stack.url]);
      if (o.fanout3) await caseRun(`${o.fanout3} on 3 gateways`, o.fanout3, urls);
    }
    admin.close();
  } finally {
    workers.forEach((w) => w.stop());
    sim?.stop();
    redis.close();
    for (const g of extra) await g.stop().catch((e) => console.error(`# ${e.message}`));
    await stack.stop();
  }
}

if (process.argv[2] !== '--worker') await main();
