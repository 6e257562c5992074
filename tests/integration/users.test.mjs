// Users and roles (issue 4 §1, docs/api.md "Users", docs/security.md): create, edit, freeze,
// delete, the own password, the last-administrator rule, re-authentication of sensitive
// actions, the login lock-out policy, and access that ends within 1 s for consoles and API
// WebSockets (in a client and in vmgatectl).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, apiWs, login, openConsole } from './lib/client.mjs';
import { makeUser, putVmInProject, waitVms } from './lib/tenancy.mjs';
import { ptyConsole } from './lib/pty.mjs';
import { rejects } from './lib/wait.mjs';

const VM = 'vgt-e-users';
const CTL = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/vmgatectl/vmgatectl');
let stack;
let admin;

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-e-users-' });
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: 'pu' });
  await putVmInProject(stack, admin, VM, 'pu');
});

after(async () => {
  await stack?.stop();
});

test('user.create: a user with an argon2id hash who can log in; bad input changes nothing', async () => {
  await api(stack, admin, 'user.create', { name: 'alice', password: 'alice-password', role: 'operator', description: 'ops' });
  assert.equal(stack.redis('hget', 'vg:user:alice', 'role'), 'operator');
  assert.match(stack.redis('hget', 'vg:user:alice', 'pwhash'), /^\$argon2id\$/);
  assert.equal(stack.redis('sismember', 'vg:users', 'alice'), '1');
  const u = await api(stack, admin, 'user.get', { name: 'alice' });
  assert.deepEqual(
    { ...u, created_ms: 0 },
    { name: 'alice', role: 'operator', frozen: false, created_ms: 0, description: 'ops', projects: {} },
  );
  const t = await login(stack, 'alice', 'alice-password');
  assert.deepEqual(await api(stack, t, 'whoami'), { user: 'alice', role: 'operator' });
  const { users } = await api(stack, admin, 'user.list');
  assert.deepEqual(users.map((x) => x.name).sort(), ['admin', 'alice']);
  assert.ok(users.every((x) => !('pwhash' in x)));

  await rejects(api(stack, admin, 'user.create', { name: 'alice', password: 'whatever1', role: 'viewer' }), 'conflict', 409);
  await rejects(api(stack, admin, 'user.create', { name: 'bob', role: 'viewer' }), 'bad_request', 400);
  await rejects(api(stack, admin, 'user.create', { name: 'bob', password: 'bob-password', role: 'root' }), 'bad_request');
  await rejects(api(stack, admin, 'user.create', { name: 'bob', password: 'short', role: 'viewer' }), 'bad_request');
  await rejects(api(stack, admin, 'user.create', { name: 'bob', password: 12345678, role: 'viewer' }), 'bad_request');
  await rejects(api(stack, admin, 'user.create', { name: 'b/b', password: 'bob-password', role: 'viewer' }), 'bad_request');
  await rejects(api(stack, admin, 'user.create', { name: 'bob', password: 'bob-password', role: 'viewer', x: 1 }), 'bad_request');
  await rejects(api(stack, t, 'user.create', { name: 'bob', password: 'bob-password', role: 'viewer' }), 'forbidden', 403);
  await rejects(api(stack, t, 'user.list'), 'forbidden');
  assert.equal(stack.redis('exists', 'vg:user:bob'), '0');
  await rejects(api(stack, admin, 'user.get', { name: 'nobody' }), 'not_found', 404);
  await rejects(api(stack, admin, 'user.get', {}), 'bad_request');
});

