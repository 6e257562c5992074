// Malformed input on every door of the gateway (issue 9, items 5, 6 and 8): a Content-Length
// that is not one whole number is answered at once, lenient JSON (trailing data, \u0000, a
// duplicate key) is refused with bad_request on HTTP, the API WebSocket and the console, an
// unknown method without a session is unauthorized, and a 10 MB WebSocket message gets
// too_big and a 1009 close (docs/api.md, docs/protocol.md). Nothing of it changes Redis.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, openConsole, request } from './lib/client.mjs';
import { rejects } from './lib/wait.mjs';

const VM = 'vgt-mal';
const BIG = 10 * 1024 * 1024;
let stack;
let token;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-malformed-' });
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

// Sends raw bytes over TLS and resolves { status, body, ms } once the gateway answers and
// closes, or { status: 0, ms } if it has not answered within `ms` milliseconds.
function raw(text, ms = 2000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = tls.connect({ host: '127.0.0.1', port: stack.httpPort, ca: fs.readFileSync(stack.caFile), servername: 'localhost' });
    const chunks = [];
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ status: 0, body: '', ms: Date.now() - t0 });
    }, ms);
    s.on('secureConnect', () => s.write(text));
    s.on('data', (d) => {
      chunks.push(d);
      const all = Buffer.concat(chunks).toString();
      const head = all.indexOf('\r\n\r\n');
      const len = /\r\ncontent-length: *(\d+)/i.exec(all);
      if (head >= 0 && len && all.length >= head + 4 + Number(len[1])) {
        clearTimeout(timer);
        s.destroy();
        resolve({ status: Number(all.split(' ')[1]), headers: all.slice(0, head), body: all.slice(head + 4), ms: Date.now() - t0 });
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function post(method, headers, body = '') {
  return raw(`POST /api/v1/${method} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n${headers}\r\n${body}`);
}

test('a malformed Content-Length is answered at once with 400 (413 over the limit), not after a timeout', async () => {
  const before = stack.stateKeys();
  const cases = [
    ['Content-Length: -5\r\n', 400, 'bad_request'],
    ['Content-Length: abc\r\n', 400, 'bad_request'],
    ['Content-Length: +5\r\n', 400, 'bad_request'],
    ['Content-Length: 5x\r\n', 400, 'bad_request'],
    ['Content-Length: 0x10\r\n', 400, 'bad_request'],
    ['Content-Length: 2\r\nContent-Length: 2\r\n', 400, 'bad_request'],
    ['Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', 400, 'bad_request'],
    ['Content-Length: 99999999999999999999999999\r\n', 413, 'too_big'],
    ['Content-Length: 70000\r\n', 413, 'too_big'],
  ];
  for (const [headers, status, code] of cases) {
    const r = await post('whoami', headers);
    const what = JSON.stringify(headers);
    assert.equal(r.status, status, `${what}: no answer within 2 s (${r.ms} ms)`);
    assert.equal(JSON.parse(r.body).error.code, code, what);
    assert.match(r.headers, /\r\nconnection: close/i, `${what}: the connection is closed after it`);
  }
  // A well-formed length still works over the same raw path.
  const ok = await post('whoami', 'Content-Length: 2\r\n', '{}');
  assert.equal(ok.status, 200, ok.body);
  assert.equal(JSON.parse(ok.body).result.user, 'admin');
  assert.deepEqual(stack.stateKeys(), before, 'malformed requests changed Redis');
});

test('a 10 MB body gets 413 too_big, not a reset of the connection', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await request(stack, '/api/v1/whoami', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: 'x'.repeat(BIG),
    });
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, 'too_big');
  }
});

// Lenient JSON that cJSON alone would read one way and another parser another way.
const LENIENT = [
  ['trailing data', '{} xx'],
  ['a second value', '{}{}'],
  ['\\u0000 in a string', '{"vm":"rel1\\u0000x"}'],
  ['\\u0000 in a key', '{"vm\\u0000x":"rel1"}'],
  ['a raw control character in a string', '{"vm":"rel1\u0001x"}'],
  ['a duplicate key', '{"vm":"rel1","vm":"rel2"}'],
  ['a duplicate key deeper down', '{"spec":{"name":"a","x":[{"k":1,"k":2}]}}'],
];

