// Redis high availability with Sentinel (issue 18; docs/operations.md "Redis high
// availability"): one master, one replica and three Sentinels on loopback, AOF with
// `appendfsync always`, two gateways and a hostd that find the master through the Sentinels.
// The master is killed with SIGKILL: within 10 s both gateways log in and list VMs and hostd's
// heartbeats land in the new master; an open console never stops (every byte, no GAP, no
// close); what was written before the kill (users, projects, audit) is all there; calls made
// during the switch fail fast with `unavailable` and none is applied twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { startSecondGateway } from './lib/gateway2.mjs';
import { makeUser, putVmInProject } from './lib/tenancy.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-s-sen1';
const LINES = 400; // 20 s of output at 50 ms a line, across the failover

let stack;
let admin;
let gw2;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-s-sen-', sentinel: true });
  admin = await login(stack);
  gw2 = await startSecondGateway(stack, admin, { name: 'gateway-sen2' });
});

after(async () => {
  await gw2?.stop();
  await stack?.stop();
});

const replicaOffset = (port) => {
  const info = stack.redisAt(port, 'info', 'replication');
  return Number((info.match(/^(?:master_repl_offset|slave_repl_offset):(\d+)/m) || [])[1]);
};

// A Sentinel that speaks just enough RESP to name host:port as master `name`, as a Sentinel cut
// off from the others keeps naming a master that was demoted meanwhile.
async function staleSentinel(port) {
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        let at = m[0].length;
        const args = [];
        for (let i = 0; i < Number(m[1]); i++) {
          const b = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (!b || buf.length < at + b[0].length + Number(b[1]) + 2) return;
          args.push(buf.substr(at + b[0].length, Number(b[1])));
          at += b[0].length + Number(b[1]) + 2;
        }
        buf = buf.slice(at);
        const cmd = args.map((a) => a.toLowerCase());
        if (cmd[0] === 'sentinel' && cmd[1] === 'get-master-addr-by-name') {
          sock.write(`*2\r\n$9\r\n127.0.0.1\r\n$${String(port).length}\r\n${port}\r\n`);
        } else if (cmd[0] === 'subscribe') {
          sock.write(`*3\r\n$9\r\nsubscribe\r\n$${args[1].length}\r\n${args[1]}\r\n:1\r\n`);
        } else {
          sock.write('+OK\r\n');
        }
      }
    });
    sock.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

// The lookup started with the Sentinel that answered last, so a stale one first in the list sent
// every reconnection back to the replica it names: ROLE refused it, the same Sentinel was asked
// again, and the gateway never reached the master the other Sentinels knew.
test('a stale Sentinel first in the list names a replica: the gateway leaves it (ROLE), asks the next Sentinel and works', { timeout: 60000 }, async () => {
  const stale = await staleSentinel(stack.replicaPort);
  const list = [`127.0.0.1:${stale.address().port}`, ...stack.sentinelPorts.map((p) => `127.0.0.1:${p}`)].join(',');
  let gw;
  try {
    gw = await startSecondGateway(stack, admin, { name: 'gateway-stale', args: [`--redis_sentinels=${list}`] });
    const token = await login(gw.stack);
    assert.equal((await api(gw.stack, token, 'whoami')).user, 'admin');
    const log = stack.logs('gateway-stale');
    assert.match(log, new RegExp(`127\\.0\\.0\\.1:${stack.replicaPort} is not the master \\(ROLE: slave\\)`), 'the replica was tried and refused');
    assert.match(log, new RegExp(`connected to 127\\.0\\.0\\.1:${stack.redisPort}`), 'and the master reached');
  } finally {
    await gw?.stop();
    stale.close();
  }
});

