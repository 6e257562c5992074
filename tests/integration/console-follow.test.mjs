// A console viewer follows its VM through a live migration (issue 3 §7, docs/protocol.md
// "Migration"): the browser's WebSocket stays open, a `state` frame says where the VM went, the
// output stream stays contiguous (offsets rewritten, no second hello), what is typed during the
// move reaches the guest after it, and the guest's memory came along.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-d-mig';
let stack;
let token;
let h1;
let h2;

before(async () => {
  stack = await startStack({ vms: [VM], hosts: 2, prefix: 'vgt-d-follow-' });
  [h1, h2] = stack.hosts;
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

// Live migration by hand (reference/test-environment.md §5): console sockets move to the
// destination's console directory.
function migrate(from, to) {
  const xml = from.virsh('dumpxml', '--migratable', VM).replaceAll(`${from.consolesDir}/`, `${to.consolesDir}/`);
  const file = path.join(stack.dir, `${VM}-to-${to.id}.xml`);
  fs.writeFileSync(file, xml);
  from.virsh('migrate', '--live', '--unsafe', '--persistent', '--undefinesource', '--xml', file, VM, to.libvirtUri);
}

function movedTo(con, host) {
  return con.controls.find((m) => m.type === 'state' && m.connected === true && m.reason === `migrated to ${host}`);
}

let con;

test('a viewer attached before a manual migration keeps its WebSocket and its contiguous stream', { timeout: 240000 }, async () => {
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'host') === h1.id, 30000, `${VM} registered on ${h1.id}`);
  con = await openShell(stack, token, { vm: VM, offset: 'end', take: true });
  await con.run('echo mark-$((3*7)) > /tmp/mark; echo MARKED', /MARKED\r?\n/);

  const mark = con.controls.length;
  migrate(h1, h2);
  // Typed while the console is between hosts (hostd said the socket is gone): the gateway
  // queues it and delivers it once the link to the new host is up.
  await until(() =>
    con.controls.slice(mark).find((m) => m.type === 'state'), 15000, 'the old host lets go of the console');
  const during = !movedTo(con, h2.id);
  con.send('echo after-$((5*5))\n');
  console.log(`typed ${during ? 'during' : 'after'} the move`);
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'host') === h2.id, 15000, `${VM} registered on ${h2.id}`);
  await con.waitFor(/after-25\r?\n/, 30000);
  assert.equal(con.ws.readyState, WebSocket.OPEN, 'the browser connection stayed open');
  assert.ok(movedTo(con, h2.id), `a state frame names the new host: ${JSON.stringify(con.controls)}`);
  assert.equal(con.controls.filter((m) => m.type === 'hello').length, 1, 'no second hello');
  assert.deepEqual(con.gaps, [], 'the stream stayed contiguous');
  assert.match(await con.run('cat /tmp/mark', /mark-\d+\r?\n/), /\nmark-21\r?\n/);
  assert.match(await con.run('echo hello-$((6*7))', /hello-42\r?\n/), /\nhello-42\r?\n/);

  const audit = stack.redis('xrange', 'vg:audit', '-', '+');
  assert.match(audit, /console\nuser\nadmin/);
  assert.match(audit, /attach/);
  assert.match(audit, /dev=serial0 mode=rw/);
});

test('vm.migrate through the API: the viewer follows the VM back (vm.migrated)', { timeout: 240000 }, async () => {
  const before = con.controls.length;
  await api(stack, token, 'vm.migrate', { vm: VM, host: h1.id });
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'host') === h1.id, 30000, `${VM} back on ${h1.id}`);
  await until(() =>
    con.controls.slice(before).find((m) => m.type === 'state' && m.reason === `migrated to ${h1.id}`), 30000, 'the state frame of the second move');
  assert.match(await con.run('echo back-$((4*4))', /back-16\r?\n/, 30000), /\nback-16\r?\n/);
  assert.match(await con.run('cat /tmp/mark', /mark-\d+\r?\n/), /\nmark-21\r?\n/);
  assert.deepEqual(con.gaps, []);
  assert.equal(con.ws.readyState, WebSocket.OPEN);
  await con.close();
  // Detach is on record once the connection has gone.
  await until(() => /detach/.test(stack.redis('xrange', 'vg:audit', '-', '+')), 5000, 'detach audited');
});
