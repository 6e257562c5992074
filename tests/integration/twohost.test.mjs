// Two hosts in one stack (the harness for issue 3's placement and migration tests): both hostd
// register with their own link and console directory, every libvirtd has the stack's pool and
// isolated network, a VM defined by hand on host 2 with a pool disk and a NIC registers there and
// answers on its console through the gateway, and a manual live migration (virsh, as in
// reference/test-environment.md §5) moves it to host 1: the registry follows and the console
// works on the new host with the guest's memory intact. The API-driven migration is tested with
// the vm.migrate method.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { login, openShell } from './lib/client.mjs';
import { sleep, until } from './lib/wait.mjs';

const VM = 'vgt-g2h';
let stack;
let token;
let h1;
let h2;

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-twohost-' });
  [h1, h2] = stack.hosts;
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

// An attached, prompt-ready writer on the VM's serial console.
async function attach() {
  const con = await openShell(stack, token, { vm: VM, offset: 'end', take: true });
  assert.equal(con.hello.vm, VM);
  return con;
}

test('both hosts register, each with its own link and console directory', async () => {
  assert.equal(stack.hosts.length, 2);
  assert.equal(h2.id, `${stack.hostId}-2`);
  assert.notEqual(h1.linkPort, h2.linkPort);
  const ids = stack.redis('smembers', 'vg:hosts').split('\n').sort();
  assert.deepEqual(ids, [h1.id, h2.id].sort());
  for (const h of stack.hosts) {
    assert.equal(stack.redis('exists', `vg:host:${h.id}:alive`), '1');
    assert.equal(stack.redis('hget', `vg:host:${h.id}`, 'link'), `wss://127.0.0.1:${h.linkPort}`);
  }
  // console_dir and libvirt_uri are published by hostds that know them (contract §2); give a
  // heartbeat to publish them, and check them where they are.
  await sleep(2500);
  for (const h of stack.hosts) {
    const fields = stack.redis('hmget', `vg:host:${h.id}`, 'console_dir', 'libvirt_uri');
    const [dir, uri] = fields.split('\n');
    if (dir) assert.equal(dir, h.consolesDir);
    else console.log(`${h.id}: hostd does not publish console_dir`);
    if (uri) assert.equal(uri, h.libvirtUri);
    else console.log(`${h.id}: hostd does not publish libvirt_uri`);
  }
});

test("every host's libvirtd has the shared pool with its images and the isolated network", () => {
  const bridges = new Set();
  for (const h of stack.hosts) {
    const pool = h.virsh('pool-dumpxml', stack.pool);
    assert.match(pool, new RegExp(`<path>${stack.poolDir}</path>`));
    assert.match(h.virsh('pool-info', stack.pool), /State:\s+running/);
    const vols = h.virsh('vol-list', stack.pool);
    assert.match(vols, /base\.qcow2/);
    assert.match(vols, /tools\.iso/);
    const net = h.virsh('net-dumpxml', stack.network);
    assert.doesNotMatch(net, /<forward|<ip/, 'isolated: no forward, no address, no dnsmasq');
    assert.match(h.virsh('net-info', stack.network), /Active:\s+yes/);
    const bridge = net.match(/<bridge name='([^']+)'/)[1];
    assert.ok(bridge.length <= 15, bridge);
    bridges.add(bridge);
  }
  assert.equal(bridges.size, 2, 'each host has its own bridge');
  const info = h1.virsh('vol-info', '--pool', stack.pool, 'base.qcow2');
  assert.match(info, /Capacity:\s+64\.00 MiB/);
  assert.ok(fs.statSync(path.join(stack.poolDir, 'tools.iso')).size > 0);
});

test('a VM defined on host 2 with a pool disk and a NIC registers under host 2', async () => {
  h2.virsh('vol-create-as', stack.pool, `${VM}.qcow2`, '64M', '--format', 'qcow2');
  const xml = path.join(stack.dir, `${VM}.xml`);
  fs.writeFileSync(xml, stack.guestXml(VM, h2.consolesDir, {
    spec: { disks: [{ volume: `${stack.pool}/${VM}.qcow2` }], nics: [{ network: stack.network }] },
    disks: [`qcow2:${path.join(stack.poolDir, `${VM}.qcow2`)}`],
  }));
  h2.virsh('define', xml);
  h2.virsh('start', VM);
  await until(() =>
    stack.redis('hget', `vg:vm:${VM}`, 'host') === h2.id &&
    stack.redis('hget', `vg:vm:${VM}`, 'state') === 'running', 15000, `${VM} registered under ${h2.id}`);
  assert.equal(stack.redis('sismember', `vg:host:${h2.id}:vms`, VM), '1');
  assert.equal(stack.redis('sismember', `vg:host:${h1.id}:vms`, VM), '0');
  const serial = stack.redis('hget', `vg:vm:${VM}:consoles`, 'serial0');
  assert.equal(serial, path.join(h2.consolesDir, `com-${VM}.sock`));
});

