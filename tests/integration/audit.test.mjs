// The audit trail (issue 4 §4, docs/api.md "Audit"): what is recorded, query by time range,
// kind, user, VM, address and result with paging, export as JSON lines and CSV (over HTTP as
// the file itself), and purge before a date, which is recorded and never purged itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login, request } from './lib/client.mjs';
import { makeUser } from './lib/tenancy.mjs';
import { rejects } from './lib/wait.mjs';

let stack;
let admin;
let viewer;

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-e-audit-' });
  admin = await login(stack);
  viewer = await login(stack, 'vera', await makeUser(stack, admin, 'vera', 'viewer'));
});

after(async () => {
  await stack?.stop();
});

test('logins, failed logins and state-changing calls are recorded with user, address and result', async () => {
  await rejects(login(stack, 'vera', 'wrong-password'), 'unauthorized');
  await rejects(api(stack, admin, 'project.create', { name: 'a1', quotas: { cores: 1 } }), 'bad_request');
  await api(stack, admin, 'project.create', { name: 'a1' });
  const { entries } = await api(stack, admin, 'audit.query', {});
  const find = (pred) => entries.find(pred);
  const ok = find((e) => e.kind === 'login' && e.user === 'vera' && e.result === 'ok');
  assert.ok(ok, 'login ok');
  assert.match(ok.addr, /^(::ffff:)?127\.0\.0\.1$/);
  assert.ok(Math.abs(ok.ts - Date.now()) < 60000);
  assert.match(ok.id, /^\d+-\d+$/);
  assert.ok(find((e) => e.kind === 'login' && e.user === 'vera' && e.result === 'unauthorized'));
  // The record names the target of the call.
  assert.ok(find((e) => e.method === 'user.create' && e.user === 'admin' && e.result === 'ok' && e.detail === 'name=vera'));
  const bad = find((e) => e.method === 'project.create' && e.result === 'bad_request');
  assert.match(bad.detail, /cores/);
  assert.ok(find((e) => e.method === 'project.create' && e.result === 'ok'));
  // Reads are not recorded.
  assert.ok(!find((e) => e.method === 'audit.query'));
  assert.equal(Number(stack.redis('xlen', 'vg:audit')), entries.length);
});

test('a target cut to its 64 bytes inside a character is recorded as valid UTF-8', async () => {
  const name = `x${'é'.repeat(40)}`;
  await rejects(api(stack, admin, 'project.create', { name }), 'bad_request');
  const { entries } = await api(stack, admin, 'audit.query', { result: 'bad_request' });
  const e = entries.find((x) => x.detail.startsWith('name=x'));
  assert.ok(e, 'the refused call is recorded');
  // Byte 64 falls inside the 32nd é: the half character becomes '?', never U+FFFD in JSON.
  assert.ok(e.detail.startsWith(`name=x${'é'.repeat(31)}?`), e.detail);
  assert.ok(!e.detail.includes('\ufffd'));
  assert.ok(!stack.redis('xrevrange', 'vg:audit', '+', '-', 'count', '1').includes('\ufffd'));
});

