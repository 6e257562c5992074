// hostd's management RPC (docs/protocol.md §4), driven directly on GET /link/api the way the
// gateway's hostrpc.c does: mutual TLS with the gateway's certificate, the X-Vmgate-Link secret,
// one JSON request per text message. Covers vm.define from a spec with a NEW qcow2 disk in the
// stack's pool, the lifecycle (M5), internal snapshots (M6), undefine with disks, the error
// codes, and live migration between the stack's two hosts (M7).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack } from './lib/stack.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-bapi';
let stack;

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-hostd-api-' });
});

after(async () => {
  await stack?.stop();
});

// One /link/api connection; call() sends a request and resolves its answer message.
async function link(host = stack.hosts[0], { secret, cert = true } = {}) {
  const opts = {
    ca: fs.readFileSync(stack.caFile),
    headers: { 'X-Vmgate-Link': secret ?? fs.readFileSync(path.join(stack.dir, 'link-secret'), 'utf8').trim() },
    maxPayload: 64 << 20,
  };
  if (cert) {
    opts.cert = fs.readFileSync(path.join(stack.dir, 'certs/gateway.pem'));
    opts.key = fs.readFileSync(path.join(stack.dir, 'certs/gateway.key'));
  }
  const ws = new WebSocket(`wss://127.0.0.1:${host.linkPort}/link/api`, 'vmgate.link.api.v1', opts);
  const waiting = new Map();
  const stray = [];
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    const w = waiting.get(msg.id);
    if (w) {
      waiting.delete(msg.id);
      w(msg);
    } else {
      stray.push(msg);
    }
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', (code) => reject(new Error(`link closed with ${code} before it opened`)));
  });
  let next = 1;
  return {
    ws,
    stray,
    closed,
    send(text) {
      ws.send(text);
    },
    call(method, params) {
      const id = next++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    // Resolves the result; throws an Error carrying .code for an error answer.
    async ok(method, params) {
      const m = await this.call(method, params);
      if (m.error) {
        const e = new Error(`${method}: ${m.error.code}: ${m.error.message}`);
        e.code = m.error.code;
        throw e;
      }
      return m.result;
    },
    async fails(method, params, code) {
      const m = await this.call(method, params);
      assert.ok(m.error, `${method} ${JSON.stringify(params)} should fail with ${code}`);
      assert.equal(m.error.code, code, `${method}: ${m.error.message}`);
      assert.ok(m.error.message.length > 0);
      return m.error.message;
    },
    close() {
      ws.close();
    },
  };
}

// The shell prompt in the serial console's durable log: the guest has booted (and acpid runs).
async function booted(vm, host = stack.hosts[0]) {
  const log = path.join(host.consolesDir, `com-${vm}.log`);
  await until(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('testvm# '), 60000, `${vm} to boot`, 200);
}

const spec = (name) => stack.guestSpec(name, { disks: [{ size_mib: 16, format: 'qcow2', pool: stack.pool }] });

test('host.info reports capacity, load, pools and networks; the registry has them too', async () => {
  const l = await link();
  const info = await l.ok('host.info', {});
  l.close();
  assert.ok(info.cpus >= 1 && info.mem_mib > 0 && info.disk_mib > 0, JSON.stringify(info));
  for (const k of ['cpu_pct', 'mem_pct', 'net_mbps']) assert.equal(typeof info[k], 'number', k);
  assert.ok(info.mem_pct > 0 && info.mem_pct <= 100);
  const pool = info.pools.find((p) => p.name === stack.pool);
  assert.ok(pool?.active && pool.path === stack.poolDir && pool.capacity_mib > 0, JSON.stringify(info.pools));
  assert.ok(info.networks.some((n) => n.name === stack.network), JSON.stringify(info.networks));
  const h = stack.hosts[0];
  await until(() => stack.redis('hget', `vg:host:${h.id}`, 'console_dir') === h.consolesDir, 10000, 'console_dir');
  assert.equal(stack.redis('hget', `vg:host:${h.id}`, 'libvirt_uri'), h.libvirtUri);
  assert.ok(Number(stack.redis('hget', `vg:host:${h.id}`, 'cpus')) >= 1);
  assert.ok(Number(stack.redis('hget', `vg:host:${h.id}`, 'disk_mib')) > 0);
  assert.ok(Number(stack.redis('hget', `vg:host:${h.id}`, 'heartbeat_interval_ms')) > 0);
  for (const k of ['mem_pct', 'cpu_pct', 'net_mbps']) assert.notEqual(stack.redis('hget', `vg:host:${h.id}`, k), '', k);
});

