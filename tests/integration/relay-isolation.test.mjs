// One flooding console does not delay keystroke echo on another (issue 17, C7): two synthetic
// consoles on one host, held by one hostd and relayed by one gateway — one printing as fast as
// hostd reads it, to a viewer that reads as fast as it can, the other a shell that echoes each
// key. The bound is an ordering, not a time: between a key going out and its echo coming back,
// the flood's viewer may receive at most FLOOD_BOUND bytes. A relay that served the flood's
// output before other consoles' (one busy link or loop starving the rest) would let the flood's
// viewer get megabytes more per echo, and grow with the flood.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, openConsole, scrapeMetrics } from './lib/client.mjs';
import { until } from './lib/wait.mjs';
import { fakeShell } from './lib/fakeshell.mjs';

const FLOOD = 'vgt-iso-flood';
const ECHO = 'vgt-iso-echo';
const SINK = 'vgt-iso-sink';
const KEYS = 40;
// A keystroke's round trip is milliseconds; at the flood's rate (tens of MB/s through the
// gateway here) that is well under 1 MB. 8 MiB leaves room for a loaded machine's stalls.
const FLOOD_BOUND = 8 * 1024 * 1024;

let stack;
let token;
const servers = [];
const sunk = []; // what SINK's console received, chunk by chunk

// A console that prints as fast as its reader takes it.
function floodSource(file) {
  fs.rmSync(file, { force: true });
  const line = Buffer.from(`${'flood '.repeat(20)}\r\n`);
  const chunk = Buffer.concat(Array.from({ length: 512 }, () => line));
  const srv = net.createServer((s) => {
    const pump = () => {
      while (!s.destroyed && s.write(chunk));
      if (!s.destroyed) s.once('drain', pump);
    };
    s.on('error', () => {});
    pump();
  });
  srv.listen(file);
  servers.push(srv);
}

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-iso-' });
  token = await login(stack);
  floodSource(stack.socket(FLOOD));
  servers.push(fakeShell(stack.socket(ECHO)));
  // A console that keeps what is typed into it and prints nothing.
  fs.rmSync(stack.socket(SINK), { force: true });
  const sink = net.createServer((s) => {
    s.on('data', (b) => sunk.push(b));
    s.on('error', () => {});
  });
  sink.listen(stack.socket(SINK));
  servers.push(sink);
  await api(stack, token, 'project.create', { name: 'iso' });
  for (const vm of [FLOOD, ECHO, SINK]) {
    await until(() => stack.redis('exists', `vg:vm:${vm}`) === '1', 20000, `${vm} registered`);
    stack.redis('hset', `vg:vmdef:${vm}`, 'name', vm, 'project', 'iso');
    stack.redis('sadd', 'vg:project:iso:vms', vm);
  }
}, { timeout: 120000 });

after(async () => {
  for (const s of servers) s.close();
  await stack?.stop();
});

test('a flooding console does not delay keystroke echo on another console', { timeout: 120000 }, async () => {
  // The flood's viewer only counts what it receives (the flood is far too much to keep).
  const flood = await openConsole(stack, token, { vm: FLOOD, mode: 'ro', offset: 'end' });
  flood.ws.removeAllListeners('message');
  let floodBytes = 0;
  flood.ws.on('message', (data, isBinary) => {
    if (isBinary && data[0] === 0x01) floodBytes += data.length - 9;
  });
  await until(() => floodBytes > 4 * 1024 * 1024, 30000, 'the flood flows through the gateway');

  const shell = await openConsole(stack, token, { vm: ECHO, mode: 'rw' });
  await shell.waitControl('hello');
  await shell.waitFor('syn# ', 10000);
  const during = [];
  const t0 = Date.now();
  const floodAtStart = floodBytes;
  for (let i = 0; i < KEYS; i++) {
    const key = String.fromCharCode(0x61 + (i % 26));
    const mark = shell.output.length;
    const before = floodBytes;
    shell.send(key);
    await shell.waitFor(key, 10000, { from: mark });
    during.push(floodBytes - before);
  }
  const seconds = (Date.now() - t0) / 1000;
  const rate = (floodBytes - floodAtStart) / seconds / 1e6;
  during.sort((a, b) => a - b);
  const worst = during[during.length - 1];
  console.log(`flood ${rate.toFixed(1)} MB/s to its viewer; flood bytes per keystroke echo: median ${during[during.length >> 1]}, max ${worst}`);
  assert.ok(rate > 1, `the flood kept flowing while keys were typed (${rate.toFixed(2)} MB/s)`);
  assert.ok(worst <= FLOOD_BOUND, `every echo came back before the flood's viewer got ${FLOOD_BOUND} more bytes (worst ${worst})`);
  shell.close();
  flood.ws.terminate();
});

