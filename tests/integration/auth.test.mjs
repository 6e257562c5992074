// Authentication and the API's handling of bad input (C9, A1, A2, A4, docs/api.md): without a
// valid session every API and console endpoint refuses; a console ticket works once, only for
// its VM, device and mode, and not after its TTL; bad requests get stable error codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, connectConsole, login, openConsole, request } from './lib/client.mjs';
import { rejects } from './lib/wait.mjs';

const VM = 'vgt-auth';
const METHODS = ['logout', 'whoami', 'vm.list', 'host.list', 'console.ticket', 'events.subscribe'];
let stack;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-auth-' });
});

after(async () => {
  await stack?.stop();
});

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

test('health and the UI answer without a session, with the security headers', async () => {
  const r = await request(stack, '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body.trim(), 'ok');
  for (const h of [
    'content-security-policy',
    'x-content-type-options',
    'x-frame-options',
    'referrer-policy',
    'strict-transport-security',
  ])
    assert.ok(r.headers[h], `missing ${h}`);
  assert.equal(r.headers['x-frame-options'], 'DENY');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
});

test('without a valid session every API method answers 401 unauthorized', async () => {
  const bogus = 'f'.repeat(64);
  for (const m of METHODS) {
    await rejects(api(stack, null, m, {}), 'unauthorized', 401);
    await rejects(api(stack, bogus, m, { vm: 7 }), 'unauthorized', 401);
  }
  // A cookie that is not a session is no better.
  const r = await request(stack, '/api/v1/whoami', {
    method: 'POST',
    headers: { cookie: `vg_session=${bogus}`, origin: stack.url },
    body: '{}',
  });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error.code, 'unauthorized');

  // The WebSocket API accepts the connection but refuses every method except login.
  const ws = await apiWs(stack, null);
  for (const m of METHODS) await rejects(ws.call(m), 'unauthorized');
  const res = await ws.call('login', { user: stack.adminUser, password: stack.adminPassword });
  assert.equal(res.user, 'admin');
  assert.deepEqual(await ws.call('whoami'), { user: 'admin', role: 'admin' });
  await ws.close();
});

test('login: wrong password refused, cookie set, logout ends the session', async () => {
  await rejects(api(stack, null, 'login', { user: 'admin', password: 'wrong' }), 'unauthorized', 401);
  await rejects(api(stack, null, 'login', { user: 'nobody', password: 'x' }), 'unauthorized', 401);
  const r = await request(stack, '/api/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: stack.adminUser, password: stack.adminPassword }),
  });
  assert.equal(r.status, 200);
  const { token, expires_in: ttl } = JSON.parse(r.body).result;
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.ok(ttl > 0);
  const cookie = r.headers['set-cookie'][0];
  assert.match(cookie, new RegExp(`^vg_session=${token};`));
  for (const attr of ['Secure', 'HttpOnly', 'SameSite=Strict', 'Path=/']) assert.ok(cookie.includes(attr), attr);
  // Only the hash of the token is stored.
  assert.equal(stack.redis('exists', `vg:session:${sha256(token)}`), '1');
  assert.equal(stack.redis('exists', `vg:session:${token}`), '0');
  // The cookie authenticates like the bearer token.
  const w = await request(stack, '/api/v1/whoami', {
    method: 'POST',
    headers: { cookie: `vg_session=${token}`, origin: stack.url },
    body: '{}',
  });
  assert.equal(w.status, 200);
  await api(stack, token, 'logout');
  await rejects(api(stack, token, 'whoami'), 'unauthorized', 401);
});

test('logging out closes the consoles that session opened within 1 s', async () => {
  const token = await login(stack);
  const other = await login(stack);
  const mine = await openConsole(stack, token, { vm: VM, mode: 'ro', offset: 'end' });
  const theirs = await openConsole(stack, other, { vm: VM, mode: 'ro', offset: 'end' });
  await mine.waitControl('hello');
  await theirs.waitControl('hello');
  const t0 = Date.now();
  await api(stack, token, 'logout');
  const { code } = await mine.closed;
  assert.ok(Date.now() - t0 < 1000, `closed after ${Date.now() - t0} ms`);
  assert.equal(code, 4001);
  assert.equal((await mine.waitControl('error', 100).catch(() => mine.errors[0]))?.code, 'unauthorized');
  // The other session's console stays attached.
  theirs.sendControl({ type: 'ping', id: 1 });
  assert.equal((await theirs.waitControl('pong')).id, 1);
  await theirs.close();
});