test('bad requests get error answers with stable codes and the connection stays usable', async () => {
  const l = await link();
  l.send('not json');
  l.send(JSON.stringify({ id: 'x', method: 'host.info' }));
  l.send(JSON.stringify({ id: 7, method: 'vm.start', params: [1] }));
  await until(() => l.stray.length === 3, 5000, 'three error answers');
  assert.deepEqual(l.stray.map((m) => [m.id, m.error.code]), [[null, 'bad_request'], [null, 'bad_request'], [7, 'bad_request']]);
  await l.fails('vm.frobnicate', {}, 'unknown');
  await l.fails('vm.start', {}, 'bad_request');
  await l.fails('vm.start', { vm: 5 }, 'bad_request');
  await l.fails('vm.start', { vm: '../etc' }, 'bad_request');
  assert.match(await l.fails('vm.start', { vm: 'vgt-nope' }, 'not_found'), /vgt-nope/);
  await l.fails('vm.shutdown', { vm: 'vgt-nope', timeout_s: -1 }, 'bad_request');
  await l.fails('vm.undefine', { vm: 'vgt-nope', disks: 'yes' }, 'bad_request');
  await l.fails('vm.cdrom', { vm: 'vgt-nope' }, 'bad_request');
  await l.fails('vm.define', { spec: { name: 'vgt-bad', vcpus: 'two' } }, 'bad_request');
  await l.fails('vm.define', { spec: { ...spec('vgt-bad'), disks: [{ size_mib: 16, pool: 'nopool' }] } }, 'not_found');
  await l.fails('vm.migrate', { vm: 'vgt-nope', dest_uri: 'qemu:///x', dest_console_dir: 'relative' }, 'bad_request');
  await l.fails('snapshot.revert', { vm: 'vgt-nope', name: 's1' }, 'not_found');
  assert.ok((await l.ok('host.info', {})).cpus >= 1);
  l.close();
});

test('a message over 256 KiB closes the connection with 1009', async () => {
  const l = await link();
  l.send(JSON.stringify({ id: 1, method: 'host.info', params: { pad: 'x'.repeat(300 * 1024) } }));
  assert.equal(await l.closed, 1009);
});

test('a wrong link secret is refused with 4001', async () => {
  const ws = new WebSocket(`wss://127.0.0.1:${stack.hosts[0].linkPort}/link/api`, 'vmgate.link.api.v1', {
    ca: fs.readFileSync(stack.caFile),
    cert: fs.readFileSync(path.join(stack.dir, 'certs/gateway.pem')),
    key: fs.readFileSync(path.join(stack.dir, 'certs/gateway.key')),
    headers: { 'X-Vmgate-Link': 'wrong' },
  });
  ws.on('error', () => {});
  const msgs = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
  const code = await new Promise((resolve) => ws.on('close', resolve));
  assert.equal(code, 4001);
  assert.equal(msgs[0]?.code, 'unauthorized');
});

