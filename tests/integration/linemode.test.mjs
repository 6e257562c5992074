// Line mode (issue 12 C10, docs/api.md "Line mode"): console.exec on 20 VMs at once (two real
// test guests, synthetic consoles for the rest, one VM of another project, one that does not
// exist, one stopped), console.send / console.key / console.status and the write lock shared
// with browser viewers, and console.read polling and console.watch pushes against a browser
// viewer, byte for byte, across a GAP.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, openConsole, openShell, request } from './lib/client.mjs';
import { makeMember, putVmInProject, createVm } from './lib/tenancy.mjs';
import { refused, until, sleep } from './lib/wait.mjs';
import { fakeShell as makeShell } from './lib/fakeshell.mjs';

const REAL = ['vgt-lm-a', 'vgt-lm-b'];
const SYN = Array.from({ length: 15 }, (_, i) => `vgt-lm-s${i}`);
const FOREIGN = 'vgt-lm-foreign';
const BULK = 'vgt-lm-bulk'; // the synthetic console of the GAP test
const STOPPED = 'vgt-lm-off';

let stack;
let admin;
let alice;
const servers = [];
const bulk = { clients: new Set(), input: [] };

function fakeShell(file, onClient) {
  const srv = makeShell(file, onClient);
  servers.push(srv);
  return srv;
}

before(async () => {
  stack = await startStack({ vms: REAL, prefix: 'vgt-lm-' });
  admin = await login(stack);
  for (const vm of [...SYN, FOREIGN]) fakeShell(stack.socket(vm));
  fakeShell(stack.socket(BULK), (s) => {
    bulk.clients.add(s);
    s.on('data', (d) => bulk.input.push(d));
  });
  await api(stack, admin, 'project.create', { name: 'lm' });
  await api(stack, admin, 'project.create', { name: 'other' });
  await makeMember(stack, admin, 'lm', 'alice', 'operator', 'alice password 1');
  await makeMember(stack, admin, 'lm', 'bob', 'viewer', 'bob password 1');
  alice = await login(stack, 'alice', 'alice password 1');
  for (const vm of REAL) await putVmInProject(stack, admin, vm, 'lm');
  // consoles of the console directory: hostd registers them (state unknown); the vmdef puts
  // them in a project (docs/redis.md vg:vmdef:<vm>)
  for (const [vm, project] of [...SYN, BULK, FOREIGN].map((v) => [v, v === FOREIGN ? 'other' : 'lm'])) {
    await until(() => stack.redis('exists', `vg:vm:${vm}`) === '1', 20000, `${vm} registered`);
    stack.redis('hset', `vg:vmdef:${vm}`, 'name', vm, 'project', project);
    stack.redis('sadd', `vg:project:${project}:vms`, vm);
  }
  await createVm(stack, admin, 'lm', stack.guestSpec(STOPPED));
  // the real guests answer on their consoles
  for (const vm of REAL) (await openShell(stack, admin, { vm, mode: 'ro' })).close();
}, { timeout: 300000 });

after(async () => {
  for (const s of servers) s.close();
  await stack?.stop();
});

test('console.exec on 20 VMs at once: 42 from every console, a clear result for the rest', { timeout: 120000 }, async () => {
  const vms = [...REAL, ...SYN, STOPPED, FOREIGN, 'vgt-lm-nosuch'];
  assert.equal(vms.length, 20);
  const t0 = Date.now();
  const r = await api(stack, alice, 'console.exec', { vms, command: 'echo $((6*7))', timeout_s: 20, concurrency: 20 });
  const by = Object.fromEntries(r.results.map((x) => [x.vm, x]));
  assert.equal(r.total, 20);
  for (const vm of [...REAL, ...SYN]) {
    assert.equal(by[vm].result, 'ok', `${vm}: ${JSON.stringify(by[vm])}`);
    if (by[vm].output.trim() !== '42') {
      const raw = await api(stack, admin, 'console.read', { vm, offset: by[vm].offset_from, encoding: 'text' });
      assert.fail(`${vm}: output ${JSON.stringify(by[vm].output)} of ${JSON.stringify(raw.text)}`);
    }
    assert.ok(by[vm].offset_to > by[vm].offset_from);
  }
  assert.equal(r.ok, 17);
  assert.equal(by[STOPPED].result, 'stopped');
  // the foreign VM is reported exactly like one that does not exist
  assert.equal(by[FOREIGN].result, 'not_found');
  assert.equal(by['vgt-lm-nosuch'].result, 'not_found');
  assert.equal(by[FOREIGN].message.replace(FOREIGN, 'X'), by['vgt-lm-nosuch'].message.replace('vgt-lm-nosuch', 'X'));
  assert.deepEqual(Object.keys(by[FOREIGN]), Object.keys(by['vgt-lm-nosuch']));
  console.log(`# 20 VMs in ${Date.now() - t0} ms`);
  // every VM's run is in the audit trail, the foreign one too (for administrators)
  const audit = await api(stack, admin, 'audit.query', { method: 'console.exec', limit: 100 }).catch(() => null);
  if (audit) {
    const entries = audit.entries ?? audit.events ?? [];
    for (const vm of [REAL[0], FOREIGN, STOPPED]) assert.ok(entries.some((e) => e.vm === vm), `audit of ${vm}`);
  }
});

