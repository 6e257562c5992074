// Three gateways behind a real HAProxy running the configuration of docs/operations.md
// ("Several gateways behind HAProxy"), on one stack's Redis and host (issue 18): sessions and
// tickets cross gateways, events reach subscribers on every gateway, viewers of one console
// attached through different gateways see the same viewers list, and when the gateway that
// carries a console through the balancer is killed with SIGKILL, the client reconnects through
// the balancer and resumes by offset with no byte lost or repeated, while the viewers on the
// other gateways stay attached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, apiWs, connectConsole, login, openConsole, openShell } from './lib/client.mjs';
import { freePort, startSecondGateway } from './lib/gateway2.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-m-ha';
const LINES = 300;

let stack;
let admin;
let gws = [];
let haproxy;
let lb; // the stack as seen through the balancer
let sock;

// The documented configuration with this test's ports and files.
function config(port, dir) {
  const doc = fs.readFileSync(path.join(REPO, 'docs/operations.md'), 'utf8');
  const block = doc.match(/<!-- haproxy-begin -->\s*```haproxy\n([\s\S]*?)```\s*<!-- haproxy-end -->/);
  assert.ok(block, 'docs/operations.md has the haproxy configuration between its markers');
  let conf = block[1]
    .replace(/maxconn \d+/, 'maxconn 1000') // the test machine's descriptor limit
    .replace('/run/haproxy/vmgate.sock', sock)
    .replace('bind :443', `bind 127.0.0.1:${port}`)
    .replace('/etc/haproxy/vmgate.pem', path.join(dir, 'haproxy.pem'))
    .replaceAll('/etc/vmgate/certs/ca.pem', stack.caFile);
  gws.forEach((g, i) => {
    conf = conf.replace(`10.0.0.1${i + 1}:8443`, `127.0.0.1:${g.port}`);
  });
  assert.doesNotMatch(conf, /10\.0\.0\./, 'every server line points at a test gateway');
  return conf;
}

// HAProxy's current sessions per server of backend gateways: {gw1: n, ...}.
function sessions() {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = net.connect(sock, () => c.end('show stat\n'));
    c.on('data', (d) => (out += d));
    c.on('error', reject);
    c.on('end', () => {
      const cur = {};
      for (const line of out.split('\n')) {
        const f = line.split(',');
        if (f[0] === 'gateways' && /^gw\d$/.test(f[1])) cur[f[1]] = Number(f[4]);
      }
      resolve(cur);
    });
  });
}

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-m-ha-' });
  admin = await login(stack);
  for (let i = 0; i < 3; i++) gws.push(await startSecondGateway(stack, admin, { name: `gateway-ha${i + 1}` }));
  const dir = path.join(stack.dir, 'haproxy');
  fs.mkdirSync(dir);
  sock = path.join(dir, 'stats.sock');
  const certs = path.join(stack.dir, 'certs');
  fs.writeFileSync(path.join(dir, 'haproxy.pem'),
    fs.readFileSync(path.join(certs, 'gateway.pem')) + fs.readFileSync(path.join(certs, 'gateway.key')));
  const port = await freePort();
  fs.writeFileSync(path.join(dir, 'haproxy.cfg'), config(port, dir));
  const log = fs.openSync(path.join(stack.dir, 'log/haproxy.log'), 'a');
  haproxy = spawn('haproxy', ['-db', '-f', path.join(dir, 'haproxy.cfg')], { stdio: ['ignore', log, log] });
  lb = { ...stack, url: `https://127.0.0.1:${port}` };
  await until(async () => {
    try {
      return (await api(lb, admin, 'whoami')).user === 'admin';
    } catch {
      return false;
    }
  }, 15000, 'haproxy answers');
  await until(async () => Object.values(await sessions()).length === 3, 5000, 'three servers in the stats');
});

after(async () => {
  haproxy?.kill('SIGTERM');
  for (const g of gws) await g.stop();
  await stack?.stop();
});