test('its console works through the gateway; the guest sees the disk and the NIC', async () => {
  const con = await attach();
  assert.match(await con.run('echo hello-$((6*7))', /hello-42\r?\n/), /\nhello-42\r?\n/);
  // 64 MiB in 512-byte sectors.
  assert.match(await con.run('cat /sys/block/vda/size', /\d+\r?\n/), /\n131072\r?\n/);
  const mac = h2.virsh('domiflist', VM).match(/([0-9a-f]{2}(?::[0-9a-f]{2}){5})/)[1];
  const addr = await con.run('cat /sys/class/net/eth0/address', /([0-9a-f]{2}:){5}[0-9a-f]{2}\r?\n/);
  assert.match(addr, new RegExp(mac));
  // Guest memory that must survive the migration.
  await con.run('echo mark-$((3*7)) > /tmp/mark; echo MARKED', /MARKED\r?\n/);
  await con.close();
});

test('a manual live migration to host 1 moves the registry entry and the console', async () => {
  // Host 1's libvirtd learns of the volume host 2 created in the shared pool.
  h1.virsh('pool-refresh', stack.pool);
  const xml = h2
    .virsh('dumpxml', '--migratable', VM)
    .replaceAll(`${h2.consolesDir}/`, `${h1.consolesDir}/`);
  const file = path.join(stack.dir, `${VM}-to-h1.xml`);
  fs.writeFileSync(file, xml);
  // --unsafe: libvirt sees a local file system and cannot tell that the pool directory is the
  // very same one on both "hosts".
  const t0 = Date.now();
  h2.virsh('migrate', '--live', '--unsafe', '--persistent', '--undefinesource', '--xml', file, VM,
    h1.libvirtUri);
  console.log(`virsh migrate took ${Date.now() - t0} ms`);
  assert.match(h1.virsh('domstate', VM), /running/);
  assert.doesNotMatch(h2.virsh('list', '--all', '--name'), new RegExp(VM));

  await until(() =>
    stack.redis('hget', `vg:vm:${VM}`, 'host') === h1.id, 15000, `${VM} registered under ${h1.id}`);
  await until(() =>
    stack.redis('sismember', `vg:host:${h2.id}:vms`, VM) === '0', 15000, `${VM} gone from ${h2.id}`);
  assert.equal(stack.redis('sismember', `vg:host:${h1.id}:vms`, VM), '1');
  assert.equal(stack.redis('sismember', 'vg:vms', VM), '1');
  await until(() =>
    stack.redis('hget', `vg:vm:${VM}:consoles`, 'serial0') === path.join(h1.consolesDir, `com-${VM}.sock`), 15000, `${VM}'s console in ${h1.consolesDir}`);

  const con = await attach();
  assert.match(await con.run('cat /tmp/mark', /mark-\d+\r?\n/), /\nmark-21\r?\n/);
  assert.match(await con.run('echo hello-$((6*7))', /hello-42\r?\n/), /\nhello-42\r?\n/);
  await con.close();
});

test("--restart hostd2 restarts the second host's hostd only", async () => {
  const before = stack.redis('hget', `vg:host:${h2.id}`, 'started_ms');
  const pid1 = fs.readFileSync(path.join(stack.dir, 'run/hostd.pid'), 'utf8');
  await stack.restart('hostd2');
  await until(() =>
    stack.redis('hget', `vg:host:${h2.id}`, 'started_ms') !== before, 10000, `${h2.id} re-registered`);
  assert.equal(stack.redis('exists', `vg:host:${h2.id}:alive`), '1');
  assert.equal(fs.readFileSync(path.join(stack.dir, 'run/hostd.pid'), 'utf8'), pid1);
  assert.match(stack.logs('hostd2'), new RegExp(`registered as host ${h2.id}`));
});