test('audit.query filters by kind, user, address, result and time, and pages with a cursor', async () => {
  for (let i = 0; i < 5; i++) await rejects(login(stack, 'ghost', `x${i}`), 'unauthorized');
  const q = (p) => api(stack, admin, 'audit.query', p);
  const ghost = await q({ user: 'ghost' });
  assert.equal(ghost.entries.length, 5);
  assert.equal(ghost.next_cursor, '');
  assert.ok(ghost.entries.every((e) => e.user === 'ghost' && e.kind === 'login' && e.result === 'unauthorized'));
  assert.ok((await q({ kind: 'api' })).entries.every((e) => e.kind === 'api'));
  assert.ok((await q({ result: 'error' })).entries.every((e) => e.result !== 'ok'));
  assert.equal((await q({ addr: '10.9.9.9' })).entries.length, 0);
  assert.equal((await q({ vm: 'vgt-none' })).entries.length, 0);

  // Pages of 2 over the 5 ghost entries: full pages, no overlap, nothing lost, oldest first.
  const seen = [];
  let cursor = '';
  let pages = 0;
  do {
    const page = await q({ user: 'ghost', limit: 2, cursor });
    assert.ok(page.entries.length === 2 || page.next_cursor === '', 'pages stay full');
    seen.push(...page.entries.map((e) => e.id));
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  assert.deepEqual(seen, ghost.entries.map((e) => e.id));
  assert.ok(pages >= 3);
  const newest = await q({ user: 'ghost', order: 'desc', limit: 1 });
  assert.equal(newest.entries[0].id, seen[4]);

  // Time range: from/to are milliseconds, inclusive.
  const t2 = ghost.entries[1].ts;
  const t3 = ghost.entries[3].ts;
  const range = await q({ user: 'ghost', from: t2, to: t3 });
  assert.ok(range.entries.length >= 3 && range.entries.length <= 5);
  assert.ok(range.entries.every((e) => e.ts >= t2 && e.ts <= t3));
  assert.equal((await q({ user: 'ghost', to: ghost.entries[0].ts - 1 })).entries.length, 0);

  await rejects(q({ limit: 0 }), 'bad_request');
  await rejects(q({ limit: 'all' }), 'bad_request');
  await rejects(q({ cursor: 'yesterday' }), 'bad_request');
  await rejects(q({ from: -5 }), 'bad_request');
  await rejects(q({ order: 'up' }), 'bad_request');
  await rejects(q({ colour: 'red' }), 'bad_request');
  await rejects(api(stack, viewer, 'audit.query', {}), 'forbidden', 403);
});

test('audit.export: JSON lines and CSV, as the raw file over HTTP and {format, data} over WebSocket', async () => {
  const post = (params, token = admin) =>
    request(stack, '/api/v1/audit.export', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
  const j = await post({ format: 'jsonl', user: 'ghost' });
  assert.equal(j.status, 200);
  assert.equal(j.headers['content-type'], 'application/x-ndjson');
  const lines = j.body.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 5);
  assert.ok(lines.every((e) => e.user === 'ghost' && e.kind === 'login'));

  const c = await post({ format: 'csv', user: 'ghost' });
  assert.equal(c.status, 200);
  assert.match(c.headers['content-type'], /^text\/csv/);
  const rows = c.body.trimEnd().split('\r\n');
  assert.equal(rows[0], 'id,ts,kind,user,addr,method,vm,project,result,detail');
  assert.equal(rows.length, 6);
  assert.match(rows[1], /^"\d+-\d+",\d+,"login","ghost","(::ffff:)?127\.0\.0\.1","login","","","unauthorized","wrong user name or password"$/);

  // Quotes inside a cell are doubled.
  await rejects(api(stack, admin, 'project.create', { name: 'a2', quotas: { q: 1 } }), 'bad_request');
  const f = await post({ format: 'csv', result: 'bad_request', kind: 'api' });
  assert.ok(f.body.includes('"name=a2: unknown quota ""q"" (instances'), f.body);

  const ws = await apiWs(stack, admin);
  const r = await ws.call('audit.export', { format: 'jsonl', user: 'ghost', limit: 2 });
  assert.equal(r.format, 'jsonl');
  assert.equal(r.count, 2);
  assert.equal(r.data.trimEnd().split('\n').length, 2);
  assert.ok(r.next_cursor);
  await ws.close();

  const e1 = await post({ format: 'xml' });
  assert.equal(e1.status, 400);
  assert.equal(JSON.parse(e1.body).error.code, 'bad_request');
  assert.equal((await post({})).status, 400);
  const e2 = await post({ format: 'csv' }, viewer);
  assert.equal(e2.status, 403);
  assert.equal(JSON.parse(e2.body).error.code, 'forbidden');
});

test('audit.purge: deletes what is older, re-authenticated, recorded, and purge records stay', async () => {
  const pw = stack.adminPassword;
  await rejects(api(stack, admin, 'audit.purge', { before: Date.now() }), 'bad_request');
  await rejects(api(stack, admin, 'audit.purge', { before: Date.now(), admin_password: 'wrong' }), 'forbidden');
  await rejects(api(stack, admin, 'audit.purge', { admin_password: pw }), 'bad_request');
  await rejects(api(stack, admin, 'audit.purge', { before: 'now', admin_password: pw }), 'bad_request');
  await rejects(api(stack, viewer, 'audit.purge', { before: Date.now(), admin_password: pw }), 'forbidden');

  const before = Number(stack.redis('xlen', 'vg:audit'));
  const cut = Date.now() + 1;
  await new Promise((r) => setTimeout(r, 5));
  await login(stack); // one entry after the cut, which must stay
  const r = await api(stack, admin, 'audit.purge', { before: cut, admin_password: pw });
  assert.ok(r.deleted >= before - 1, `deleted ${r.deleted} of ${before}`);
  const { entries } = await api(stack, admin, 'audit.query', {});
  assert.ok(entries.every((e) => e.ts >= cut || e.kind === 'purge'));
  const purge = entries.find((e) => e.kind === 'purge');
  assert.equal(purge.id, r.purge_id);
  assert.equal(purge.user, 'admin');
  assert.equal(purge.method, 'audit.purge');
  assert.match(purge.detail, new RegExp(`deleted ${r.deleted} entries before ${cut}`));
  assert.ok(entries.find((e) => e.kind === 'login' && e.ts >= cut), 'the newer entry stays');

  // A later purge of everything keeps every purge record.
  await new Promise((r) => setTimeout(r, 5));
  const r2 = await api(stack, admin, 'audit.purge', { before: Date.now() + 1, admin_password: pw });
  const left = (await api(stack, admin, 'audit.query', {})).entries;
  assert.deepEqual(
    left.filter((e) => e.kind === 'purge').map((e) => e.id),
    [r.purge_id, r2.purge_id],
  );
  assert.ok(left.every((e) => e.kind === 'purge' || e.ts > Number(r2.purge_id.split('-')[0]) - 1000));
  assert.equal(stack.redis('xrange', 'vg:audit', r.purge_id, r.purge_id).split('\n')[0], r.purge_id);
});
