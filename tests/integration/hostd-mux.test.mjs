// hostd's link v3 (docs/protocol.md §3 "Link v3"), driven directly on GET /link/mux the way the
// gateway's backend/hostmux.c does: mutual TLS with the gateway's certificate, the X-Vmgate-Link
// secret, management calls as text messages and console channels as binary messages with an
// opcode and a channel id. Two synthetic consoles: a shell that echoes what it is sent, and one
// that prints as fast as it is read. Covers a call and a channel on one connection, the channel's
// members, credit (no output without it, never more than the credit and one frame), the
// refusals that end a channel and leave the link, and those that end the link.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack } from './lib/stack.mjs';
import { sleep, until } from './lib/wait.mjs';
import { fakeShell } from './lib/fakeshell.mjs';

const ECHO = 'vgt-mux-echo';
const FLOOD = 'vgt-mux-flood';
const OP = { OPEN: 0x30, TEXT: 0x31, BINARY: 0x32, CLOSE: 0x33, CREDIT: 0x34 };
const FRAME = 16384; // the most console bytes hostd puts in one OUTPUT frame

let stack;
const servers = [];

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-hostd-mux-' });
  servers.push(fakeShell(stack.socket(ECHO)));
  fs.rmSync(stack.socket(FLOOD), { force: true });
  const chunk = Buffer.alloc(64 * 1024, 'f');
  const flood = net.createServer((s) => {
    const pump = () => {
      while (!s.destroyed && s.write(chunk));
      if (!s.destroyed) s.once('drain', pump);
    };
    s.on('error', () => {});
    pump();
  });
  flood.listen(stack.socket(FLOOD));
  servers.push(flood);
  for (const vm of [ECHO, FLOOD])
    await until(() => stack.redis('exists', `vg:vm:${vm}`) === '1', 20000, `${vm} registered`);
}, { timeout: 120000 });

after(async () => {
  for (const s of servers) s.close();
  await stack?.stop();
});

function header(op, chan) {
  const b = Buffer.alloc(5);
  b[0] = op;
  b.writeUInt32BE(chan, 1);
  return b;
}

// One /link/mux connection: what it receives, per channel and as RPC answers.
async function mux({ secret } = {}) {
  const ws = new WebSocket(`wss://127.0.0.1:${stack.linkPort}/link/mux`, 'vmgate.link.v3', {
    ca: fs.readFileSync(stack.caFile),
    cert: fs.readFileSync(path.join(stack.dir, 'certs/gateway.pem')),
    key: fs.readFileSync(path.join(stack.dir, 'certs/gateway.key')),
    headers: { 'X-Vmgate-Link': secret ?? fs.readFileSync(path.join(stack.dir, 'link-secret'), 'utf8').trim() },
    maxPayload: 64 << 20,
  });
  const l = {
    ws,
    answers: [], // text messages: RPC answers (and a refusal of the link itself)
    chans: new Map(), // id -> { texts: [], binaries: [], output: bytes, closed: code }
    chan(id) {
      if (!this.chans.has(id)) this.chans.set(id, { texts: [], binaries: [], output: 0, gaps: 0, closed: null });
      return this.chans.get(id);
    },
    send(op, chan, payload = Buffer.alloc(0)) {
      ws.send(Buffer.concat([header(op, chan), Buffer.from(payload)]), { binary: true });
    },
    open(chan, query) {
      this.send(OP.OPEN, chan, query);
    },
    credit(chan, bytes) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(bytes);
      this.send(OP.CREDIT, chan, b);
    },
    text(chan, obj) {
      this.send(OP.TEXT, chan, JSON.stringify(obj));
    },
    // A member's binary frame (0x22 · tag · frame).
    member(chan, tag, frame) {
      const b = Buffer.alloc(5);
      b[0] = 0x22;
      b.writeUInt32BE(tag, 1);
      this.send(OP.BINARY, chan, Buffer.concat([b, frame]));
    },
    call(id, method, params = {}) {
      ws.send(JSON.stringify({ id, method, params }));
      return until(() => this.answers.find((a) => a.id === id), 10000, `answer ${id}`);
    },
  };
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      l.answers.push(JSON.parse(data.toString()));
      return;
    }
    const c = l.chan(data.readUInt32BE(1));
    const body = data.subarray(5);
    if (data[0] === OP.TEXT) c.texts.push(JSON.parse(body.toString()));
    else if (data[0] === OP.CLOSE) c.closed = body.readUInt16BE(0);
    else if (data[0] === OP.BINARY) {
      if (body[0] === 0x01) c.output += body.length - 9;
      else if (body[0] === 0x02) c.gaps++;
      else c.binaries.push(Buffer.from(body));
    } else l.bad = data[0];
  });
  l.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code) => reject(new Error(`link closed with ${code} before it opened`)));
  });
  return l;
}

