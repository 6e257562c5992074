// Operator notices (C11, docs/api.md "Notices"): who may send to a VM, a project or everyone,
// who hears of them (events) and sees them (notice.list), acknowledgements and who made them,
// cancelling, expiry, the audit records, and refusals of bad input that change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login } from './lib/client.mjs';
import { makeMember } from './lib/tenancy.mjs';
import { rejects, sleep, until } from './lib/wait.mjs';

const VM = 'vgt-n-vm1';
let stack;
let admin;
const tok = {};

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-n-notices-' });
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: 'pn1' });
  await api(stack, admin, 'project.create', { name: 'pn2' });
  for (const [u, p, r] of [['nop1', 'pn1', 'operator'], ['nview1', 'pn1', 'viewer'], ['nop2', 'pn2', 'operator']]) {
    await makeMember(stack, admin, p, u, r, `${u}-password-1`);
    tok[u] = await login(stack, u, `${u}-password-1`);
  }
  // A defined VM of pn1 (the vmdef record vm.create writes); no guest needed for notices.
  stack.redis('hset', `vg:vmdef:${VM}`, 'name', VM, 'project', 'pn1');
  stack.redis('sadd', 'vg:project:pn1:vms', VM);
});

after(async () => {
  await stack?.stop();
});

async function subscriber(token) {
  const ws = await apiWs(stack, token);
  assert.deepEqual(await ws.call('events.subscribe'), {});
  return ws;
}

const noticeEvents = (ws, id) => ws.events.filter((e) => e.event.startsWith('notice.') && e.data.id === id);

async function auditOf(id) {
  const { entries } = await api(stack, admin, 'audit.query', { kind: 'notice' });
  return entries.filter((e) => e.detail.startsWith(`id=${id} `));
}

test('a project notice reaches the project members live and in notice.list, not other projects; acknowledgements are recorded and queryable', { timeout: 60000 }, async () => {
  const wsView = await subscriber(tok.nview1);
  const wsOp2 = await subscriber(tok.nop2);
  const wsOp1 = await subscriber(tok.nop1);
  const n = await api(stack, tok.nop1, 'notice.send', {
    scope: 'project', target: 'pn1', text: 'host h1 reboots at 18:00', level: 'warn', require_ack: true,
  });
  assert.equal(n.scope, 'project');
  assert.equal(n.sender, 'nop1');
  assert.equal(n.require_ack, true);
  assert.equal(n.acked_ms, null);
  assert.ok(n.expires_ms - n.created_ms === 3600000);

  const sent = await until(() => noticeEvents(wsView, n.id).find((e) => e.event === 'notice.sent'), 3000, 'notice.sent');
  assert.equal(sent.data.text, 'host h1 reboots at 18:00');
  assert.equal(sent.data.level, 'warn');
  assert.equal(sent.data.project, 'pn1');

  const mine = await api(stack, tok.nview1, 'notice.list', {});
  assert.deepEqual(mine.notices.map((x) => x.id), [n.id]);
  assert.deepEqual((await api(stack, tok.nop2, 'notice.list', {})).notices, []);
  assert.deepEqual((await api(stack, tok.nview1, 'notice.list', { vm: VM })).notices.map((x) => x.id), [n.id]);

  const ack = await api(stack, tok.nview1, 'notice.ack', { id: n.id });
  assert.equal(ack.already, false);
  assert.ok(ack.acked_ms > 0);
  await until(() => noticeEvents(wsOp1, n.id).find((e) => e.event === 'notice.acked' && e.data.user === 'nview1'), 3000, 'notice.acked');
  const again = await api(stack, tok.nview1, 'notice.ack', { id: n.id });
  assert.equal(again.already, true);
  assert.equal(again.acked_ms, ack.acked_ms);

  // The sender (and administrators) read who acknowledged; a viewer reads only their own.
  const got = await api(stack, tok.nop1, 'notice.get', { id: n.id });
  assert.deepEqual(got.acks.map((a) => a.user), ['nview1']);
  assert.equal(got.ack_count, 1);
  assert.equal((await api(stack, tok.nview1, 'notice.get', { id: n.id })).acks, undefined);
  await rejects(api(stack, tok.nop2, 'notice.get', { id: n.id }), 'not_found', 404);
  await rejects(api(stack, tok.nop2, 'notice.ack', { id: n.id }), 'not_found', 404);

  // One record for the send and one for the (first) acknowledgement.
  const rec = await auditOf(n.id);
  assert.deepEqual(rec.map((e) => [e.method, e.user]).sort(), [['notice.ack', 'nview1'], ['notice.send', 'nop1']]);
  assert.match(rec.find((e) => e.method === 'notice.send').detail, /scope=project target=pn1 level=warn .*text=host h1 reboots/);
  assert.equal(rec.find((e) => e.method === 'notice.send').project, 'pn1');
  await sleep(300);
  assert.deepEqual(noticeEvents(wsOp2, n.id), [], 'nop2 hears nothing of pn1\'s notice');

  // Cancelling: not by a viewer, not from another project; by the sender; then it is gone.
  await rejects(api(stack, tok.nview1, 'notice.cancel', { id: n.id }), 'forbidden', 403);
  await rejects(api(stack, tok.nop2, 'notice.cancel', { id: n.id }), 'not_found', 404);
  assert.deepEqual(await api(stack, tok.nop1, 'notice.cancel', { id: n.id }), { id: n.id, cancelled: true });
  await until(() => noticeEvents(wsView, n.id).find((e) => e.event === 'notice.cancelled'), 3000, 'notice.cancelled');
  assert.deepEqual((await api(stack, tok.nview1, 'notice.list', {})).notices, []);
  assert.equal(stack.redis('exists', `vg:notice:${n.id}`, `vg:notice:${n.id}:acks`), '0');
  assert.ok((await auditOf(n.id)).some((e) => e.method === 'notice.cancel' && e.user === 'nop1'));
  for (const ws of [wsView, wsOp1, wsOp2]) ws.close();
});

