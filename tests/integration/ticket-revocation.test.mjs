// A console ticket is worth what its session is worth when it is used (issue 9 item 1,
// docs/security.md "Sessions and tickets"): a ticket minted before the session ends or before
// its user loses access (logout, user.freeze, removal from the VM's project or a lower role
// there, user.delete, a password set by an administrator, the session's expiry, the project's
// deactivation) and used afterwards opens nothing: the console WebSocket closes with 4001 and
// no byte reaches the guest. An administrator's read-only viewer of the same console is the
// witness: the guest echoes what it is typed, so a marker sent through a refused ticket would
// show up there. A ticket whose session is still valid works as before, also for a user whose
// role went down to one the ticket's mode still allows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startStack } from './lib/stack.mjs';
import { api, connectConsole, login, openConsole } from './lib/client.mjs';
import { makeUser, putVmInProject } from './lib/tenancy.mjs';
import { sleep } from './lib/wait.mjs';

const VM = 'vgt-tick';
const PROJECT = 'pt';
let stack;
let admin;
let witness; // the administrator's read-only console of VM

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-ticket-' });
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: PROJECT });
  await putVmInProject(stack, admin, VM, PROJECT);
  // The guest must have a shell (it echoes input) before anything is concluded from silence.
  const c = await openConsole(stack, admin, { vm: VM, offset: 'end' });
  await c.waitControl('hello');
  await c.waitPrompt(90000);
  await c.close();
  witness = await openConsole(stack, admin, { vm: VM, mode: 'ro', offset: 'end' });
  await witness.waitControl('hello');
});

after(async () => {
  await witness?.close();
  await stack?.stop();
});

let users = 0;
// A fresh operator of the VM's project, logged in, with a read-write ticket for the VM.
async function operatorWithTicket(mode = 'rw') {
  const name = `tk${++users}`;
  const password = await makeUser(stack, admin, name, 'operator');
  await api(stack, admin, 'project.member.set', { project: PROJECT, user: name, role: 'operator' });
  const token = await login(stack, name, password);
  const ticket = await api(stack, token, 'console.ticket', { vm: VM, mode });
  return { name, password, token, ticket };
}

// Opens the console with ticket, taking the write lock, and types a marker command at once and
// then every 50 ms until the console is closed. Resolves {closed, errors, marker}.
async function typeThrough(ticket, what) {
  const marker = `mark-${what}-${crypto.randomBytes(4).toString('hex')}`;
  const con = await connectConsole(stack, `${ticket.path}&take=1`);
  const line = `echo ${marker}\n`;
  con.send(line);
  const timer = setInterval(() => con.ws.readyState === 1 && con.send(line), 50);
  const closed = await Promise.race([con.closed, sleep(3000).then(() => null)]);
  clearInterval(timer);
  if (!closed) con.close();
  return { closed, errors: con.errors, marker, con };
}

// The ticket is refused with 4001 and unauthorized, and nothing it typed reached the guest.
async function refusedTicket(ticket, what) {
  const mark = witness.output.length;
  const r = await typeThrough(ticket, what);
  assert.ok(r.closed, `${what}: the console stayed open`);
  assert.equal(r.closed.code, 4001, `${what}: closed with ${r.closed.code}`);
  assert.equal(r.errors[0]?.code, 'unauthorized', `${what}: ${JSON.stringify(r.errors)}`);
  assert.ok(r.errors[0].message.length > 0);
  assert.equal(r.con.hello, null, `${what}: the console was attached`);
  // The guest echoes within milliseconds; a second is plenty for a marker to show up.
  await sleep(1000);
  assert.ok(!witness.output.subarray(mark).toString().includes(r.marker), `${what}: input reached the guest`);
  assert.equal(witness.ws.readyState, 1, 'the witness is still attached');
  return r.errors[0].message;
}

test('a normal ticket still opens the console, and its input reaches the guest', async () => {
  const u = await operatorWithTicket();
  const mark = witness.output.length;
  const con = await connectConsole(stack, `${u.ticket.path}&take=1`);
  const hello = await con.waitControl('hello');
  assert.equal(hello.writer, true);
  const marker = `mark-valid-${crypto.randomBytes(4).toString('hex')}`;
  con.send(`echo ${marker}\n`);
  await witness.waitFor(marker, 10000, { from: mark });
  await con.close();
  // Used once.
  const again = await typeThrough(u.ticket, 'reused');
  assert.equal(again.closed?.code, 4001);
});