test('sessions, tickets and events cross gateways; a login through the balancer works on each', async () => {
  const token = await login(lb);
  for (const g of gws) assert.equal((await api(g.stack, token, 'whoami')).user, 'admin');
  // A ticket minted on gateway 1 opens on gateway 3.
  const t = await api(gws[0].stack, token, 'console.ticket', { vm: VM, mode: 'ro' });
  const con = await connectConsole(gws[2].stack, t.path);
  const hello = await con.waitControl('hello');
  assert.equal(hello.vm, VM);
  await con.close();
  // An event published once reaches a subscriber on every gateway.
  const subs = await Promise.all(gws.map((g) => apiWs(g.stack, token)));
  for (const s of subs) await s.call('events.subscribe');
  stack.redis('publish', 'vg:events', JSON.stringify({ type: 'host.up', host: stack.hosts[0].id, ts: Date.now() }));
  for (const s of subs) assert.equal((await s.waitEvent('host.up')).data.host, stack.hosts[0].id);
  for (const s of subs) await s.close();
});

test('kill -9 of the gateway carrying a console: the client resumes through the balancer by offset, nothing lost or repeated', { timeout: 240000 }, async () => {
  const token = await login(lb);
  const con = await openShell(lb, token, { vm: VM, take: true, ms: 120000 });
  // Which gateway carries it: the one HAProxy has a session open to.
  let carrier;
  await until(async () => {
    const cur = await sessions();
    const busy = Object.keys(cur).filter((k) => cur[k] > 0);
    if (busy.length === 1) carrier = Number(busy[0].slice(2)) - 1;
    return busy.length === 1;
  }, 10000, 'one server carries the console');

  // One ro viewer directly on each gateway: they all see the same viewers list.
  const viewers = [];
  for (const g of gws) viewers.push(await openConsole(g.stack, token, { vm: VM, mode: 'ro', offset: 'end' }));
  const ids = async (c) => {
    const list = await c.waitViewers((l) => l.length === 4, 10000);
    return list.map((v) => `${v.viewer}/${v.user}/${v.mode}/${v.writer}`).sort();
  };
  const lists = [await ids(con), ...(await Promise.all(viewers.map(ids)))];
  for (const l of lists) assert.deepEqual(l, lists[0], 'every gateway shows the same viewers');
  assert.equal(lists[0].filter((v) => v.endsWith('/true')).length, 1, 'one writer');

  const mark = con.output.length;
  con.send(`i=0; while [ $i -lt ${LINES} ]; do echo "L$i"; i=$((i+1)); sleep 0.02; done; echo EN""D\n`);
  await con.waitFor(/\nL20\r?\n/, 30000, { from: mark });
  await gws[carrier].kill();
  const closed = await con.closed;
  assert.notEqual(closed.code, 1000, 'the connection broke');

  // Reconnect through the balancer (HAProxy redispatches from the dead server) at the offset
  // after the last byte received.
  const resume = con.nextOffset;
  let con2;
  await until(async () => {
    try {
      con2 = await openConsole(lb, token, { vm: VM, offset: resume, take: true });
      return true;
    } catch {
      return false;
    }
  }, 15000, 'a new console through the balancer');
  const hello = await con2.waitControl('hello');
  assert.equal(hello.offset, resume);
  await con2.waitFor('END', 60000);
  assert.equal(con2.startOffset, resume);
  assert.deepEqual([...con.gaps, ...con2.gaps], [], 'no GAP');
  const text = Buffer.concat([con.output.subarray(mark), con2.output]).toString('utf8');
  const got = [...text.matchAll(/^L(\d+)\r?$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(got, Array.from({ length: LINES }, (_, i) => i), 'every line once, in order');

  // The killed gateway took only its own viewer.
  for (const [i, v] of viewers.entries()) {
    if (i === carrier) assert.ok((await v.closed).code !== 1000);
    else assert.equal(v.ws.readyState, 1, `the viewer on gateway ${i + 1} stays attached`);
  }
  for (const [i, v] of viewers.entries()) if (i !== carrier) await v.close();
  await con2.close();
});