test('failed logins are rate limited per user name', async () => {
  const user = 'vgt-guesser';
  for (let i = 0; i < 10; i++) await rejects(api(stack, null, 'login', { user, password: `guess${i}` }), 'unauthorized', 401);
  await rejects(api(stack, null, 'login', { user, password: 'guess10' }), 'rate_limited', 429);
  assert.ok(Number(stack.redis('ttl', `vg:loginfail:user:${user}`)) > 0);
  // Other users are not affected.
  await login(stack);
});

test('a console needs a ticket: none is refused at the upgrade, a bad one is closed with 4001', async () => {
  await assert.rejects(connectConsole(stack, '/ws/console'), (e) => e.status === 401);
  const bad = await connectConsole(stack, `/ws/console?ticket=${'0'.repeat(64)}`);
  const err = await bad.waitControl('error');
  assert.equal(err.code, 'unauthorized');
  assert.equal((await bad.closed).code, 4001);
  const junk = await connectConsole(stack, '/ws/console?ticket=../../etc');
  assert.equal((await junk.closed).code, 4001);
  // A ticket cannot be minted without a session.
  await rejects(api(stack, null, 'console.ticket', { vm: VM }), 'unauthorized', 401);
});

test('a ticket works once, only for its VM and mode, and not after its TTL', async () => {
  const token = await login(stack);
  const t = await api(stack, token, 'console.ticket', { vm: VM, mode: 'ro' });
  assert.ok(t.expires_in > 0 && t.expires_in <= 30);
  const ttl = Number(stack.redis('ttl', `vg:ticket:${sha256(t.ticket)}`));
  assert.ok(ttl > 0 && ttl <= 30, `ticket TTL ${ttl}`);

  // First use: attached to exactly the VM, device and mode it was minted for, whatever the
  // query string asks for.
  const c = await connectConsole(stack, `${t.path}&take=1`);
  const hello = await c.waitControl('hello');
  assert.equal(hello.vm, VM);
  assert.equal(hello.dev, 'serial0');
  assert.equal(hello.mode, 'ro');
  assert.equal(hello.writer, false);
  c.send('echo x\n');
  assert.equal((await c.waitControl('error')).code, 'read_only');
  await c.close();

  // Second use of the same ticket.
  const again = await connectConsole(stack, t.path);
  assert.equal((await again.waitControl('error')).code, 'unauthorized');
  assert.equal((await again.closed).code, 4001);

  // Expired ticket.
  const t2 = await api(stack, token, 'console.ticket', { vm: VM });
  stack.redis('pexpire', `vg:ticket:${sha256(t2.ticket)}`, 1);
  await new Promise((r) => setTimeout(r, 50));
  const late = await connectConsole(stack, t2.path);
  assert.equal((await late.closed).code, 4001);

  // Tickets for unknown VMs or devices are not minted at all.
  await rejects(api(stack, token, 'console.ticket', { vm: 'vgt-nope' }), 'not_found', 404);
  await rejects(api(stack, token, 'console.ticket', { vm: VM, dev: 'nodev' }), 'not_found', 404);

  // An rw ticket gives an rw attachment.
  const rw = await openConsole(stack, token, { vm: VM });
  assert.equal((await rw.waitControl('hello')).mode, 'rw');
  await rw.close();
});

test('WebSocket upgrades from a foreign Origin are refused with 403', async () => {
  const token = await login(stack);
  await assert.rejects(apiWs(stack, token, { headers: { origin: 'https://evil.example' } }), (e) => e.status === 403);
  const t = await api(stack, token, 'console.ticket', { vm: VM });
  await assert.rejects(
    connectConsole(stack, t.path, { headers: { origin: 'https://evil.example' } }),
    (e) => e.status === 403,
  );
  const host = new URL(stack.url).host;
  const ok = await apiWs(stack, token, { headers: { origin: `https://${host}` } });
  await ok.close();
});

