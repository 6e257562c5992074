// The console through the gateway (C4-C6, docs/protocol.md): a command's output reaches a
// WebSocket client, several viewers see the same bytes, the write lock works, a client resumes
// after a gateway restart with no lost and no duplicated byte, and bad frames get clear errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, login, openConsole, openShell, scrapeMetrics, waitHealthy } from './lib/client.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-con';
const PROMPT = 'testvm# ';
let stack;
let token;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-console-' });
  token = await login(stack);
  // Wait until the guest has a shell: poke it until the prompt answers.
  await (await openShell(stack, token, { vm: VM, offset: 'end', ms: 60000, prompt: PROMPT })).close();
});

after(async () => {
  await stack?.stop();
});

test('echo hello-$((6*7)) gives hello-42 through the gateway', async () => {
  const c = await openConsole(stack, token, { vm: VM, offset: 'end' });
  const hello = await c.waitControl('hello');
  assert.equal(hello.vm, VM);
  assert.equal(hello.dev, 'serial0');
  assert.equal(hello.mode, 'rw');
  const out = await c.run('echo hello-$((6*7))', /hello-42\r?\n/);
  assert.match(out, /\r?\nhello-42\r?\n/);
  await c.close();
});

test('two viewers of one console receive byte-identical streams', async () => {
  const a = await openConsole(stack, token, { vm: VM, offset: 'end' });
  const helloA = await a.waitControl('hello');
  const b = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: helloA.offset });
  const helloB = await b.waitControl('hello');
  assert.equal(helloB.offset, helloA.offset);
  await a.run('for i in 1 2 3 4 5 6 7 8; do echo line-$i-$((i*i)); done; echo END-$((40+2))', 'END-42');
  await b.waitFor('END-42', 10000);
  // Both streams start at the same offset; compare everything up to the shorter one's end.
  const n = Math.min(a.output.length, b.output.length);
  assert.ok(n > 50, 'both viewers received the command output');
  assert.equal(a.startOffset ?? helloA.offset, b.startOffset ?? helloB.offset);
  assert.ok(a.output.subarray(0, n).equals(b.output.subarray(0, n)), 'streams differ');
  assert.deepEqual(a.gaps, []);
  assert.deepEqual(b.gaps, []);
  await a.close();
  await b.close();
});