test('user.edit: description freely, role and password only with the admin password again', async () => {
  await api(stack, admin, 'user.edit', { name: 'alice', description: 'on call' });
  assert.equal(stack.redis('hget', 'vg:user:alice', 'description'), 'on call');
  await rejects(api(stack, admin, 'user.edit', { name: 'alice', role: 'viewer' }), 'bad_request');
  await rejects(api(stack, admin, 'user.edit', { name: 'alice', role: 'viewer', admin_password: 'wrong' }), 'forbidden');
  assert.equal(stack.redis('hget', 'vg:user:alice', 'role'), 'operator');
  await api(stack, admin, 'user.edit', { name: 'alice', role: 'viewer', admin_password: stack.adminPassword });
  assert.equal(stack.redis('hget', 'vg:user:alice', 'role'), 'viewer');
  await rejects(api(stack, admin, 'user.edit', { name: 'nobody', description: 'x' }), 'not_found');
  await rejects(api(stack, admin, 'user.edit', { name: 'alice', description: 7 }), 'bad_request');
  await rejects(api(stack, admin, 'user.edit', { description: 'x' }), 'bad_request');

  // A password set by an administrator ends the user's sessions.
  const t = await login(stack, 'alice', 'alice-password');
  await api(stack, admin, 'user.edit', { name: 'alice', password: 'alice-password-2', admin_password: stack.adminPassword });
  await rejects(api(stack, t, 'whoami'), 'unauthorized');
  assert.equal(stack.redis('scard', 'vg:user:alice:sessions'), '0');
  await rejects(login(stack, 'alice', 'alice-password'), 'unauthorized');
  await login(stack, 'alice', 'alice-password-2');
});

test('user.password: needs the old password; the new one has at least 8 characters', async () => {
  await makeUser(stack, admin, 'carol', 'viewer', 'carol-password');
  const t = await login(stack, 'carol', 'carol-password');
  await rejects(api(stack, t, 'user.password', { old_password: 'wrong-one', new_password: 'carol-new-pw' }), 'forbidden');
  await rejects(api(stack, t, 'user.password', { old_password: 'carol-password', new_password: 'short' }), 'bad_request');
  await rejects(api(stack, t, 'user.password', { new_password: 'carol-new-pw' }), 'bad_request');
  await rejects(api(stack, t, 'user.password', { old_password: 1, new_password: 'carol-new-pw' }), 'bad_request');
  await login(stack, 'carol', 'carol-password');
  await api(stack, t, 'user.password', { old_password: 'carol-password', new_password: 'carol-new-pw' });
  await rejects(login(stack, 'carol', 'carol-password'), 'unauthorized');
  await login(stack, 'carol', 'carol-new-pw');
  // The session that changed it goes on.
  assert.equal((await api(stack, t, 'whoami')).user, 'carol');
});

test('the last active administrator cannot be frozen, deleted or demoted', async () => {
  await rejects(api(stack, admin, 'user.freeze', { name: 'admin' }), 'conflict', 409);
  await rejects(api(stack, admin, 'user.delete', { name: 'admin', admin_password: stack.adminPassword }), 'conflict');
  await rejects(
    api(stack, admin, 'user.edit', { name: 'admin', role: 'operator', admin_password: stack.adminPassword }),
    'conflict',
  );
  assert.equal(stack.redis('hget', 'vg:user:admin', 'role'), 'admin');
  assert.equal(stack.redis('hget', 'vg:user:admin', 'frozen'), '0');
  // With a second administrator the first may go.
  const pw = await makeUser(stack, admin, 'admin2', 'admin');
  const t2 = await login(stack, 'admin2', pw);
  await api(stack, t2, 'user.freeze', { name: 'admin' });
  // A frozen administrator does not count: admin2 is now the last one.
  await rejects(api(stack, t2, 'user.freeze', { name: 'admin2' }), 'conflict');
  await api(stack, t2, 'user.unfreeze', { name: 'admin' });
  admin = await login(stack);
  await api(stack, admin, 'user.delete', { name: 'admin2', admin_password: stack.adminPassword });
  assert.equal(stack.redis('exists', 'vg:user:admin2'), '0');
});

