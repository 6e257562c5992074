// Flow control (C7, docs/protocol.md "Flow control"): a viewer that stops reading while the
// console prints megabytes leaves the gateway's memory bounded, gets a GAP and then the newest
// output once it reads again, and never delays the other viewers.
//
// The TCG test guest prints about 10 KB/s on its serial port, far too slow for megabytes, so the
// megabyte part talks to a synthetic hostd run by this test: a TLS link endpoint with the
// stack's own hostd certificate and link secret, speaking docs/protocol.md §1/§3 with a 256 KiB
// ring and per-viewer offsets (write only while the link is writable, GAP when the ring has
// overtaken a viewer), registered in the stack's Redis as host vgt-fakehost with VM vgt-flood.
// The real guest part checks the same behaviour end to end at the guest's pace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { startStack } from './lib/stack.mjs';
import { login, openConsole } from './lib/client.mjs';

const VM = 'vgt-slow';
const FLOOD_VM = 'vgt-flood';
const FLOOD_HOST = 'vgt-fakehost';
const FLOOD_BYTES = 16 * 1024 * 1024;
const RING = 256 * 1024;
// Gateway memory allowed to grow while one viewer lags behind a 16 MiB burst: the viewer queue
// (viewer_queue, 256 KiB) and lws/TLS buffers, with room for allocator noise.
const RSS_GROWTH_MAX_KB = 16 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stack;
let token;
let fake;

// ---- synthetic hostd ----
function startFakeHostd(dir, secret) {
  const server = https.createServer({
    cert: fs.readFileSync(path.join(dir, 'certs/hostd.pem')),
    key: fs.readFileSync(path.join(dir, 'certs/hostd.key')),
  });
  const wss = new WebSocketServer({ noServer: true });
  const state = { ring: Buffer.alloc(0), end: 0, viewers: new Set(), doneAt: 0, server };
  const output = (off, data) => {
    const b = Buffer.alloc(9 + data.length);
    b[0] = 0x01;
    b.writeBigUInt64BE(BigInt(off), 1);
    data.copy(b, 9);
    return b;
  };
  const pump = (v) => {
    // Like hostd: one frame at a time, only while the link takes it, from the viewer's offset.
    while (v.ws.readyState === 1 && v.ws.bufferedAmount < 65536 && v.off < state.end) {
      const start = state.end - state.ring.length;
      if (v.off < start) {
        const gap = Buffer.alloc(17);
        gap[0] = 0x02;
        gap.writeBigUInt64BE(BigInt(v.off), 1);
        gap.writeBigUInt64BE(BigInt(start), 9);
        v.ws.send(gap);
        v.off = start;
      }
      const chunk = state.ring.subarray(v.off - start, v.off - start + 16384);
      v.ws.send(output(v.off, chunk));
      v.off += chunk.length;
    }
    if (v.off < state.end && !v.timer) v.timer = setTimeout(() => ((v.timer = null), pump(v)), 5);
  };
  const append = (data) => {
    state.ring = Buffer.concat([state.ring, data]);
    if (state.ring.length > RING) state.ring = Buffer.from(state.ring.subarray(state.ring.length - RING));
    state.end += data.length;
    state.viewers.forEach(pump);
  };
  state.flood = (n) =>
    new Promise((resolve) => {
      let sent = 0;
      // About 13 MB/s: far more than a TCG guest prints, and less than a reading viewer takes
      // through the gateway, so only a viewer that stops reading falls behind the ring.
      const tick = setInterval(() => {
        const len = Math.min(65536, n - sent);
        append(Buffer.alloc(len, 0x61 + ((sent >> 16) % 26)));
        sent += len;
        if (sent >= n) {
          clearInterval(tick);
          append(Buffer.from('\r\nFLOOD-DONE\r\n'));
          state.doneAt = Date.now();
          resolve();
        }
      }, 5);
    });
  server.on('upgrade', (req, socket, head) => {
    if (req.headers['x-vmgate-link'] !== secret) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const q = new URL(req.url, 'https://x').searchParams;
      const o = q.get('offset');
      const start = state.end - state.ring.length;
      const v = { ws, off: o === 'end' ? state.end : /^\d+$/.test(o) ? Number(o) : start, timer: null };
      ws.send(JSON.stringify({
        type: 'hello', version: 1, vm: q.get('vm'), dev: q.get('dev'), viewer: `f${state.viewers.size}`,
        user: q.get('user'), mode: q.get('mode'), writer: false, start, end: state.end, offset: v.off, connected: true,
      }));
      state.viewers.add(v);
      ws.on('close', () => {
        state.viewers.delete(v);
        clearTimeout(v.timer);
      });
      pump(v);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(state)));
}

function gatewayPid() {
  return Number(fs.readFileSync(path.join(stack.dir, 'run/gateway.pid'), 'utf8'));
}