test('bad API input gets a clear error with a stable code and changes nothing', async () => {
  const token = await login(stack);
  const before = stack.stateKeys();
  await rejects(api(stack, token, 'no.such.method', {}), 'unknown', 400);
  await rejects(api(stack, token, 'whoami', '{not json'), 'bad_request', 400);
  await rejects(api(stack, token, 'whoami', '[1,2]'), 'bad_request', 400);
  await rejects(api(stack, null, 'login', {}), 'bad_request', 400);
  await rejects(api(stack, null, 'login', { user: 5, password: 'x' }), 'bad_request', 400);
  await rejects(api(stack, null, 'login', { user: 'admin', password: ['x'] }), 'bad_request', 400);
  await rejects(api(stack, null, 'login', { user: '../etc', password: 'x' }), 'bad_request', 400);
  await rejects(api(stack, token, 'console.ticket', {}), 'bad_request', 400);
  await rejects(api(stack, token, 'console.ticket', { vm: VM, mode: 'rwx' }), 'bad_request', 400);
  await rejects(api(stack, token, 'console.ticket', { vm: VM, dev: 7 }), 'bad_request', 400);
  const big = await request(stack, '/api/v1/whoami', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify({ pad: 'x'.repeat(70000) }),
  });
  assert.equal(big.status, 413);
  assert.equal(JSON.parse(big.body).error.code, 'too_big');
  const get = await request(stack, '/api/v1/whoami');
  assert.equal(get.status, 400);
  assert.deepEqual(stack.stateKeys(), before, 'bad requests changed Redis');

  const ws = await apiWs(stack, token);
  for (const [raw, code] of [
    ['{bad json', 'bad_request'],
    ['"a string"', 'bad_request'],
    ['{"id":{},"method":"whoami"}', 'bad_request'],
    ['{"id":1}', 'bad_request'],
    ['{"id":2,"method":"whoami","params":[]}', 'bad_request'],
    ['{"id":3,"method":"nope"}', 'unknown'],
  ]) {
    const answer = await ws.sendRaw(raw);
    assert.equal(answer.error?.code, code, raw);
  }
  ws.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const bin = await new Promise((resolve) => ws.ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
  assert.equal(bin.error.code, 'bad_request');
  // The connection still works.
  assert.equal((await ws.call('whoami')).user, 'admin');
  await ws.close();
});

test('vm.list, host.list and whoami answer in the documented shapes over HTTP and WebSocket', async () => {
  const token = await login(stack);
  const { vms } = await api(stack, token, 'vm.list');
  const vm = vms.find((v) => v.name === VM);
  assert.ok(vm, `${VM} listed`);
  assert.equal(vm.host, stack.hostId);
  assert.equal(vm.host_up, true);
  assert.equal(vm.consoles[0], 'serial0');
  assert.match(vm.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(typeof vm.state, 'string');
  const { hosts } = await api(stack, token, 'host.list');
  const host = hosts.find((h) => h.id === stack.hostId);
  assert.ok(host, 'own host listed');
  assert.equal(host.up, true);
  assert.match(host.link, /^wss:\/\//);
  for (const k of ['cpus', 'mem_mib', 'heartbeat_ms']) assert.equal(typeof host[k], 'number', k);
  const ws = await apiWs(stack, token);
  assert.deepEqual((await ws.call('vm.list')).vms.find((v) => v.name === VM), vm);
  assert.deepEqual(await ws.call('whoami'), { user: 'admin', role: 'admin' });
  await ws.close();
});

test('events.subscribe pushes vg:events messages', async () => {
  const token = await login(stack);
  const ws = await apiWs(stack, token);
  assert.deepEqual(await ws.call('events.subscribe'), {});
  const got = ws.waitEvent('test.ping', 5000);
  stack.redis('publish', 'vg:events', JSON.stringify({ type: 'test.ping', n: 1 }));
  const ev = await got;
  assert.equal(ev.data.n, 1);
  await ws.close();
});