test('user.freeze / unfreeze: sessions end, login refused, wrong states are conflicts', async () => {
  const pw = await makeUser(stack, admin, 'dave', 'operator');
  const t = await login(stack, 'dave', pw);
  assert.equal(stack.redis('sismember', 'vg:user:dave:sessions', sha256(t)), '1');
  await api(stack, admin, 'user.freeze', { name: 'dave' });
  assert.equal(stack.redis('hget', 'vg:user:dave', 'frozen'), '1');
  assert.equal(stack.redis('exists', `vg:session:${sha256(t)}`), '0');
  assert.equal(stack.redis('exists', 'vg:user:dave:sessions'), '0');
  await rejects(api(stack, t, 'whoami'), 'unauthorized');
  await rejects(login(stack, 'dave', pw), 'forbidden');
  await rejects(api(stack, admin, 'user.freeze', { name: 'dave' }), 'conflict');
  await rejects(api(stack, admin, 'user.freeze', { name: 'nobody' }), 'not_found');
  await rejects(api(stack, admin, 'user.freeze', { name: 3 }), 'bad_request');
  await rejects(api(stack, admin, 'user.freeze', {}), 'bad_request');
  await api(stack, admin, 'user.unfreeze', { name: 'dave' });
  assert.equal(stack.redis('hget', 'vg:user:dave', 'frozen'), '0');
  await rejects(api(stack, admin, 'user.unfreeze', { name: 'dave' }), 'conflict');
  await login(stack, 'dave', pw);
});

// Opens a console (rw), an API WebSocket and a vmgatectl console as user; resolves the three
// once attached.
async function attachAll(user, pw) {
  const t = await login(stack, user, pw);
  const con = await openConsole(stack, t, { vm: VM, mode: 'rw', offset: 'end' });
  await con.waitControl('hello');
  const ws = await apiWs(stack, t);
  await ws.call('events.subscribe');
  const ctl = ptyConsole(CTL, ['console', VM], {
    ...process.env,
    VMGATE_URL: stack.url,
    VMGATE_USER: user,
    VMGATE_PASSWORD: pw,
    VMGATE_CA: stack.caFile,
  });
  assert.ok(await ctl.wait('Ctrl-] detaches'), 'vmgatectl did not attach');
  return { t, con, ws, ctl };
}

// Runs action and checks that the console, the API WebSocket and vmgatectl all close with
// 4001 / unauthorized within 1 s of it.
async function closedWithin1s({ con, ws, ctl }, action) {
  const t0 = Date.now();
  await action();
  const [c, w] = await Promise.all([con.closed, ws.closed]);
  const ms = Date.now() - t0;
  assert.equal(c.code, 4001);
  assert.equal(w.code, 4001);
  assert.ok(ms < 1000, `closed after ${ms} ms`);
  const r = await ctl.exit(2);
  const ctlMs = Date.now() - t0;
  assert.ok(ctlMs < 1000 + 300, `vmgatectl ended after ${ctlMs} ms`);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /unauthorized/);
  return ms;
}

test('freezing a user closes their console, API WebSocket and vmgatectl console within 1 s', async (t) => {
  await waitVms(stack, admin, [VM]);
  const pw = await makeUser(stack, admin, 'erin', 'operator');
  await api(stack, admin, 'project.member.set', { project: 'pu', user: 'erin', role: 'operator' });
  const a = await attachAll('erin', pw);
  t.after(a.ctl.kill);
  // Another user's console stays.
  const other = await openConsole(stack, admin, { vm: VM, mode: 'ro', offset: 'end' });
  await other.waitControl('hello');
  const events = await apiWs(stack, admin);
  await events.call('events.subscribe');
  const ms = await closedWithin1s(a, () => api(stack, admin, 'user.freeze', { name: 'erin' }));
  t.diagnostic(`freeze closed everything in ${ms} ms`);
  assert.deepEqual((await events.waitEvent('user.frozen', 1000)).data, { type: 'user.frozen', user: 'erin' });
  await events.close();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(other.ws.readyState, 1, 'the other user\'s console closed too');
  other.close();
  await api(stack, admin, 'user.unfreeze', { name: 'erin' });
});