// The gateway reads browser and API WebSockets in pieces of 1 KiB (a buffer of that size per
// connection, docs/performance.md "Memory per idle viewer") and puts each message back together:
// a message of nearly the 64 KiB limit must reach the console whole, once, and in order.
test('a message of nearly 64 KiB, read in pieces, reaches the console whole', { timeout: 60000 }, async () => {
  const pattern = (n, salt) => Buffer.from(Array.from({ length: n }, (_, i) => 0x21 + ((i * 7 + salt) % 90)));
  const received = () => Buffer.concat(sunk);

  const viewer = await openConsole(stack, token, { vm: SINK, mode: 'rw' });
  await viewer.waitControl('hello');
  const typed = pattern(65000, 1);
  viewer.send(typed);
  await until(() => received().length >= typed.length, 20000, 'the 65,000 bytes reach the console');
  assert.ok(received().equals(typed), 'the console got the browser message byte for byte');
  viewer.close();

  sunk.length = 0;
  const ws = await apiWs(stack, token);
  const data = pattern(32768, 3).toString();
  const answer = await ws.call('console.send', { vm: SINK, data, take: true });
  assert.equal(answer.sent, 32768);
  await until(() => received().length >= 32768, 20000, 'the console.send bytes reach the console');
  assert.equal(received().toString(), data, 'the console got the API request byte for byte');
  await ws.close();
});

// A console's one viewer stops reading while its console floods: the gateway stops reading the
// channel's link once the viewer is half a ring behind (docs/architecture.md "Console fan-out"),
// instead of decrypting output the ring would overwrite before anyone got it, and hostd skips
// the channel ahead. The viewer reads again: the link is read again, and the viewer gets what
// the ring kept, then a GAP, then the flood.
test('a console\'s only viewer stops reading: the gateway stops reading its link until it reads again', { timeout: 120000 }, async () => {
  const metric = async (name) => {
    const text = await scrapeMetrics(stack);
    const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
    assert.ok(m, `${name} in /metrics`);
    return Number(m[1]);
  };
  const viewer = await openConsole(stack, token, { vm: FLOOD, mode: 'ro', offset: 'end' });
  viewer.ws.removeAllListeners('message');
  let got = 0;
  let gaps = 0;
  viewer.ws.on('message', (data, isBinary) => {
    if (isBinary && data[0] === 0x01) got += data.length - 9;
    if (isBinary && data[0] === 0x02) gaps++;
  });
  await until(() => got > 4 * 1024 * 1024, 30000, 'the flood flows to its viewer');

  viewer.ws._socket.pause();
  // The kernel's socket buffers between gateway and viewer take a few MB more before the
  // viewer's cursor stops moving; until then the link may be read again now and then. Then it
  // stays paused: a whole second without a byte read from hostd.
  let last = -1;
  await until(async () => {
    const paused = await metric('vmgate_gateway_hostd_links_paused');
    const read = await metric('vmgate_gateway_link_output_bytes_total');
    const still = paused === 1 && read === last;
    last = read;
    return still;
  }, 30000, 'the link paused for good', 1000);
  const before = await metric('vmgate_gateway_link_output_bytes_total');
  await new Promise((r) => setTimeout(r, 2000));
  const during = (await metric('vmgate_gateway_link_output_bytes_total')) - before;
  console.log(`output read from hostd in 2 s while the only viewer did not read: ${during} bytes`);
  // Read as fast as the flood goes, 2 s are hundreds of megabytes; paused, nothing.
  assert.equal(during, 0, `the gateway read ${during} bytes of a link it had paused`);

  const gapsBefore = gaps;
  const gotBefore = got;
  viewer.ws._socket.resume();
  await until(async () => (await metric('vmgate_gateway_hostd_links_paused')) === 0 || got > gotBefore + 8 * 1024 * 1024,
    20000, 'the link read again');
  await until(() => gaps > gapsBefore && got > gotBefore + 8 * 1024 * 1024, 30000,
    'a GAP where hostd skipped the channel, then the flood again');
  viewer.ws.terminate();
});