// Link v3 (docs/protocol.md §3): the gateway keeps one channel to hostd per console, whatever
// the number of its viewers; each viewer is a cursor into the channel's shared ring, and the
// channel closes with its last viewer.
test('viewers of one console share one channel to hostd; it closes with the last of them', async () => {
  const links = async () => {
    const text = await scrapeMetrics(stack);
    const m = text.match(new RegExp(`^vmgate_gateway_hostd_links\\{host="${stack.hosts[0].id}"\\} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : 0;
  };
  await until(async () => (await links()) === 0, 10000, 'no console link before');
  const cons = [];
  for (const [mode, offset] of [['rw', 'end'], ['ro', 'ring'], ['ro', 'end']]) {
    const c = await openConsole(stack, token, { vm: VM, mode, offset });
    await c.waitControl('hello');
    cons.push(c);
  }
  assert.equal(await links(), 1, 'one channel for three viewers');
  // Everyone is told of everyone, once: the first viewer saw the two others join.
  const first = await cons[0].waitViewers((l) => l.length === 3);
  assert.equal(new Set(first.map((v) => v.viewer)).size, 3);
  assert.equal(cons[0].controls.filter((m) => m.type === 'joined').length, 2);
  assert.equal(cons[2].controls.filter((m) => m.type === 'joined').length, 0);
  await cons[0].run('echo fan-$((6*7))', 'fan-42');
  for (const c of cons.slice(1)) await c.waitFor('fan-42', 10000);
  // The second viewer began with the ring, the others at its end: where their streams overlap,
  // they hold the same bytes at the same offsets.
  const at = (c, from, to) => c.output.subarray(from - c.startOffset, to - c.startOffset);
  for (const c of cons.slice(1)) {
    const from = Math.max(c.startOffset, cons[0].startOffset), to = Math.min(c.nextOffset, cons[0].nextOffset);
    assert.ok(to - from > 6, 'the streams overlap');
    assert.ok(at(c, from, to).equals(at(cons[0], from, to)), 'streams differ');
  }
  for (const c of cons) assert.deepEqual(c.gaps, []);
  await cons[1].close();
  await cons[0].waitControl('left');
  assert.equal(await links(), 1);
  await cons[0].close();
  await cons[2].close();
  await until(async () => (await links()) === 0, 10000, 'the channel closed with its last viewer');
});

// Link v3 (docs/protocol.md §3): the gateway has one link to each hostd, which carries every
// console channel and every management call to that host; neither costs a connection or a TLS
// handshake once the link is up.
test('consoles and management calls share the host\'s one link: no new connection, no handshake', async () => {
  const metric = async (name) => {
    const text = await scrapeMetrics(stack);
    const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };
  const handshakes = () => Promise.all([metric('vmgate_gateway_link_handshakes_total\\{kind="full"\\}'),
    metric('vmgate_gateway_link_handshakes_total\\{kind="resumed"\\}')]).then(([f, r]) => f + r);
  const warm = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  await warm.waitControl('hello');
  await api(stack, token, 'vm.get', { vm: VM });
  assert.equal(await metric('vmgate_gateway_hostd_connections'), 1, 'one link to the one host');
  const before = await handshakes();
  const cons = [];
  for (let i = 0; i < 3; i++) {
    await api(stack, token, 'vm.get', { vm: VM });
    const c = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
    await c.waitControl('hello');
    cons.push(c);
  }
  await warm.close();
  for (const c of cons) await c.close();
  await until(async () => (await metric(`vmgate_gateway_hostd_links\\{host="${stack.hosts[0].id}"\\}`).catch(() => 0)) === 0,
    10000, 'the channel closed');
  // A channel opened anew after the last one closed, and calls in between: the same link.
  const again = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  await again.waitControl('hello');
  await api(stack, token, 'vm.get', { vm: VM });
  assert.equal(await handshakes(), before, 'no TLS handshake for channels or calls');
  assert.equal(await metric('vmgate_gateway_hostd_connections'), 1);
  await again.close();
});

test('past 100 viewers of a console, joins and leaves are summed up in a count at most every second; the writer is still told', { timeout: 180000 }, async () => {
  const first = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  await first.waitControl('hello');
  const more = [];
  const t0 = Date.now();
  for (let i = 0; i < 104; i++) more.push(await openConsole(stack, token, { vm: VM, mode: i === 103 ? 'rw' : 'ro', offset: 'end' }));
  const hellos = await Promise.all(more.map((c) => c.waitControl('hello', 15000)));
  // 105 viewers: the first heard the joins one by one up to 100 viewers, then a count.
  await first.waitControl('count', 5000, (m) => m.count === 105);
  const attaching = (Date.now() - t0) / 1000;
  const joined = first.controls.filter((m) => m.type === 'joined');
  assert.equal(joined.length, 99, 'a joined for each viewer up to the 100th');
  assert.equal(Math.max(...joined.map((m) => m.count)), 100);
  const counts = first.controls.filter((m) => m.type === 'count');
  assert.ok(counts.length <= Math.ceil(attaching) + 1, `${counts.length} counts in ${attaching} s`);
  assert.ok(counts.every((m, i) => i === 0 || m.count !== counts[i - 1].count), 'a count only when it changed');
  // A change of writer is always told.
  more[103].take();
  const w = await first.waitControl('writer', 5000);
  assert.equal(w.viewer, hellos[103].viewer);
  // Back at 100 the deltas, with their count, go out again: 105 to 101 summed, then the lefts
  // down to 95 (a delta carries the count when hostd sent it, so two may say the same).
  await Promise.all(more.slice(0, 10).map((c) => c.close()));
  await first.waitControl('left', 10000, (m) => m.count === 95);
  const lefts = first.controls.filter((m) => m.type === 'left').map((m) => m.count);
  assert.ok(lefts.length >= 5 && lefts.every((n, i) => n <= 100 && (i === 0 || n <= lefts[i - 1])), `lefts ${lefts}`);
  await Promise.all([first, ...more.slice(10)].map((c) => c.close()));
});

test('read-only input is refused with read_only, a spectator with not_writer; take-over notifies', async () => {
  const w = await openConsole(stack, token, { vm: VM, offset: 'end', take: true });
  const hw = await w.waitControl('hello');
  assert.equal(hw.writer, true);

  const ro = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  const hro = await ro.waitControl('hello');
  assert.equal(hro.mode, 'ro');
  assert.equal(hro.writer, false);
  ro.send('echo must-not-run\n');
  const e1 = await ro.waitControl('error');
  assert.equal(e1.code, 'read_only');
  assert.ok(e1.message.length > 0);

  const spectator = await openConsole(stack, token, { vm: VM, offset: 'end' });
  const hs = await spectator.waitControl('hello');
  assert.equal(hs.writer, false);
  spectator.send('echo must-not-run-either\n');
  const e2 = await spectator.waitControl('error');
  assert.equal(e2.code, 'not_writer');

  // Take-over: the spectator takes the lock; the previous writer is told.
  spectator.take();
  const notice = await w.waitControl('writer', 5000, (m) => m.viewer === hs.viewer);
  assert.equal(notice.viewer, hs.viewer);
  assert.equal(notice.previous, hw.viewer);
  w.send('x');
  const e3 = await w.waitControl('error');
  assert.equal(e3.code, 'not_writer');
  // The new writer's input reaches the guest.
  await spectator.run('echo took-$((2*21))', 'took-42');
  assert.ok(!w.text.includes('must-not-run\r') && !spectator.text.includes('must-not-run-either\r\n'));
  await Promise.all([w.close(), ro.close(), spectator.close()]);
});

test('a client resumes after a gateway restart with no lost and no duplicated byte', async () => {
  const c = await openConsole(stack, token, { vm: VM, offset: 'end', take: true });
  const hello = await c.waitControl('hello');
  // Output keeps coming while the gateway is down: hostd holds it in the ring.
  await c.run('(for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done; echo DONE-$((6*7))) &', 'tick-1');
  const closed = c.closed;
  await stack.restart('gateway');
  const { code } = await closed;
  assert.ok([1001, 1006].includes(code), `close code ${code}`);
  const resumeAt = c.nextOffset;

  await waitHealthy(stack);
  token = await login(stack);
  const r = await openConsole(stack, token, { vm: VM, offset: resumeAt });
  const h2 = await r.waitControl('hello');
  assert.equal(h2.offset, resumeAt);
  await r.waitFor('DONE-42', 20000);
  assert.equal(r.startOffset, resumeAt, 'the resumed stream starts where the first one stopped');
  assert.deepEqual(r.gaps, []);

  // A fresh viewer replaying the ring from the first stream's start sees exactly the
  // concatenation of both streams.
  const ref = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: hello.offset });
  await ref.waitControl('hello');
  const both = Buffer.concat([c.output, r.output]);
  await ref.waitFor('DONE-42', 10000);
  assert.equal(ref.startOffset, hello.offset);
  assert.ok(ref.output.subarray(0, both.length).equals(both), 'resumed stream lost or repeated bytes');
  for (let i = 1; i <= 6; i++) {
    const n = both.toString().split(`tick-${i}\r\n`).length - 1;
    assert.equal(n, 1, `tick-${i} seen ${n} times`);
  }
  await r.close();
  await ref.close();
});

test('malformed frames, unknown opcodes and oversize messages get clear errors and crash nothing', async () => {
  const c = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  await c.waitControl('hello');
  const cases = [
    [Buffer.from([0x7f, 1, 2]), true, 'unknown'],
    [Buffer.alloc(0), true, 'bad_request'],
    ['not json', false, 'bad_request'],
    ['[1,2]', false, 'bad_request'],
    ['{"type":42}', false, 'bad_request'],
    ['{"type":"no-such-type"}', false, 'unknown'],
    ['{"type":"ping","id":"text"}', false, 'bad_request'],
  ];
  for (const [data, binary, code] of cases) {
    c.sendRaw(data, { binary });
    const e = await c.waitControl('error');
    assert.equal(e.code, code, `for ${JSON.stringify(data.toString())}`);
    assert.ok(e.message.length > 0);
  }
  // Still attached and answering after all of that.
  c.sendControl({ type: 'ping', id: 7 });
  const pong = await c.waitControl('pong');
  assert.equal(pong.id, 7);

  c.sendRaw(Buffer.concat([Buffer.from([0x11]), Buffer.alloc(70000, 0x41)]), { binary: true });
  const e = await c.waitControl('error');
  assert.equal(e.code, 'too_big');
  assert.equal((await c.closed).code, 1009);

  // The gateway is still serving.
  const d = await openConsole(stack, token, { vm: VM, offset: 'end' });
  await d.waitControl('hello');
  await d.close();
});

test('keepalive: pings keep a reading client attached, a silent one is dropped after idle_timeout', async () => {
  const conf = path.join(stack.dir, 'gateway.conf');
  const original = fs.readFileSync(conf, 'utf8');
  fs.writeFileSync(conf, `${original}\nping_interval = 1\nidle_timeout = 3\n`);
  try {
    await stack.restart('gateway');
    await waitHealthy(stack);
    token = await login(stack);
    const live = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
    const silent = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
    await live.waitControl('hello');
    await silent.waitControl('hello');
    let pings = 0;
    live.ws.on('ping', () => pings++);
    silent.pause(); // reads nothing, so it answers no ping
    await new Promise((r) => setTimeout(r, 5000));
    assert.ok(pings >= 2, `${pings} pings in 5 s with ping_interval 1`);
    assert.equal(live.ws.readyState, 1, 'a client that answers pings stays attached');
    silent.resume();
    const { code } = await silent.closed;
    assert.ok([1006, 1001].includes(code), `silent client closed with ${code}`);
    assert.match(stack.logs('gateway'), /dropping the silent viewer/);
    await live.close();
  } finally {
    fs.writeFileSync(conf, original);
    await stack.restart('gateway');
    await waitHealthy(stack);
    token = await login(stack);
  }
});