test('deleting a user, demoting them or removing them from the project ends their access within 1 s', async (t) => {
  const pw = await makeUser(stack, admin, 'frank', 'operator');
  await api(stack, admin, 'project.member.set', { project: 'pu', user: 'frank', role: 'operator' });
  // A lower project role (operator → viewer).
  let a = await attachAll('frank', pw);
  t.after(() => a.ctl.kill());
  await closedWithin1s(a, () => api(stack, admin, 'project.member.set', { project: 'pu', user: 'frank', role: 'viewer' }));
  // Removal from the project.
  await api(stack, admin, 'project.member.set', { project: 'pu', user: 'frank', role: 'operator' });
  a = await attachAll('frank', pw);
  await closedWithin1s(a, () => api(stack, admin, 'project.member.remove', { project: 'pu', user: 'frank' }));
  // Deletion.
  await api(stack, admin, 'project.member.set', { project: 'pu', user: 'frank', role: 'operator' });
  a = await attachAll('frank', pw);
  await rejects(api(stack, admin, 'user.delete', { name: 'frank' }), 'bad_request');
  await rejects(api(stack, admin, 'user.delete', { name: 'frank', admin_password: 'nope' }), 'forbidden');
  assert.equal(stack.redis('exists', 'vg:user:frank'), '1');
  await closedWithin1s(a, () => api(stack, admin, 'user.delete', { name: 'frank', admin_password: stack.adminPassword }));
  assert.equal(stack.redis('exists', 'vg:user:frank'), '0');
  assert.equal(stack.redis('sismember', 'vg:users', 'frank'), '0');
  assert.equal(stack.redis('hexists', 'vg:project:pu:members', 'frank'), '0');
  assert.equal(stack.redis('exists', 'vg:user:frank:sessions'), '0');
  assert.equal(stack.redis('exists', 'vg:user:frank:projects'), '0');
  await rejects(login(stack, 'frank', pw), 'unauthorized');
  await rejects(api(stack, admin, 'user.delete', { name: 'frank', admin_password: stack.adminPassword }), 'not_found');
});

test('lock-out: the 11th login within 5 minutes is refused even with the right password', async () => {
  const pw = await makeUser(stack, admin, 'gina', 'viewer');
  // A success before the limit resets the user's counter.
  for (let i = 0; i < 9; i++) await rejects(login(stack, 'gina', `wrong-${i}`), 'unauthorized');
  assert.equal(stack.redis('get', 'vg:loginfail:user:gina'), '9');
  await login(stack, 'gina', pw);
  assert.equal(stack.redis('exists', 'vg:loginfail:user:gina'), '0');
  for (let i = 0; i < 10; i++) await rejects(login(stack, 'gina', `wrong-${i}`), 'unauthorized');
  await rejects(login(stack, 'gina', pw), 'rate_limited', 429);
  const ttl = Number(stack.redis('ttl', 'vg:loginfail:user:gina'));
  assert.ok(ttl > 0 && ttl <= 300, `ttl ${ttl}`);
  // Other users are not locked out by gina's failures.
  await login(stack);
  const { entries } = await api(stack, admin, 'audit.query', { user: 'gina', kind: 'login', result: 'rate_limited' });
  assert.equal(entries.length, 1);
});

test('lock-out: 50 failures from one address refuse every login from it', async () => {
  const key = stack.redis('--scan', '--pattern', 'vg:loginfail:addr:*');
  assert.match(key, /^vg:loginfail:addr:\S+$/, 'one client address so far');
  stack.redis('del', key);
  for (let i = 0; i < 50; i++) await rejects(login(stack, `nobody${i}`, 'x'), 'unauthorized');
  assert.equal(stack.redis('get', key), '50');
  await rejects(login(stack), 'rate_limited', 429);
  // The window is what lifts it; the test lifts it by hand so later tests can log in.
  assert.ok(Number(stack.redis('ttl', key)) > 0);
  stack.redis('del', key);
  await login(stack);
});