test('console.exec on an environment, exit status and a bad regex', { timeout: 60000 }, async () => {
  await api(stack, alice, 'env.create', { project: 'lm', name: 'lmenv' });
  await api(stack, alice, 'env.edit', { env: 'lmenv', vms: { [REAL[0]]: 'web', [SYN[0]]: 'web', [SYN[1]]: 'db', [STOPPED]: 'db' } });
  const r = await api(stack, alice, 'console.exec', { env: 'lmenv', role: 'web', command: 'echo $((6*7))', exit_status: true });
  assert.deepEqual(r.results.map((x) => x.vm).sort(), [REAL[0], SYN[0]].sort());
  const real = r.results.find((x) => x.vm === REAL[0]);
  assert.equal(real.output.trim(), '42');
  assert.equal(real.exit, 0);
  const one = await api(stack, alice, 'console.exec', { vm: REAL[1], command: 'false', exit_status: true });
  assert.equal(one.exit, 1);
  assert.equal(one.output, '');
  await refused(api(stack, alice, 'console.exec', { env: 'nosuchenv', command: 'true' }), 'not_found');
  await refused(api(stack, alice, 'console.exec', { vm: FOREIGN, command: 'true' }), 'not_found');
  await refused(api(stack, alice, 'console.exec', { vms: [], command: 'true' }), 'bad_request');
  await refused(api(stack, alice, 'console.exec', { vm: REAL[0], vms: [REAL[1]], command: 'true' }), 'bad_request');
  await refused(api(stack, alice, 'console.exec', { vm: REAL[0], command: 'a\nb' }), 'bad_request');
  await refused(api(stack, alice, 'console.exec', { vm: REAL[0], command: 'true', prompt: '(' }), 'bad_request');
});

test('console.exec times out with Ctrl-C, and a run can be cancelled', { timeout: 60000 }, async () => {
  const t = await api(stack, alice, 'console.exec', { vm: SYN[2], command: 'sleep 100', prompt: 'never-matches', timeout_s: 1 });
  assert.equal(t.timed_out, true);
  assert.equal(t.result, 'timed_out');
  const run = api(stack, alice, 'console.exec', { vms: [SYN[3], SYN[4]], command: 'sleep 100', prompt: 'never', timeout_s: 60, exec_id: 'lm-cancel' });
  await sleep(500);
  await refused(api(stack, admin, 'console.exec.cancel', { exec_id: 'nosuch' }), 'not_found');
  const c = await api(stack, alice, 'console.exec.cancel', { exec_id: 'lm-cancel' });
  assert.equal(c.running + c.not_started, 2);
  const r = await run;
  assert.deepEqual(r.results.map((x) => x.result), ['cancelled', 'cancelled']);
});