test('one link carries a call and a channel: the channel\'s hello, a member\'s hello, input and its echo', async () => {
  const l = await mux();
  const a = await l.call(1, 'host.info');
  assert.ok(a.result, `host.info answered: ${JSON.stringify(a)}`);
  l.open(5, `vm=${ECHO}&dev=serial0&offset=end`);
  l.credit(5, 65536);
  const c = l.chan(5);
  const hello = await until(() => c.texts.find((m) => m.type === 'hello'), 10000, 'channel hello');
  assert.equal(hello.vm, ECHO);
  assert.equal(hello.version, 2);
  l.text(5, { type: 'join', tag: 7, user: 'muxtest', mode: 'rw', take: true });
  const mhello = await until(() => c.binaries.find((b) => b[0] === 0x20 && b.readUInt32BE(1) === 7 && b.subarray(5).toString().includes('"hello"')), 10000, 'member hello');
  assert.equal(JSON.parse(mhello.subarray(5).toString()).writer, true);
  const before = c.output;
  l.member(5, 7, Buffer.concat([Buffer.from([0x11]), Buffer.from('echo $((6*7))\r')]));
  await until(() => c.output > before + 10, 10000, 'the echo as OUTPUT on the channel');
  // A call after the channel, on the same connection.
  assert.ok((await l.call(2, 'host.info')).result);
  l.send(OP.CLOSE, 5, Buffer.from([0x03, 0xe8]));
  assert.ok((await l.call(3, 'host.info')).result, 'the link stays after a channel closes');
  l.ws.close();
});

test('credit meters a channel: no output without it, never more than the credit and one frame', async () => {
  const l = await mux();
  l.open(1, `vm=${FLOOD}&dev=serial0&offset=end`);
  const c = l.chan(1);
  await until(() => c.texts.find((m) => m.type === 'hello'), 10000, 'channel hello');
  await sleep(1000);
  assert.equal(c.output, 0, 'no output without credit');
  l.credit(1, 100000);
  await until(() => c.output >= 100000 || undefined, 10000, 'the credit used');
  await sleep(1000);
  assert.ok(c.output <= 100000 + FRAME, `${c.output} bytes for a credit of 100000`);
  const first = c.output;
  l.credit(1, 300000);
  await until(() => c.output >= 400000 || undefined, 10000, 'the second credit used');
  await sleep(1000);
  assert.ok(c.output <= 400000 + FRAME, `${c.output} bytes for credits of 400000 (first ${first})`);
  // Meanwhile another channel of the same link is served: the flood's has no credit left.
  l.open(2, `vm=${ECHO}&dev=serial0&offset=ring`);
  l.credit(2, 65536);
  await until(() => l.chan(2).texts.find((m) => m.type === 'hello') && l.chan(2).output > 0, 10000, 'the echo console\'s ring');
  l.ws.close();
});

test('an OPEN of no console ends that channel (error, CLOSE 4004), the link stays; a malformed message ends the link (1008)', async () => {
  const l = await mux();
  l.open(3, 'vm=vgt-mux-nosuch&dev=serial0&offset=end');
  const c = l.chan(3);
  await until(() => c.closed !== null, 10000, 'the channel closed');
  assert.equal(c.closed, 4004);
  assert.equal(c.texts[0]?.type, 'error');
  assert.equal(c.texts[0]?.code, 'not_found');
  l.open(4, 'vm=bad name&dev=serial0');
  await until(() => l.chan(4).closed !== null, 10000, 'the bad query refused');
  assert.equal(l.chan(4).closed, 1008);
  assert.ok((await l.call(9, 'host.info')).result, 'the link is still up');
  // A message for a channel that is not open is dropped.
  l.text(99, { type: 'leave', tag: 1 });
  assert.ok((await l.call(10, 'host.info')).result);
  // An unknown opcode is a broken gateway.
  l.send(0x3f, 1, 'x');
  assert.equal(await l.closed, 1008);

  const l2 = await mux();
  l2.open(1, `vm=${ECHO}&dev=serial0&offset=end`);
  l2.open(1, `vm=${ECHO}&dev=serial0&offset=end`);
  assert.equal(await l2.closed, 1008, 'an OPEN of an id in use');

  const l3 = await mux();
  l3.send(OP.CREDIT, 1, Buffer.from([0, 0, 0, 0]));
  assert.equal(await l3.closed, 1008, 'a credit of 0');
});

test('a wrong link secret is refused with 4001', async () => {
  const l = await mux({ secret: 'wrong' });
  assert.equal(await l.closed, 4001);
  assert.equal(l.answers[0]?.code, 'unauthorized');
});