test('who may send where: operators to their project and its VMs, administrators to everyone; the rest is refused', { timeout: 60000 }, async () => {
  await rejects(api(stack, tok.nview1, 'notice.send', { scope: 'project', target: 'pn1', text: 'x' }), 'forbidden', 403);
  await rejects(api(stack, tok.nview1, 'notice.send', { scope: 'vm', target: VM, text: 'x' }), 'forbidden', 403);
  await rejects(api(stack, tok.nop2, 'notice.send', { scope: 'project', target: 'pn1', text: 'x' }), 'not_found', 404);
  await rejects(api(stack, tok.nop2, 'notice.send', { scope: 'vm', target: VM, text: 'x' }), 'not_found', 404);
  await rejects(api(stack, tok.nop1, 'notice.send', { scope: 'all', text: 'x' }), 'forbidden', 403);
  await rejects(api(stack, tok.nop1, 'notice.send', { scope: 'vm', target: 'vgt-n-nope', text: 'x' }), 'not_found', 404);
  await rejects(api(stack, tok.nop2, 'notice.list', { vm: VM }), 'not_found', 404);
  assert.equal(stack.redis('zcard', 'vg:notices'), '0');

  const wsOp2 = await subscriber(tok.nop2);
  const vmn = await api(stack, tok.nop1, 'notice.send', { scope: 'vm', target: VM, text: 'vm notice' });
  const all = await api(stack, admin, 'notice.send', { scope: 'all', text: 'everyone', level: 'critical' });
  await until(() => noticeEvents(wsOp2, all.id).length, 3000, 'the notice to everyone');
  assert.deepEqual((await api(stack, tok.nop2, 'notice.list', {})).notices.map((x) => x.id), [all.id]);
  assert.deepEqual((await api(stack, tok.nview1, 'notice.list', { vm: VM })).notices.map((x) => x.id), [vmn.id, all.id]);
  assert.deepEqual((await api(stack, tok.nview1, 'notice.list', { scope: 'vm' })).notices.map((x) => x.id), [vmn.id]);
  assert.deepEqual(noticeEvents(wsOp2, vmn.id), []);
  // Only administrators cancel a notice to everyone; the operators of a project cancel its notices.
  await rejects(api(stack, tok.nop2, 'notice.cancel', { id: all.id }), 'forbidden', 403);
  await api(stack, admin, 'notice.cancel', { id: all.id });
  await api(stack, admin, 'notice.cancel', { id: vmn.id });
  wsOp2.close();
});