test('console.send and console.key share the write lock with browser viewers', { timeout: 60000 }, async () => {
  const vm = SYN[5];
  const bob = await login(stack, 'bob', 'bob password 1');
  // a viewer of another user holds the lock: conflict, unless take
  const other = await makeMember(stack, admin, 'lm', 'carol', 'operator', 'carol password 1');
  const carol = await login(stack, 'carol', other);
  const con = await openConsole(stack, carol, { vm, take: true });
  await con.waitControl('hello');
  await refused(api(stack, alice, 'console.send', { vm, data: 'x' }), 'conflict', /carol/);
  const s = await api(stack, alice, 'console.send', { vm, data: 'echo $((5*5))', take: true });
  assert.equal(s.sent, 13);
  const k = await api(stack, alice, 'console.key', { vm, keys: ['enter'] });
  assert.equal(k.sent, 1);
  const st = await api(stack, bob, 'console.status', { vm });
  assert.equal(st.writer.user, 'alice');
  assert.equal(st.state, 'connected');
  assert.ok(st.viewers.some((v) => v.user === 'carol') && st.viewers.some((v) => v.user === 'alice'));
  await until(async () => Buffer.from((await api(stack, bob, 'console.read', { vm, offset: s.offset })).data_b64, 'base64').toString().includes('25'), 5000, 'the answer to what alice typed');
  const txt = await api(stack, bob, 'console.read', { vm, offset: s.offset, encoding: 'text' });
  assert.match(txt.text, /25\r\nsyn# $/);
  con.close();
  // bad input: refused, nothing typed
  const end = (await api(stack, bob, 'console.status', { vm })).end;
  await refused(api(stack, bob, 'console.send', { vm, data: 'x' }), 'forbidden');
  await refused(api(stack, alice, 'console.key', { vm, keys: [] }), 'bad_request');
  await refused(api(stack, alice, 'console.key', { vm, keys: ['ctrl-1'] }), 'bad_request', /ctrl-1/);
  await refused(api(stack, alice, 'console.key', { vm, keys: 'enter' }), 'bad_request');
  await refused(api(stack, alice, 'console.send', { vm, data: 'a', bytes_b64: 'YQ==' }), 'bad_request');
  await refused(api(stack, alice, 'console.send', { vm, bytes_b64: 'not base64!' }), 'bad_request');
  await refused(api(stack, alice, 'console.send', { vm, data: 5 }), 'bad_request');
  await refused(api(stack, alice, 'console.send', { vm: 'vgt-lm-nosuch', data: 'x' }), 'not_found');
  await refused(api(stack, alice, 'console.send', { vm, data: 'x'.repeat(10 << 20) }), 'too_big');
  await refused(api(stack, alice, 'console.read', { vm, offset: -1 }), 'bad_request');
  await sleep(200);
  assert.equal((await api(stack, bob, 'console.status', { vm })).end, end, 'nothing was typed');
});

test('console.read polling gets the same bytes as a browser viewer, across a GAP', { timeout: 60000 }, async () => {
  const vm = BULK;
  await until(() => bulk.clients.size > 0, 10000, 'hostd holds the bulk console');
  const start = (await api(stack, admin, 'console.status', { vm })).end;
  // 1 MiB of varied bytes: four times the ring, so an old offset falls out of it
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + (i >> 10)) & 0xff;
  for (const s of bulk.clients) s.write(chunk);
  await until(async () => (await api(stack, admin, 'console.status', { vm })).end >= start + chunk.length, 20000, 'the output is in the ring');
  const con = await openConsole(stack, admin, { vm, mode: 'ro', offset: start });
  await con.waitControl('hello');
  const end = (await api(stack, admin, 'console.status', { vm })).end;
  await until(() => con.nextOffset === end, 20000, 'the viewer caught up');
  let off = start;
  const parts = [];
  let gap = null;
  for (;;) {
    const r = await api(stack, admin, 'console.read', { vm, offset: off });
    if (r.gap) gap = gap ?? r.gap;
    const b = Buffer.from(r.data_b64, 'base64');
    if (!b.length) break;
    parts.push(b);
    off = r.next;
  }
  assert.ok(gap, 'the poller was told of a GAP');
  assert.deepEqual(con.gaps.map(({ from, to }) => ({ from, to })), [gap]);
  assert.equal(off, end);
  assert.ok(Buffer.concat(parts).equals(con.output), 'byte for byte the same');
  con.close();
});

// The bytes of a watch's console.output events, in order, and the gaps they reported.
function watched(client, id) {
  const evs = client.events.filter((e) => e.event === 'console.output' && e.data.watch === id).map((e) => e.data);
  return {
    evs,
    bytes: Buffer.concat(evs.map((d) => Buffer.from(d.data_b64, 'base64'))),
    gaps: evs.filter((d) => d.gap).map((d) => d.gap),
    next: evs.length ? evs[evs.length - 1].next : null,
  };
}

