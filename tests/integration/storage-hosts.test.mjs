// Storage on two hosts and on real network storage (issue 14; docs/storage.md, docs/api.md
// "Storage pools"): an iscsi-direct pool on a `tgt` target (user-space iSCSI, its own portal
// and control socket) with a CHAP secret set through the API, shared by a host group (one
// registry pool, a libvirt pool on each member) — a wrong secret is refused and leaves
// nothing; a shared dir pool on a host group, undone on every host when one refuses; a VM
// booting from a template image (a copy-on-write overlay) with a second, new disk in that
// shared pool, seen by the guest; pool types this host cannot run (no NFS, no LVM, no
// kernel iSCSI initiator) answered `unsupported` with nothing changed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { refused, until } from './lib/wait.mjs';

const IQN = 'iqn.2024-01.org.vmgate.test:lun32';
const INITIATOR = 'iqn.2024-01.org.vmgate.test:hosts';
const CHAP_USER = 'vgchap';
const CHAP_PASS = 'chap-pass-4f1c9a2e';

let stack;
let token;
let tgt; // { proc, port }
const A = (m, p) => api(stack, token, m, p);
const poolsOf = (h) => h.virsh('pool-list', '--all', '--name').split('\n').map((s) => s.trim()).filter(Boolean);

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A tgtd of its own: portal on a free loopback port, control socket derived from that port
// (tgtd takes 0-32767; so it meets no other tgtd), one 32 MiB file LUN, CHAP user CHAP_USER.
async function startTgt(dir) {
  const port = await freePort();
  const control = String(1000 + (port % 30000));
  const lun = path.join(dir, 'lun1.img');
  execFileSync('truncate', ['-s', '32M', lun]);
  const proc = spawn('tgtd', ['-f', '-C', control, '--iscsi', `portal=127.0.0.1:${port}`], { stdio: 'ignore' });
  const adm = (...args) => execFileSync('tgtadm', ['-C', control, '--lld', 'iscsi', ...args], { encoding: 'utf8' });
  await until(() => { try { adm('--mode', 'target', '--op', 'show'); return true; } catch { return false; } }, 10000, 'tgtd');
  adm('--mode', 'target', '--op', 'new', '--tid', '1', '--targetname', IQN);
  adm('--mode', 'logicalunit', '--op', 'new', '--tid', '1', '--lun', '1', '--backing-store', lun);
  adm('--mode', 'account', '--op', 'new', '--user', CHAP_USER, '--password', CHAP_PASS);
  adm('--mode', 'account', '--op', 'bind', '--tid', '1', '--user', CHAP_USER);
  adm('--mode', 'target', '--op', 'bind', '--tid', '1', '--initiator-address', 'ALL');
  return { proc, port, control, adm };
}

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-storh-', hosts: 2 });
  token = await login(stack);
  tgt = await startTgt(stack.dir);
  await A('hostgroup.create', { name: 'both', hosts: stack.hosts.map((h) => h.id) });
});

after(async () => {
  if (tgt) {
    // tgtd -f ignores SIGTERM while it has targets
    tgt.proc.kill('SIGKILL');
    await new Promise((r) => (tgt.proc.exitCode !== null || tgt.proc.signalCode ? r() : tgt.proc.once('exit', r)));
    for (const f of [`socket.${tgt.control}`, `socket.${tgt.control}.lock`]) fs.rmSync(path.join('/var/run/tgtd', f), { force: true });
  }
  await stack?.stop();
});