function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// Sanitizer builds keep freed memory in a quarantine, so their RSS says nothing about bounds.
function sanitized(pid) {
  return /libasan|libubsan/.test(fs.readFileSync(`/proc/${pid}/maps`, 'utf8'));
}

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-slow-' });
  token = await login(stack);
  fake = await startFakeHostd(stack.dir, fs.readFileSync(path.join(stack.dir, 'link-secret'), 'utf8').trim());
  const port = fake.server.address().port;
  stack.redis('hset', `vg:host:${FLOOD_HOST}`, 'id', FLOOD_HOST, 'link', `wss://127.0.0.1:${port}`,
    'mgmt_addr', '127.0.0.1', 'cpus', 1, 'mem_mib', 128, 'heartbeat_ms', 2000);
  stack.redis('set', `vg:host:${FLOOD_HOST}:alive`, 1, 'EX', 3600);
  stack.redis('sadd', 'vg:hosts', FLOOD_HOST);
  stack.redis('hset', `vg:vm:${FLOOD_VM}`, 'name', FLOOD_VM, 'uuid', '00000000-0000-4000-8000-00000000f100',
    'host', FLOOD_HOST, 'state', 'running', 'updated_ms', Date.now());
  stack.redis('hset', `vg:vm:${FLOOD_VM}:consoles`, 'serial0', '/nonexistent/com-vgt-flood.sock');
  stack.redis('sadd', 'vg:vms', FLOOD_VM);
});

after(async () => {
  fake?.viewers.forEach((v) => v.ws.terminate());
  fake?.server.close();
  await stack?.stop();
});

test('a paused viewer of a megabyte burst: bounded gateway memory, a GAP, others in real time', async (t) => {
  const fast = await openConsole(stack, token, { vm: FLOOD_VM, offset: 'end' });
  const slow = await openConsole(stack, token, { vm: FLOOD_VM, mode: 'ro', offset: 'end' });
  await fast.waitControl('hello');
  await slow.waitControl('hello');
  slow.pause();

  const pid = gatewayPid();
  const rss0 = rssKb(pid);
  let rssMax = rss0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssKb(pid))), 20);
  try {
    await fake.flood(FLOOD_BYTES);
    await fast.waitFor('FLOOD-DONE', 60000);
    const lagMs = Date.now() - fake.doneAt;
    // The reading viewer got every byte, in order, without a gap, right after it was produced.
    assert.deepEqual(fast.gaps, []);
    assert.ok(fast.output.length >= FLOOD_BYTES, `fast viewer got ${fast.output.length} bytes`);
    assert.ok(lagMs < 3000, `fast viewer was ${lagMs} ms behind the console`);
    await sleep(500);
    rssMax = Math.max(rssMax, rssKb(pid));
  } finally {
    clearInterval(sampler);
  }
  const growth = rssMax - rss0;
  t.diagnostic(`gateway VmRSS ${rss0} kB -> max ${rssMax} kB (+${growth} kB) for a ${FLOOD_BYTES >> 20} MiB burst`);
  if (sanitized(pid)) t.diagnostic('sanitizer build: RSS bound not asserted (ASan quarantines freed memory)');
  else assert.ok(growth < RSS_GROWTH_MAX_KB, `gateway grew by ${growth} kB`);

  // The slow viewer reads again: it skipped ahead with a GAP and gets the newest output.
  const before = slow.output.length;
  slow.resume();
  await slow.waitFor('FLOOD-DONE', 30000);
  assert.ok(slow.gaps.length >= 1, 'the lagging viewer got a GAP');
  for (const g of slow.gaps) assert.ok(g.to > g.from && !g.unannounced, JSON.stringify(g));
  assert.ok(slow.output.length - before < FLOOD_BYTES, 'the lagging viewer skipped output');
  assert.equal(slow.nextOffset, fast.nextOffset, 'both viewers end at the same offset');
  await fast.close();
  await slow.close();
});

test('with the real guest, a paused viewer does not delay the writer', async () => {
  const w = await openConsole(stack, token, { vm: VM, offset: 'end' });
  await w.waitControl('hello');
  const t0 = Date.now();
  for (;;) {
    const mark = w.output.length;
    w.send('\n');
    try {
      await w.waitFor('testvm# ', 3000, { from: mark });
      break;
    } catch (e) {
      if (Date.now() - t0 > 60000) throw e;
    }
  }
  const slow = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  await slow.waitControl('hello');
  slow.pause();
  const mark = w.output.length;
  w.send('seq 1 2000; echo SEQ-$((1000*2))-DONE\n');
  const text = await w.waitFor('SEQ-2000-DONE', 60000, { from: mark });
  assert.match(text, /\r\n2000\r\n/);
  slow.resume();
  await slow.waitFor('SEQ-2000-DONE', 30000);
  assert.deepEqual(w.gaps, []);
  await w.close();
  await slow.close();
});