test('define, start, probe, suspend/resume, snapshots, shutdown and undefine with disks', { timeout: 240000 }, async () => {
  const l = await link();
  const vol = `${VM}-disk0.qcow2`;
  const def = await l.ok('vm.define', { spec: spec(VM) });
  assert.equal(def.name, VM);
  assert.match(def.uuid, /^[0-9a-f-]{36}$/);
  assert.ok(def.xml.includes(path.join(stack.poolDir, vol)), 'the domain uses the new volume');
  assert.ok(def.xml.includes(path.join(stack.hosts[0].consolesDir, `com-${VM}.sock`)));
  assert.ok(stack.virsh('vol-list', stack.pool).includes(vol));
  assert.match(await l.fails('vm.define', { spec: spec(VM) }, 'conflict'), /already exists/);

  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'state') === 'shutoff', 10000, 'registry entry');
  assert.equal(stack.redis('hget', `vg:vm:${VM}`, 'vcpus'), '1');
  assert.equal(stack.redis('hget', `vg:vm:${VM}`, 'memory_mib'), '128');
  assert.equal(stack.redis('hget', `vg:vm:${VM}`, 'autostart'), '0');
  assert.deepEqual(await l.ok('vm.autostart', { vm: VM, autostart: true }), {});
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'autostart') === '1', 10000, 'autostart in the registry');
  await l.ok('vm.autostart', { vm: VM, autostart: false });
  await l.fails('vm.autostart', { vm: VM }, 'bad_request');

  // Not running yet: the probe has no console to talk to.
  assert.deepEqual(await l.ok('vm.start', { vm: VM }), { state: 'running' });
  assert.match(await l.fails('vm.start', { vm: VM }, 'conflict'), /already running/);
  assert.match(await l.fails('vm.define', { spec: spec(VM), uuid: def.uuid }, 'conflict'), /while it is off/);
  await l.fails('vm.undefine', { vm: VM, disks: true }, 'conflict');

  // The guest answers "\r" with a prompt once it has booted (~6 s under TCG).
  await until(async () => (await l.ok('vm.probe', { vm: VM, timeout_ms: 1000 })).reachable, 60000, 'the guest to answer', 500);
  await l.fails('vm.probe', { vm: VM, dev: 'nodev' }, 'not_found');

  assert.deepEqual(await l.ok('vm.suspend', { vm: VM }), { state: 'paused' });
  assert.deepEqual(await l.ok('vm.probe', { vm: VM, timeout_ms: 700 }), { reachable: false });
  assert.deepEqual(await l.ok('vm.resume', { vm: VM }), { state: 'running' });
  await until(async () => (await l.ok('vm.probe', { vm: VM, timeout_ms: 1000 })).reachable, 10000, 'the guest after resume', 200);
  // A reset reboots the guest: it answers again once it has booted.
  assert.deepEqual(await l.ok('vm.reset', { vm: VM }), { state: 'running' });
  await until(async () => (await l.ok('vm.probe', { vm: VM, timeout_ms: 1000 })).reachable, 60000, 'the guest after reset', 500);

  // Several requests in flight on one connection: a long snapshot and a quick host.info.
  const [snap, info] = await Promise.all([
    l.ok('snapshot.create', { vm: VM, name: 's1', description: 'before <tests> & "quotes"' }),
    l.ok('host.info', {}),
  ]);
  assert.deepEqual(snap, { name: 's1', parent: null });
  assert.ok(info.cpus >= 1);
  await l.fails('snapshot.create', { vm: VM, name: 's1' }, 'conflict');
  await l.fails('snapshot.create', { vm: VM, name: 'bad name' }, 'bad_request');
  assert.deepEqual(await l.ok('snapshot.create', { vm: VM, name: 's2' }), { name: 's2', parent: 's1' });
  const list = (await l.ok('snapshot.list', { vm: VM })).snapshots.sort((a, b) => a.name.localeCompare(b.name));
  assert.deepEqual(list.map((s) => [s.name, s.parent, s.state, s.external, s.current]), [
    ['s1', null, 'running', false, false],
    ['s2', 's1', 'running', false, true],
  ]);
  assert.ok(list[0].created_s > 1700000000);
  assert.deepEqual(await l.ok('snapshot.revert', { vm: VM, name: 's1' }), {});
  await l.fails('snapshot.revert', { vm: VM, name: 'nope' }, 'not_found');
  assert.equal((await l.ok('snapshot.list', { vm: VM })).snapshots.find((s) => s.current).name, 's1');
  assert.deepEqual(await l.ok('snapshot.delete', { vm: VM, name: 's1', children: true }), {});
  assert.deepEqual((await l.ok('snapshot.list', { vm: VM })).snapshots, []);
  await until(async () => (await l.ok('vm.probe', { vm: VM, timeout_ms: 1000 })).reachable, 20000, 'the guest after revert', 200);

  // Managed save and restore.
  assert.deepEqual(await l.ok('vm.save', { vm: VM }), { state: 'shutoff' });
  await l.fails('vm.save', { vm: VM }, 'conflict');
  assert.deepEqual(await l.ok('vm.restore', { vm: VM }), { state: 'running' });
  await l.fails('vm.restore', { vm: VM }, 'conflict');

  // The busybox guest powers off on ACPI (acpid); a zero timeout forces it at once.
  const t0 = Date.now();
  const off = await l.ok('vm.shutdown', { vm: VM, timeout_s: 0 });
  assert.deepEqual(off, { state: 'shutoff', forced: true });
  assert.ok(Date.now() - t0 < 10000);
  await l.fails('vm.shutdown', { vm: VM }, 'conflict');
  const xml = await l.ok('vm.xml', { vm: VM, inactive: true });
  assert.ok(xml.xml.startsWith('<domain'));

  // Redefinition (an edit) with the same uuid keeps the disk's volume and its data.
  const before = fs.statSync(path.join(stack.poolDir, vol)).ino;
  const edited = await l.ok('vm.define', { spec: { ...spec(VM), vcpus: 2 }, uuid: def.uuid });
  assert.equal(edited.uuid, def.uuid);
  assert.match(edited.xml, /<vcpu[^>]*>2<\/vcpu>/);
  assert.equal(fs.statSync(path.join(stack.poolDir, vol)).ino, before);
  await until(() => stack.redis('hget', `vg:vm:${VM}`, 'vcpus') === '2', 10000, 'vcpus 2 in the registry');
  await l.fails('vm.define', { spec: spec(VM), uuid: '00000000-0000-4000-8000-000000000000' }, 'conflict');

  const gone = await l.ok('vm.undefine', { vm: VM, disks: true });
  assert.deepEqual(gone.deleted, [path.join(stack.poolDir, vol)]);
  assert.ok(!stack.virsh('vol-list', stack.pool).includes(vol), 'the volume is gone');
  assert.ok(!fs.existsSync(path.join(stack.poolDir, vol)));
  assert.ok(!stack.virsh('list', '--all', '--name').includes(VM));
  // The pool's shared images stay.
  assert.ok(fs.existsSync(path.join(stack.poolDir, 'base.qcow2')));
  await l.fails('vm.xml', { vm: VM }, 'not_found');
  await until(() => stack.redis('exists', `vg:vm:${VM}`) === '0', 10000, 'registry entry removed');
  l.close();
});