test('an iscsi-direct pool on a tgt target with a CHAP secret, on every host of a group', async () => {
  const spec = {
    type: 'iscsi-direct',
    source: { host: '127.0.0.1', port: tgt.port, iqn: IQN, initiator: INITIATOR, auth: { username: CHAP_USER, secret: 'tgtchap' } },
  };
  // The wrong CHAP password: the target refuses the login; nothing stays on any host.
  await A('secret.set', { secret: 'tgtchap', value: 'not-the-password', description: 'tgt CHAP' });
  await assert.rejects(A('pool.create', { pool: 'isd', group: 'both', spec }), (e) => {
    assert.match(e.message, /host .*: .*Failed to log in to target. Status: Authentication failure/);
    return true;
  });
  for (const h of stack.hosts) assert.ok(!poolsOf(h).includes('isd'), `no pool left on ${h.id}`);
  assert.equal(stack.redis('exists', 'vg:pool:isd'), '0');

  await A('secret.set', { secret: 'tgtchap', value: CHAP_PASS, description: 'tgt CHAP' });
  const p = await A('pool.create', { pool: 'isd', group: 'both', spec });
  assert.equal(p.type, 'iscsi-direct');
  assert.equal(p.group, 'both');
  assert.deepEqual(p.hosts.map((h) => [h.host, h.state]).sort(), stack.hosts.map((h) => [h.id, 'running']).sort());
  // 32 MiB less tgt's last block: the LUN's size as the target reports it
  assert.ok(p.capacity > 31 << 20 && p.capacity <= 32 << 20, `capacity ${p.capacity}`);
  for (const h of stack.hosts) assert.match(h.virsh('pool-dumpxml', 'isd'), new RegExp(`<auth type='chap' username='${CHAP_USER}'>`));

  const vols = (await A('volume.list', { pool: 'isd' })).volumes;
  const lun = vols.find((v) => v.capacity > 0);
  assert.equal(lun.name, 'unit:0:0:1');
  assert.match(lun.path, new RegExp(`ip-127.0.0.1:${tgt.port}-iscsi-${IQN}-lun-1`));
  // The LUNs are the target's: no volume is made in the pool, none deleted.
  await refused(A('volume.create', { pool: 'isd', volume: 'new.raw', size_mib: 1, format: 'raw' }), 'unsupported', /storage pool does not support volume creation/);

  // A second LUN added on the target shows after a refresh.
  const lun2 = path.join(stack.dir, 'lun2.img');
  execFileSync('truncate', ['-s', '16M', lun2]);
  tgt.adm('--mode', 'logicalunit', '--op', 'new', '--tid', '1', '--lun', '2', '--backing-store', lun2);
  await A('pool.refresh', { pool: 'isd' });
  const names = (await A('volume.list', { pool: 'isd' })).volumes.map((v) => v.name).sort();
  assert.ok(names.includes('unit:0:0:2'), names.join());

  assert.ok((await A('pool.stop', { pool: 'isd' })).hosts.every((h) => h.state === 'inactive'));
  assert.ok((await A('pool.start', { pool: 'isd' })).hosts.every((h) => h.state === 'running'));
  // Deleting the pool leaves the LUNs on the target as they are.
  await A('pool.delete', { pool: 'isd' });
  for (const h of stack.hosts) assert.ok(!poolsOf(h).includes('isd'));
  assert.equal(stack.redis('exists', 'vg:pool:isd'), '0');
  assert.match(tgt.adm('--mode', 'target', '--op', 'show'), /Backing store path: .*lun1\.img/);

  // The CHAP password is in no log and no answer.
  assert.equal(JSON.stringify(await A('secret.list')).includes(CHAP_PASS), false);
  for (const c of ['gateway', 'hostd', 'hostd2']) assert.equal(stack.logs(c).includes(CHAP_PASS), false, `${c}.log`);
  await A('secret.delete', { secret: 'tgtchap' });
});

test('a shared dir pool on a host group: defined on each member, or on none when one refuses', async () => {
  const [h1, h2] = stack.hosts;
  const target = path.join(stack.dir, 'pools', 'sh1');
  // host 2 already has a pool of that name (not vmgate's): the group create is undone on host 1
  fs.mkdirSync(path.join(stack.dir, 'pools', 'other'), { recursive: true });
  h2.virsh('pool-define-as', 'sh1', 'dir', '--target', path.join(stack.dir, 'pools', 'other'));
  await refused(A('pool.create', { pool: 'sh1', group: 'both', spec: { type: 'dir', target } }), 'conflict', new RegExp(`host ${h2.id}: pool sh1 exists`));
  assert.ok(!poolsOf(h1).includes('sh1'), 'undone on host 1');
  assert.equal(stack.redis('exists', 'vg:pool:sh1'), '0');
  h2.virsh('pool-undefine', 'sh1');

  const p = await A('pool.create', { pool: 'sh1', group: 'both', spec: { type: 'dir', target } });
  assert.deepEqual(p.hosts.map((h) => h.host).sort(), [h1.id, h2.id].sort());
  assert.ok(p.hosts.every((h) => h.state === 'running' && h.path === target));
  // the same storage seen from both hosts: a volume made through the API is there on each
  await A('volume.create', { pool: 'sh1', volume: 'shared.qcow2', size_mib: 4 });
  for (const h of [h1, h2]) {
    h.virsh('pool-refresh', 'sh1');
    assert.match(h.virsh('vol-list', 'sh1'), /shared\.qcow2/);
  }
  await A('volume.delete', { pool: 'sh1', volume: 'shared.qcow2' });
});