test('HTTP: trailing data, \\u0000 and duplicate keys are bad_request', async () => {
  const before = stack.stateKeys();
  for (const [what, body] of LENIENT) {
    const e = await rejects(api(stack, token, 'console.ticket', body), 'bad_request', 400);
    assert.match(e.message, /invalid JSON/, what);
  }
  // An escaped backslash before u0000 is text, no NUL: the name is refused, not the JSON.
  const text = await rejects(api(stack, token, 'console.ticket', '{"vm":"rel1\\\\u0000x"}'), 'bad_request', 400);
  assert.doesNotMatch(text.message, /invalid JSON/);
  assert.deepEqual(await api(stack, token, 'whoami', ' {} \r\n'), { user: 'admin', role: 'admin' });
  assert.deepEqual(stack.stateKeys(), before);
});

test('API WebSocket: trailing data, \\u0000 and duplicate keys are bad_request', async () => {
  const ws = await apiWs(stack, token);
  for (const [what, params] of LENIENT) {
    const text = params.startsWith('{}')
      ? `{"id":1,"method":"whoami"}${params.slice(2)}`
      : `{"id":1,"method":"console.ticket","params":${params}}`;
    const answer = await ws.sendRaw(text);
    assert.equal(answer.error?.code, 'bad_request', `${what}: ${JSON.stringify(answer)}`);
    assert.match(answer.error.message, /invalid JSON/, what);
  }
  const dupMethod = await ws.sendRaw('{"id":2,"method":"whoami","method":"logout"}');
  assert.equal(dupMethod.error?.code, 'bad_request');
  // The connection still serves.
  assert.equal((await ws.call('whoami')).user, 'admin');
  await ws.close();
});

test('an unknown method without a session is unauthorized; with one it is unknown', async () => {
  await rejects(api(stack, null, 'no.such.method'), 'unauthorized', 401);
  await rejects(api(stack, 'f'.repeat(64), 'no.such.method'), 'unauthorized', 401);
  await rejects(api(stack, null, 'x'.repeat(200)), 'unauthorized', 401);
  await rejects(api(stack, token, 'no.such.method'), 'unknown', 400);
  await rejects(api(stack, token, 'x'.repeat(200)), 'unknown', 400);
  const anon = await apiWs(stack, null);
  await rejects(anon.call('no.such.method'), 'unauthorized');
  await anon.close();
  const ws = await apiWs(stack, token);
  await rejects(ws.call('no.such.method'), 'unknown');
  await ws.close();
});

test('a 10 MB message on the API WebSocket gets too_big and the close 1009', async () => {
  const ws = await apiWs(stack, token);
  const answer = ws.sendRaw(JSON.stringify({ id: 1, method: 'whoami', params: { pad: 'x'.repeat(BIG) } }));
  const [a, closed] = await Promise.all([answer, ws.closed]);
  assert.equal(a.error?.code, 'too_big', JSON.stringify(a));
  assert.equal(closed.code, 1009);
  // The gateway still serves.
  assert.equal((await api(stack, token, 'whoami')).user, 'admin');
});

test('console WebSocket: lenient control messages are bad_request, 10 MB gets too_big and 1009', async () => {
  const c = await openConsole(stack, token, { vm: VM, offset: 'end' });
  await c.waitControl('hello', 60000);
  for (const text of ['{"type":"ping","id":1} xx', '{"type":"ping","type":"take"}', '{"type":"ping\\u0000x"}']) {
    c.sendRaw(text);
    const e = await c.waitControl('error');
    assert.equal(e.code, 'bad_request', text);
    assert.match(e.message, /invalid JSON/, text);
  }
  c.sendControl({ type: 'ping', id: 7 });
  assert.equal((await c.waitControl('pong')).id, 7);
  c.sendRaw(Buffer.concat([Buffer.from([0x11]), Buffer.alloc(BIG, 0x41)]), { binary: true });
  const e = await c.waitControl('error');
  assert.equal(e.code, 'too_big');
  assert.equal((await c.closed).code, 1009);
});