test('logout: a ticket minted before it is refused with 4001, nothing reaches the guest', async () => {
  const u = await operatorWithTicket();
  await api(stack, u.token, 'logout');
  const msg = await refusedTicket(u.ticket, 'logout');
  assert.match(msg, /session ended/);
});

test('user.freeze: a ticket minted before it is refused with 4001, nothing reaches the guest', async () => {
  const u = await operatorWithTicket();
  await api(stack, admin, 'user.freeze', { name: u.name });
  await refusedTicket(u.ticket, 'freeze');
  // Unfreezing does not bring the ticket's session back.
  await api(stack, admin, 'user.unfreeze', { name: u.name });
  const v = await operatorWithTicket();
  await api(stack, admin, 'user.freeze', { name: v.name });
  await api(stack, admin, 'user.unfreeze', { name: v.name });
  await refusedTicket(v.ticket, 'freeze-unfreeze');
});

test('project.member.remove and a lower project role: a ticket minted before is refused with 4001', async () => {
  const u = await operatorWithTicket();
  await api(stack, admin, 'project.member.remove', { project: PROJECT, user: u.name });
  const msg = await refusedTicket(u.ticket, 'member-remove');
  assert.match(msg, /not a member/);
  // The session survives a membership change, so the refusal is the role check's.
  assert.equal(stack.redis('exists', `vg:session:${sha256(u.token)}`), '1');

  const v = await operatorWithTicket();
  await api(stack, admin, 'project.member.set', { project: PROJECT, user: v.name, role: 'viewer' });
  assert.match(await refusedTicket(v.ticket, 'member-viewer'), /mode=rw/);
});

test('user.delete: a ticket minted before it is refused with 4001, nothing reaches the guest', async () => {
  const u = await operatorWithTicket();
  await api(stack, admin, 'user.delete', { name: u.name, admin_password: stack.adminPassword });
  await refusedTicket(u.ticket, 'delete');
});

test('a password set by an administrator, an expired session, a deactivated project: refused too', async () => {
  const u = await operatorWithTicket();
  await api(stack, admin, 'user.edit', { name: u.name, password: `${u.password}-2`, admin_password: stack.adminPassword });
  await refusedTicket(u.ticket, 'password');

  const v = await operatorWithTicket();
  stack.redis('del', `vg:session:${sha256(v.token)}`); // what its idle expiry does
  await refusedTicket(v.ticket, 'expired');

  const w = await operatorWithTicket();
  await api(stack, admin, 'project.deactivate', { name: PROJECT });
  try {
    assert.match(await refusedTicket(w.ticket, 'deactivated'), /deactivated/);
  } finally {
    await api(stack, admin, 'project.activate', { name: PROJECT });
  }
});

test('a lower role that still allows the ticket\'s mode keeps the ticket valid', async () => {
  const u = await operatorWithTicket('ro');
  await api(stack, admin, 'project.member.set', { project: PROJECT, user: u.name, role: 'viewer' });
  const con = await connectConsole(stack, u.ticket.path);
  const hello = await con.waitControl('hello');
  assert.equal(hello.mode, 'ro');
  await con.close();
});

test('a ticket redeemed while its session ends never leaves a console open', async () => {
  // Whichever comes first in Redis, the redemption or the logout, the console ends with 4001:
  // refused, or opened and then closed by the logout's vg:sessions message (also when that
  // message is handled before the redemption's answer).
  for (let i = 0; i < 10; i++) {
    const u = await operatorWithTicket();
    const [con] = await Promise.all([connectConsole(stack, u.ticket.path), api(stack, u.token, 'logout')]);
    const closed = await Promise.race([con.closed, sleep(2000).then(() => null)]);
    if (!closed) con.close();
    assert.equal(closed?.code, 4001, `round ${i}: ${closed ? `closed with ${closed.code}` : 'stayed open'}`);
  }
});