test('graceful shutdown answers forced=false when the guest powers off by itself', { timeout: 120000 }, async () => {
  const l = await link();
  const vm = 'vgt-bapi-sd';
  await l.ok('vm.define', { spec: { ...spec(vm), disks: [] } });
  await l.ok('vm.start', { vm });
  await booted(vm);
  const off = await l.ok('vm.shutdown', { vm, timeout_s: 30 });
  assert.deepEqual(off, { state: 'shutoff', forced: false });
  await l.ok('vm.undefine', { vm, disks: true });
  l.close();
});

test('a disk from an image is a qcow2 overlay; define failures remove the volumes they made', async () => {
  const l = await link();
  const vm = 'vgt-bapi-img';
  const def = await l.ok('vm.define', {
    spec: { ...spec(vm), disks: [{ image: `${stack.pool}/base.qcow2` }], cdrom: { media: `${stack.pool}/tools.iso` } },
  });
  const vol = stack.virsh('vol-dumpxml', '--pool', stack.pool, `${vm}-disk0.qcow2`);
  assert.ok(vol.includes(`<path>${path.join(stack.poolDir, 'base.qcow2')}</path>`), vol);
  assert.ok(def.xml.includes('tools.iso'));
  assert.deepEqual(await l.ok('vm.cdrom', { vm, media: null }), { media: null });
  assert.ok(!(await l.ok('vm.xml', { vm, inactive: true })).xml.includes('tools.iso'));
  assert.deepEqual(await l.ok('vm.cdrom', { vm, media: `${stack.pool}/tools.iso` }), { media: `${stack.pool}/tools.iso` });
  await l.fails('vm.cdrom', { vm, media: 'nopool' }, 'bad_request');
  // A disk-only snapshot is an external overlay; libvirt 9.0 cannot revert to it.
  assert.deepEqual(await l.ok('snapshot.create', { vm, name: 'ext', disk_only: true }), { name: 'ext', parent: null });
  const [ext] = (await l.ok('snapshot.list', { vm })).snapshots;
  assert.equal(ext.external, true);
  assert.match(await l.fails('snapshot.revert', { vm, name: 'ext' }, 'bad_request'), /external/);
  // Undefine with disks takes the overlay and the VM's own volume under it, never the image.
  const gone = (await l.ok('vm.undefine', { vm, disks: true })).deleted.sort();
  assert.deepEqual(gone, [path.join(stack.poolDir, `${vm}-disk0.ext`), path.join(stack.poolDir, `${vm}-disk0.qcow2`)]);
  assert.ok(fs.existsSync(path.join(stack.poolDir, 'base.qcow2')), 'the image stays');

  // The second disk names a volume that does not exist: the first disk's new volume goes again.
  const bad = 'vgt-bapi-bad';
  await l.fails('vm.define', {
    spec: { ...spec(bad), disks: [{ size_mib: 8, pool: stack.pool }, { volume: `${stack.pool}/missing.qcow2` }] },
  }, 'not_found');
  assert.ok(!stack.virsh('vol-list', stack.pool).includes(`${bad}-disk0`));
  l.close();
});