test('kill -9 of the Redis master: gateways and hostd follow the Sentinels to the new one; consoles keep flowing; nothing written is lost or applied twice', { timeout: 300000 }, async () => {
  const gateways = [stack, gw2.stack];
  // Written before the kill.
  await api(stack, admin, 'project.create', { name: 'psen' });
  await putVmInProject(stack, admin, VM, 'psen');
  const pw = await makeUser(stack, admin, 'usen', 'viewer');
  await api(stack, admin, 'project.member.set', { project: 'psen', user: 'usen', role: 'viewer' });
  const auditBefore = (await api(stack, admin, 'audit.query', { kind: 'api', limit: 1000 })).entries;
  assert.ok(auditBefore.some((e) => e.method === 'project.create' && e.result === 'ok'));

  // A console on gateway 2 printing a line every 50 ms through the failover.
  const con = await openShell(gw2.stack, admin, { vm: VM, take: true, ms: 120000 });
  const mark = con.output.length;
  con.send(`i=0; while [ $i -lt ${LINES} ]; do echo "S$i"; i=$((i+1)); sleep 0.05; done; echo EN""D\n`);
  await con.waitFor(/\nS20\r?\n/, 30000, { from: mark });

  // Replication is asynchronous: the kill comes once the replica has every write (what a
  // failover can lose otherwise is in docs/operations.md).
  await until(() => replicaOffset(stack.replicaPort) >= replicaOffset(stack.redisPort), 5000, 'the replica caught up');

  const pid = Number(fs.readFileSync(path.join(stack.dir, 'run/redis.pid'), 'utf8'));
  const tKill = Date.now();
  process.kill(pid, 'SIGKILL');

  // Calls during the switch: each answers at once, ok or unavailable; project.create of a new
  // name each time, so the audit trail tells whether any was applied twice.
  const during = [];
  let n = 0;
  const back = async () => {
    const results = await Promise.all(gateways.map(async (g) => {
      try {
        const token = await login(g, 'usen', pw);
        const { vms } = await api(g, token, 'vm.list');
        return vms.some((v) => v.name === VM && v.project === 'psen');
      } catch {
        return false;
      }
    }));
    const name = `pdur${n++}`;
    const t0 = Date.now();
    try {
      await api(stack, admin, 'project.create', { name });
      during.push({ name, code: 'ok', ms: Date.now() - t0 });
    } catch (e) {
      during.push({ name, code: e.code, ms: Date.now() - t0 });
    }
    return results.every(Boolean);
  };
  await until(back, 10000, 'both gateways log in and list VMs on the new master', 200);
  const tBack = Date.now();
  assert.ok(tBack - tKill < 10000, `back after ${tBack - tKill} ms`);

  // The replica is the master now, and hostd's heartbeats land there.
  assert.match(stack.redisAt(stack.replicaPort, 'role'), /^master/);
  const hb = () => Number(stack.redisAt(stack.replicaPort, 'hget', `vg:host:${stack.hostId}`, 'last_heartbeat_ms'));
  await until(() => hb() > tKill, 10000 - (Date.now() - tKill), 'a hostd heartbeat in the new master');
  assert.equal(stack.redisAt(stack.replicaPort, 'exists', `vg:host:${stack.hostId}:alive`), '1');
  // Every Redis client of both daemons went to the new master, not only those asserted on.
  const port = `127.0.0.1:${stack.replicaPort}`;
  for (const [log, clients] of [['hostd', ['registry', 'metrics', 'recording']], ['gateway', ['registry', 'registry pub/sub']], ['gateway-sen2', ['registry', 'registry pub/sub']]]) {
    await until(() => clients.every((c) => stack.logs(log).includes(`${c}: connected to ${port}`)), 5000, `${log}'s clients on the new master`);
  }

  // Fast failures only, and only `unavailable`.
  const failed = during.filter((d) => d.code !== 'ok');
  for (const d of failed) {
    assert.equal(d.code, 'unavailable', `${d.name} during the switch`);
    assert.ok(d.ms < 2000, `${d.name} failed after ${d.ms} ms`);
  }

  // What was written before the kill is all there.
  const token = await login(stack, 'usen', pw);
  assert.ok((await api(stack, token, 'whoami')).user === 'usen');
  assert.ok((await api(stack, admin, 'project.list')).projects.some((p) => p.name === 'psen'));
  const auditAfter = (await api(stack, admin, 'audit.query', { kind: 'api', limit: 1000 })).entries;
  const ids = new Set(auditAfter.map((e) => e.id));
  for (const e of auditBefore) assert.ok(ids.has(e.id), `audit entry ${e.id} (${e.method}) kept`);
  // None applied twice: one project.create entry at most per name, exactly one when it said ok.
  for (const d of during) {
    const entries = auditAfter.filter((e) => e.method === 'project.create' && e.result === 'ok' && (e.project === d.name || e.detail.includes(d.name)));
    assert.ok(entries.length <= 1, `${d.name} created ${entries.length} times`);
    if (d.code === 'ok') assert.equal(entries.length, 1, `${d.name} answered ok and is in the audit`);
  }
  const projects = (await api(stack, admin, 'project.list')).projects.map((p) => p.name);
  for (const d of during.filter((x) => x.code === 'ok')) assert.ok(projects.includes(d.name));

  // The console never stopped: every line once, in order, no GAP, the WebSocket still open.
  await con.waitFor('END', 60000, { from: mark });
  assert.deepEqual(con.gaps, [], 'no GAP');
  assert.equal(con.ws.readyState, 1, 'the console stayed open');
  const text = con.output.subarray(mark).toString('utf8');
  const got = [...text.matchAll(/^S(\d+)\r?$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(got, Array.from({ length: LINES }, (_, i) => i), 'every line once, in order');
  await con.close();
});