test('a notice expires after ttl_s: gone from Redis, notice.list and notice.get', { timeout: 60000 }, async () => {
  const n = await api(stack, tok.nop1, 'notice.send', { scope: 'project', target: 'pn1', text: 'short', ttl_s: 10 });
  const pttl = Number(stack.redis('pttl', `vg:notice:${n.id}`));
  assert.ok(pttl > 8000 && pttl <= 10000, `pttl ${pttl}`);
  await api(stack, tok.nview1, 'notice.ack', { id: n.id });
  assert.ok(Number(stack.redis('pttl', `vg:notice:${n.id}:acks`)) <= 10000);
  await sleep(10500);
  assert.deepEqual((await api(stack, tok.nview1, 'notice.list', {})).notices, []);
  await rejects(api(stack, tok.nview1, 'notice.get', { id: n.id }), 'not_found', 404);
  await rejects(api(stack, tok.nview1, 'notice.ack', { id: n.id }), 'not_found', 404);
  assert.equal(stack.redis('exists', `vg:notice:${n.id}`, `vg:notice:${n.id}:acks`), '0');
});

test('bad input is refused with bad_request and changes nothing; one user has at most 20 live notices', { timeout: 60000 }, async () => {
  const before = stack.redis('get', 'vg:notice:seq');
  const auditLen = (await api(stack, admin, 'audit.query', { kind: 'notice' })).entries.length;
  const bad = [
    { scope: 'project', target: 'pn1', text: 'escape \u001b]0;pwned\u0007' },
    { scope: 'project', target: 'pn1', text: 'c1 \u0085 control' },
    { scope: 'project', target: 'pn1', text: '' },
    { scope: 'project', target: 'pn1', text: 'x'.repeat(1001) },
    { scope: 'project', text: 'no target' },
    { scope: 'all', target: 'pn1', text: 'target with all' },
    { scope: 'host', target: 'pn1', text: 'x' },
    { scope: 'project', target: 'pn1', text: 'x', level: 'panic' },
    { scope: 'project', target: 'pn1', text: 'x', ttl_s: 5 },
    { scope: 'project', target: 'pn1', text: 'x', ttl_s: '60' },
    { scope: 'project', target: 'pn1', text: 'x', require_ack: 'yes' },
    { scope: 'project', target: '../pn1', text: 'x' },
    { scope: 'project', target: 'pn1', text: 42 },
  ];
  for (const p of bad) await rejects(api(stack, tok.nop1, 'notice.send', p), 'bad_request', 400);
  for (const p of [{ id: '1' }, { id: 0 }, { id: 1.5 }, {}]) {
    await rejects(api(stack, tok.nop1, 'notice.ack', p), 'bad_request', 400);
  }
  await rejects(api(stack, tok.nop1, 'notice.ack', { id: 999999 }), 'not_found', 404);
  await rejects(api(stack, tok.nop1, 'notice.list', { scope: 'x' }), 'bad_request', 400);
  assert.equal(stack.redis('get', 'vg:notice:seq'), before);
  assert.equal((await api(stack, admin, 'audit.query', { kind: 'notice' })).entries.length, auditLen);
  // Line breaks are text.
  const ok = await api(stack, tok.nop1, 'notice.send', { scope: 'project', target: 'pn1', text: 'line 1\nline 2 — ü' });
  assert.equal(ok.text, 'line 1\nline 2 — ü');
  for (let i = 1; i < 20; i++) await api(stack, tok.nop1, 'notice.send', { scope: 'project', target: 'pn1', text: `n${i}` });
  await rejects(api(stack, tok.nop1, 'notice.send', { scope: 'project', target: 'pn1', text: 'one more' }), 'conflict', 409);
  // Others are not held back by nop1's notices.
  await api(stack, admin, 'notice.send', { scope: 'project', target: 'pn1', text: 'admin' });
});