test('console.watch pushes the same bytes as a browser viewer and console.read, across a GAP, live', { timeout: 90000 }, async () => {
  const vm = BULK;
  await until(() => bulk.clients.size > 0, 10000, 'hostd holds the bulk console');
  const start = (await api(stack, admin, 'console.status', { vm })).end;
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 13 + (i >> 9)) & 0xff;
  for (const s of bulk.clients) s.write(chunk);
  await until(async () => (await api(stack, admin, 'console.status', { vm })).end >= start + chunk.length, 20000, 'the output is in the ring');
  const con = await openConsole(stack, admin, { vm, mode: 'ro', offset: start });
  await con.waitControl('hello');
  const ws = await apiWs(stack, admin);
  const w = await ws.call('console.watch', { vm, offset: start });
  assert.equal(w.vm, vm);
  assert.equal(w.dev, 'serial0');
  // the watcher shows among the console's viewers, read-only, in the caller's name
  await until(async () => (await api(stack, admin, 'console.status', { vm })).viewers.filter((v) => v.user === stack.adminUser && v.mode === 'ro').length >= 2, 10000, 'the watcher is listed');
  // then live output, pushed as it comes: three bursts while the watch waits
  for (let k = 0; k < 3; k++) {
    await sleep(300);
    const live = Buffer.alloc(50000 + k, 0x41 + k);
    for (const s of bulk.clients) s.write(live);
  }
  await until(async () => {
    const end = (await api(stack, admin, 'console.status', { vm })).end;
    return con.nextOffset === end && watched(ws, w.watch).next === end;
  }, 30000, 'viewer and watch caught up');
  const got = watched(ws, w.watch);
  assert.equal(got.gaps.length, 1, 'the watch was told of one GAP');
  assert.equal(got.gaps[0].from, start);
  assert.deepEqual(con.gaps.map(({ from, to }) => ({ from, to })), got.gaps);
  assert.ok(got.bytes.equals(con.output), 'byte for byte the same as the browser viewer');
  for (let i = 1; i < got.evs.length; i++) assert.equal(got.evs[i].offset, got.evs[i - 1].next, 'contiguous');
  // console.read polling from the same offset agrees too
  let off = start;
  const parts = [];
  for (;;) {
    const r = await api(stack, admin, 'console.read', { vm, offset: off });
    const b = Buffer.from(r.data_b64, 'base64');
    if (!b.length) break;
    parts.push(b);
    off = r.next;
  }
  assert.ok(Buffer.concat(parts).equals(got.bytes.subarray(got.bytes.length - Buffer.concat(parts).length)), 'console.read ends the same');
  // unwatch: nothing more is pushed
  const u = await ws.call('console.unwatch', { watch: w.watch });
  assert.equal(u.next, got.next);
  const n = ws.events.length;
  for (const s of bulk.clients) s.write(Buffer.from('after unwatch\r\n'));
  await until(() => con.output.includes('after unwatch'), 10000, 'the viewer has it');
  await sleep(300);
  assert.equal(ws.events.length, n, 'no event after console.unwatch');
  await refused(ws.call('console.unwatch', { watch: w.watch }), 'not_found');
  await ws.close();
  con.close();
});

test('console.read with wait_ms answers when output arrives', { timeout: 30000 }, async () => {
  const vm = BULK;
  const end = (await api(stack, admin, 'console.status', { vm })).end;
  const t0 = Date.now();
  const held = api(stack, admin, 'console.read', { vm, offset: end, wait_ms: 20000, encoding: 'text' });
  await sleep(500);
  for (const s of bulk.clients) s.write(Buffer.from('woken\r\n'));
  const r = await held;
  assert.equal(r.offset, end);
  assert.equal(r.text, 'woken\r\n');
  assert.ok(Date.now() - t0 < 10000, 'answered on output, not at the deadline');
  const empty = await api(stack, admin, 'console.read', { vm, offset: r.next, wait_ms: 300 });
  assert.equal(empty.data_b64, '', 'an empty answer once the wait ends');
  await refused(api(stack, admin, 'console.read', { vm, wait_ms: 30001 }), 'bad_request');
});

test('console.watch: bad input, over HTTP, a VM one may not see, access taken away', { timeout: 60000 }, async () => {
  const ws = await apiWs(stack, alice);
  await refused(ws.call('console.watch', { vm: FOREIGN }), 'forbidden');
  await refused(ws.call('console.watch', { vm: 'vgt-lm-nosuch' }), 'not_found');
  await refused(ws.call('console.watch', { vm: BULK, offset: -1 }), 'bad_request');
  await refused(ws.call('console.watch', { vm: BULK, encoding: 'hex' }), 'bad_request');
  await refused(ws.call('console.unwatch', { watch: 'w999999' }), 'not_found');
  const http = await request(stack, '/api/v1/console.watch', { method: 'POST', headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }, body: JSON.stringify({ vm: BULK }) });
  assert.equal(http.status, 400);
  // a member watching loses the watch when taken out of the project: the gateway closes every
  // API WebSocket of a user whose access changed (4001); the watch re-authorizes each read too
  await makeMember(stack, admin, 'lm', 'dave', 'viewer', 'dave password 1');
  const dave = await login(stack, 'dave', 'dave password 1');
  const cws = await apiWs(stack, dave);
  const w = await cws.call('console.watch', { vm: BULK, encoding: 'text' });
  await cws.waitEvent('console.output', 5000);
  await api(stack, admin, 'project.member.remove', { project: 'lm', user: 'dave' });
  for (const s of bulk.clients) s.write(Buffer.from('secret after removal\r\n'));
  const closed = await Promise.race([cws.closed, cws.waitEvent('console.watch.ended', 30000)]);
  if (closed.event) {
    assert.equal(closed.data.watch, w.watch);
    assert.equal(closed.data.code, 'not_found');
  } else {
    assert.equal(closed.code, 4001);
  }
  await sleep(300);
  assert.ok(!cws.events.some((e) => e.event === 'console.output' && (e.data.text || '').includes('secret after removal')), 'nothing after the removal');
  cws.ws.terminate();
  await ws.close();
});