test('live migration to the second host: registry follows, the console answers there', { timeout: 180000 }, async () => {
  const [h1, h2] = stack.hosts;
  const l = await link(h1);
  const vm = 'vgt-bapi-mig';
  await l.ok('vm.define', { spec: spec(vm) });
  await l.ok('vm.start', { vm });
  await until(async () => (await l.ok('vm.probe', { vm, timeout_ms: 1000 })).reachable, 60000, 'the guest to answer', 500);
  // A viewer of the source's console: it is closed with 4004 once the VM has left.
  const viewer = new WebSocket(`wss://127.0.0.1:${h1.linkPort}/link/console?vm=${vm}&mode=ro&user=t`, 'vmgate.console.v1', {
    ca: fs.readFileSync(stack.caFile),
    cert: fs.readFileSync(path.join(stack.dir, 'certs/gateway.pem')),
    key: fs.readFileSync(path.join(stack.dir, 'certs/gateway.key')),
    headers: { 'X-Vmgate-Link': fs.readFileSync(path.join(stack.dir, 'link-secret'), 'utf8').trim() },
  });
  viewer.on('error', () => {});
  const viewerClosed = new Promise((resolve) => viewer.on('close', resolve));
  await new Promise((resolve) => viewer.once('open', resolve));
  const destUri = stack.redis('hget', `vg:host:${h2.id}`, 'libvirt_uri');
  const destDir = stack.redis('hget', `vg:host:${h2.id}`, 'console_dir');
  assert.equal(destUri, h2.libvirtUri);
  assert.deepEqual(await l.ok('vm.migrate', { vm, dest_uri: destUri, dest_console_dir: destDir }), {});
  l.close();
  assert.equal(await viewerClosed, 4004);
  assert.ok(!h1.virsh('list', '--all', '--name').includes(vm), 'undefined on the source');
  assert.ok(h2.virsh('list', '--name').includes(vm), 'running on the destination');
  assert.ok(h2.virsh('dumpxml', '--inactive', vm).includes(path.join(destDir, `com-${vm}.sock`)), 'persistent there');
  await until(() => stack.redis('hget', `vg:vm:${vm}`, 'host') === h2.id, 10000, 'the registry to follow');
  const l2 = await link(h2);
  await until(async () => (await l2.ok('vm.probe', { vm, timeout_ms: 1000 })).reachable, 20000, 'the console on host 2', 300);
  await l2.fails('vm.migrate', { vm: 'vgt-nope', dest_uri: h1.libvirtUri, dest_console_dir: h1.consolesDir }, 'not_found');
  await l2.ok('vm.destroy', { vm });
  // The volume was made by host 1 in the pool directory both hosts share.
  const disk = path.join(stack.poolDir, `${vm}-disk0.qcow2`);
  assert.deepEqual((await l2.ok('vm.undefine', { vm, disks: true })).deleted, [disk]);
  assert.ok(!fs.existsSync(disk));
  l2.close();
  const l1 = await link(h1);
  await l1.fails('vm.probe', { vm }, 'not_found');
  l1.close();
});