test('a VM boots from a template image (overlay) with a second, new disk in another pool', { timeout: 180000 }, async () => {
  const vm = 'vgt-storh-tpl';
  const img = await A('image.create', { image: 'base-tpl', pool: stack.pool, volume: 'base.qcow2', kind: 'template', os: 'test guest' });
  assert.equal(img.kind, 'template');
  await A('project.create', { name: 'pstor' });
  const c = await A('vm.create', {
    project: 'pstor',
    spec: stack.guestSpec(vm, { disks: [{ image: `${stack.pool}/base.qcow2` }, { size_mib: 8, pool: 'sh1' }] }),
  });
  const host = stack.hosts.find((h) => h.id === c.host);
  await until(() => stack.redis('hget', `vg:vm:${vm}`, 'state') === 'shutoff', 30000, 'VM defined');
  // disk 0 is an overlay whose backing file is the template, disk 1 a new volume in sh1
  const overlay = host.virsh('vol-dumpxml', '--pool', stack.pool, `${vm}-disk0.qcow2`);
  assert.ok(overlay.includes(`<path>${path.join(stack.poolDir, 'base.qcow2')}</path>`), overlay);
  assert.match(host.virsh('vol-list', 'sh1'), new RegExp(`${vm}-disk1\\.qcow2`));

  await A('vm.start', { vm });
  const con = await openShell(stack, token, { vm, offset: 'end', take: true, ms: 120000 });
  try {
    const mark = con.output.length;
    con.send('cat /proc/partitions; echo END-$((40+2))\n');
    const out = await con.waitFor(/\nEND-42\r?\n/, 20000, { from: mark });
    assert.match(out, /\s65536\s+vda\b/, 'the template-sized overlay');
    assert.match(out, /\s8192\s+vdb\b/, 'the 8 MiB disk from sh1');
  } finally {
    con.close();
  }
  // in use: the new disk's volume and its pool stay
  await refused(A('volume.delete', { pool: 'sh1', volume: `${vm}-disk1.qcow2` }), 'conflict', /in use by running VM/);
  await A('vm.destroy', { vm });
  await until(() => stack.redis('hget', `vg:vm:${vm}`, 'state') === 'shutoff', 30000, 'VM off');
  await A('vm.delete', { vm, disks: true });
  await until(() => stack.redis('exists', `vg:vm:${vm}`) === '0', 30000, 'VM gone');
  assert.ok(fs.existsSync(path.join(stack.poolDir, 'base.qcow2')), 'the template stays');
  await A('pool.delete', { pool: 'sh1' });
  for (const h of stack.hosts) assert.ok(!poolsOf(h).includes('sh1'));
});

test('pool types this host cannot run answer unsupported and change nothing on any host', async () => {
  const before = stack.hosts.map(poolsOf);
  const cases = [
    ['nfs1', { type: 'netfs', target: path.join(stack.dir, 'pools', 'nfs1'), source: { host: '127.0.0.1', dir: '/export' } }, /cannot mount nfs/],
    ['lvm1', { type: 'logical', source: { name: 'vgtest', devices: ['/dev/loop7'] } }, /device-mapper|LVM tools/],
    ['iscsi1', { type: 'iscsi', source: { host: '127.0.0.1', port: tgt.port, iqn: IQN } }, /no iSCSI initiator \(iscsiadm\)/],
  ];
  for (const [pool, spec, re] of cases) {
    await refused(A('pool.create', { pool, host: stack.hostId, spec }), 'unsupported', re);
    await refused(A('pool.create', { pool, group: 'both', spec }), 'unsupported', re);
    assert.equal(stack.redis('exists', `vg:pool:${pool}`), '0');
  }
  assert.deepEqual(stack.hosts.map(poolsOf), before);
  assert.ok(!fs.existsSync(path.join(stack.dir, 'pools', 'nfs1')), 'no mount point made');
});
