// The VM manager end to end (issue 3 "Done when"), on two hosts, all through the JSON API and
// once through vmgatectl, each step checked against the answer AND what redis-cli (and virsh)
// show: an administrator makes a project with quotas and an operator; the operator creates a VM
// with a new qcow2 disk, a NIC on the stack's network and a CD-ROM, starts it (a subscribed
// client sees vm.state within 1 s), reaches its console and sees the devices in the guest,
// snapshots it, changes it, reverts (the change is gone); placement picks the least-loaded
// host, skips hosts in maintenance or without room and says why when none fits; the
// administrator migrates the VM to the other host while a viewer keeps typing on the same
// WebSocket; the operator shuts it down and deletes it with its disks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { startStack, REPO } from './lib/stack.mjs';
import { api, apiWs, login, openConsole } from './lib/client.mjs';
import { refused, sleep, until } from './lib/wait.mjs';

const P = 'pi-mgr';
const OP = 'vgt-i-op';
const OP_PW = 'operator-password-i1';
const VM = 'vgt-i-main';
const DISK = `${VM}-disk0.qcow2`;
const CTL = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/vmgatectl/vmgatectl');
const QUOTAS = { instances: 3, vcpus: 4, memory_mib: 1024, disk_mib: 1024, images: -1, snapshots: 2 };

let stack;
let admin; // administrator's token
let op; // operator's token
let h1; // the host the VM starts on
let h2; // the other one
let con; // the operator's console on the VM, kept open from boot to shutdown

const vmKey = (field, vm = VM) => stack.redis('hget', `vg:vm:${vm}`, field);
const defKey = (field, vm = VM) => stack.redis('hget', `vg:vmdef:${vm}`, field);
const USAGE = ['instances', 'vcpus', 'memory_mib', 'disk_mib', 'images', 'snapshots'];
// The project's usage counters (absent = 0).
const usage = () => {
  const v = stack.redis('hmget', `vg:project:${P}:usage`, ...USAGE).split('\n');
  return Object.fromEntries(USAGE.map((k, i) => [k, Number(v[i] || 0)]));
};

const spec = (name, extra) => stack.guestSpec(name, extra);

// Types cmd on the console and resolves the output that follows once it has run: a marker
// the guest computes ($((k+1))), so the echo of the typed line never matches it.
let marks = 0;
async function run(cmd, ms = 20000) {
  const k = (marks += 2);
  const mark = con.output.length;
  con.send(`${cmd}; echo END-$((${k}+1))\n`);
  return con.waitFor(new RegExp(`\\nEND-${k + 1}\\r?\\n`), ms, { from: mark });
}

function ctl(args, user, password) {
  return new Promise((resolve) => {
    const env = {
      ...process.env,
      VMGATE_URL: stack.url,
      VMGATE_USER: user,
      VMGATE_PASSWORD: password,
      VMGATE_CA: stack.caFile,
    };
    execFile(CTL, args, { env, timeout: 120000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// The volumes of the stack's pool as host n's libvirt sees them after a refresh.
function volumes(host) {
  host.virsh('pool-refresh', stack.pool);
  return host.virsh('vol-list', stack.pool);
}

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-i-mgr-' });
  admin = await login(stack);
  await until(() =>
    stack.hosts.every((h) => stack.redis('exists', `vg:host:${h.id}:alive`) === '1'), 30000, 'both hosts up');
});

after(async () => {
  con?.close();
  await stack?.stop();
});

test('an administrator makes a project with quotas and an operator member', { timeout: 60000 }, async () => {
  assert.deepEqual(await api(stack, admin, 'project.create', { name: P, description: 'manager scenario', quotas: QUOTAS }), {});
  assert.equal(stack.redis('sismember', 'vg:projects', P), '1');
  assert.equal(stack.redis('hget', `vg:project:${P}`, 'q_instances'), '3');
  assert.equal(stack.redis('hget', `vg:project:${P}`, 'q_snapshots'), '2');
  assert.equal(stack.redis('hget', `vg:project:${P}`, 'active'), '1');
  assert.deepEqual(await api(stack, admin, 'user.create', { name: OP, password: OP_PW, role: 'operator' }), {});
  assert.equal(stack.redis('hget', `vg:user:${OP}`, 'role'), 'operator');
  assert.deepEqual(await api(stack, admin, 'project.member.set', { project: P, user: OP, role: 'operator' }),
    { previous_role: '' });
  assert.equal(stack.redis('hget', `vg:project:${P}:members`, OP), 'operator');
  assert.equal(stack.redis('sismember', `vg:user:${OP}:projects`, P), '1');

  op = await login(stack, OP, OP_PW);
  assert.deepEqual(await api(stack, op, 'whoami'), { user: OP, role: 'operator' });
  const proj = await api(stack, op, 'project.get', { project: P });
  assert.equal(proj.role, 'operator');
  assert.deepEqual(proj.quota, QUOTAS);
  // An operator is no administrator.
  await refused(api(stack, op, 'host.set', { host: stack.hosts[0].id, maintenance: true }), 'forbidden');
  assert.equal(stack.redis('hget', `vg:host:${stack.hosts[0].id}`, 'maintenance') || '0', '0');
});

test('the operator creates a VM with a new qcow2 disk, a NIC and a CD-ROM (vmgatectl)', { timeout: 120000 }, async () => {
  const file = path.join(stack.dir, `${VM}.json`);
  fs.writeFileSync(file, JSON.stringify(spec(VM, {
    description: 'issue 3 scenario',
    disks: [{ size_mib: 64, pool: stack.pool }],
    nics: [{ network: stack.network }],
    cdrom: { media: `${stack.pool}/tools.iso` },
  })));
  const r = await ctl(['--json', 'vm.create', `project=${P}`, `spec=@${file}`], OP, OP_PW);
  assert.equal(r.code, 0, `vmgatectl vm.create: ${r.stderr}`);
  const created = JSON.parse(r.stdout);
  assert.equal(created.vm, VM);
  assert.equal(created.project, P);
  const ids = stack.hosts.map((h) => h.id);
  assert.ok(ids.includes(created.host), `placed on a host of the stack: ${created.host}`);
  h1 = stack.hosts.find((h) => h.id === created.host);
  h2 = stack.hosts.find((h) => h.id !== created.host);

  // Redis: the definition, the project's VMs, the usage the spec costs.
  assert.equal(defKey('project'), P);
  assert.equal(defKey('host'), h1.id);
  assert.equal(defKey('created_by'), OP);
  assert.equal(defKey('disk_mib'), '64');
  const stored = JSON.parse(defKey('spec'));
  assert.equal(stored.disks[0].format, 'qcow2');
  assert.match(stored.nics[0].mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.equal(stack.redis('sismember', `vg:project:${P}:vms`, VM), '1');
  assert.deepEqual(usage(), { instances: 1, vcpus: 1, memory_mib: 128, disk_mib: 64, images: 0, snapshots: 0 });
  await until(() => vmKey('state') === 'shutoff' && vmKey('host') === h1.id, 15000, 'hostd registers the VM');

  // libvirt: a new qcow2 volume in the shared pool, the NIC and the CD-ROM with its medium.
  assert.match(volumes(h1), new RegExp(DISK.replaceAll('.', '\\.')));
  const blk = h1.virsh('domblklist', VM, '--details');
  assert.match(blk, new RegExp(`disk\\s+vda\\s+\\S*${DISK.replaceAll('.', '\\.')}`));
  assert.match(blk, /cdrom\s+sd\w\s+\S*tools\.iso/);
  assert.match(h1.virsh('domiflist', VM), new RegExp(`network\\s+${stack.network}\\s+virtio\\s+${stored.nics[0].mac}`));
  assert.match(h1.virsh('domstate', VM), /shut off/);
});

test('vm.start (its event within 1 s); placement: least-loaded host, maintenance and room skipped, reasons when none fits', { timeout: 180000 }, async (t) => {
  // Events of the operator's VMs reach the operator's subscription within 1 s.
  const ws = await apiWs(stack, op);
  try {
    assert.deepEqual(await ws.call('events.subscribe'), {});
    // Arrival times on the client's clock, taken as each message comes in.
    const arrivals = new Map();
    ws.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.event === 'vm.state' && m.data.vm === VM && m.data.state === 'running') arrivals.set('running', Date.now());
    });
    const t0 = Date.now();
    const started = await api(stack, op, 'vm.start', { vm: VM });
    const answered = Date.now();
    assert.deepEqual(started, { vm: VM, host: h1.id, state: 'running' });
    const ev = await until(() =>
      ws.events.find((e) => e.event === 'vm.state' && e.data.vm === VM && e.data.state === 'running'), 5000, 'vm.state running event');
    const late = arrivals.get('running') - answered;
    t.diagnostic(`vm.start answered in ${answered - t0} ms; vm.state running came ${late} ms after the answer`);
    assert.ok(late < 1000, `vm.state came ${late} ms after vm.start answered`);
    assert.equal(ev.data.host, h1.id);
  } finally {
    await ws.close();
  }
  assert.equal(vmKey('state'), 'running');
  assert.equal(vmKey('host'), h1.id);
  assert.match(h1.virsh('domstate', VM), /running/);
  await refused(api(stack, op, 'vm.start', { vm: VM }), 'conflict', new RegExp(`VM ${VM} is running`));

  // h1 runs a 128 MiB VM, h2 nothing: a new VM goes to h2.
  const a = await api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pa', { memory_mib: 96 }) });
  assert.equal(a.host, h2.id, 'the least-loaded host');
  assert.equal(defKey('host', 'vgt-i-pa'), h2.id);
  assert.match(h2.virsh('domstate', 'vgt-i-pa'), /shut off/);

  // h2 in maintenance: the next one goes to the loaded h1.
  await api(stack, admin, 'host.set', { host: h2.id, maintenance: true });
  assert.equal(stack.redis('hget', `vg:host:${h2.id}`, 'maintenance'), '1');
  const b = await api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pb', { memory_mib: 96 }) });
  assert.equal(b.host, h1.id, 'a host in maintenance takes no VM');
  assert.equal(defKey('host', 'vgt-i-pb'), h1.id);
  assert.deepEqual(usage(), { instances: 3, vcpus: 3, memory_mib: 320, disk_mib: 64, images: 0, snapshots: 0 });

  // Quota full: refused, nothing changes.
  await refused(api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pc', { memory_mib: 96 }) }),
    'quota_exceeded', new RegExp(`project ${P}: instances 3 of 3 used`));
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-i-pc'), '0');
  assert.equal((await api(stack, op, 'vm.delete', { vm: 'vgt-i-pb', disks: true })).vm, 'vgt-i-pb');
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-i-pb'), '0');

  // A project limited to a host group holding h1 only: its VMs go to h1 though h2 is freer.
  await api(stack, admin, 'host.set', { host: h2.id, maintenance: false });
  await api(stack, admin, 'hostgroup.create', { name: 'gi-one', hosts: [h1.id] });
  assert.equal(stack.redis('smembers', 'vg:hostgroup:gi-one:hosts'), h1.id);
  await api(stack, admin, 'project.edit', { name: P, hostgroups: ['gi-one'] });
  assert.equal(stack.redis('smembers', `vg:project:${P}:hostgroups`), 'gi-one');
  const c = await api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pc', { memory_mib: 96 }) });
  assert.equal(c.host, h1.id, 'the only host the project may use');
  assert.equal(defKey('host', 'vgt-i-pc'), h1.id);
  assert.equal((await api(stack, op, 'vm.delete', { vm: 'vgt-i-pc', disks: true })).vm, 'vgt-i-pc');
  await api(stack, admin, 'host.set', { host: h1.id, maintenance: true });
  await refused(api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pc', { memory_mib: 96 }) }), 'conflict',
    new RegExp(`no host fits: .*${h2.id} is in no host group project ${P} may use`));
  await api(stack, admin, 'host.set', { host: h1.id, maintenance: false });
  await api(stack, admin, 'project.edit', { name: P, hostgroups: [] });
  await api(stack, admin, 'hostgroup.delete', { name: 'gi-one' });
  assert.equal(stack.redis('exists', 'vg:hostgroup:gi-one'), '0');
  await api(stack, admin, 'host.set', { host: h2.id, maintenance: true });

  // h1 without room (200 MiB for VMs, 128 used), h2 in maintenance: none fits, and why.
  await api(stack, admin, 'host.set', { host: h1.id, max_vm_memory_mib: 200 });
  assert.equal(stack.redis('hget', `vg:host:${h1.id}`, 'max_vm_memory_mib'), '200');
  const before = usage();
  const why = new RegExp(
    `no host fits: (${h1.id} needs 56 MiB more memory; ${h2.id} in maintenance|${h2.id} in maintenance; ${h1.id} needs 56 MiB more memory)`);
  await refused(api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pc') }), 'conflict', why);
  assert.equal(stack.redis('exists', 'vg:vmdef:vgt-i-pc'), '0');
  assert.deepEqual(usage(), before, 'a refused placement reserves nothing');
  // Both in maintenance.
  await api(stack, admin, 'host.set', { host: h1.id, max_vm_memory_mib: 0, maintenance: true });
  await refused(api(stack, op, 'vm.create', { project: P, spec: spec('vgt-i-pc') }), 'conflict',
    new RegExp(`no host fits: (${h1.id} in maintenance; ${h2.id} in maintenance|${h2.id} in maintenance; ${h1.id} in maintenance)`));
  await api(stack, admin, 'host.set', { host: h1.id, maintenance: false });
  await api(stack, admin, 'host.set', { host: h2.id, maintenance: false });
  assert.equal(stack.redis('hget', `vg:host:${h1.id}`, 'maintenance'), '0');
  assert.equal(stack.redis('hget', `vg:host:${h2.id}`, 'maintenance'), '0');

  assert.equal((await api(stack, op, 'vm.delete', { vm: 'vgt-i-pa', disks: true })).vm, 'vgt-i-pa');
  await until(() =>
    stack.redis('exists', 'vg:vm:vgt-i-pa') === '0' && stack.redis('exists', 'vg:vm:vgt-i-pb') === '0', 15000, 'hostd forgets the placement VMs');
  assert.deepEqual(usage(), { instances: 1, vcpus: 1, memory_mib: 128, disk_mib: 64, images: 0, snapshots: 0 });
});

test('the guest on its console sees the NIC, the disk and the CD-ROM; live media change', { timeout: 150000 }, async () => {
  con = await openConsole(stack, op, { vm: VM, offset: 'end', take: true });
  await con.waitControl('hello');
  await con.waitPrompt(120000);
  assert.match(await run('ls /sys/class/net'), /\beth0\b/);
  assert.match(await run('ls /sys/block'), /\bvda\b/);
  // 64 MiB = 65536 blocks of 1 KiB.
  assert.match(await run('cat /proc/partitions'), /\s65536\s+vda\b/);
  // The CD-ROM drive with the tools ISO in it: the guest mounts it and reads its file.
  assert.match(await run('mkdir -p /mnt && mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/*; umount /mnt'),
    /vmgate tools CD/);
  const x = await api(stack, op, 'vm.xml', { vm: VM });
  assert.match(x.xml, /<disk type='file' device='cdrom'>[\s\S]*tools\.iso[\s\S]*<\/disk>/);
  assert.match(x.xml, new RegExp(`<source network='${stack.network}'`));
  // The medium changes live: ejected, then back; the stored spec follows.
  assert.deepEqual(await api(stack, op, 'vm.cdrom', { vm: VM, media: null }), { vm: VM, media: null });
  assert.match(h1.virsh('domblklist', VM, '--details'), /cdrom\s+sd\w\s+-/);
  assert.equal(JSON.parse(defKey('spec')).cdrom.media, null);
  const media = `${stack.pool}/tools.iso`;
  assert.deepEqual(await api(stack, op, 'vm.cdrom', { vm: VM, media }), { vm: VM, media });
  assert.match(h1.virsh('domblklist', VM, '--details'), /cdrom\s+sd\w\s+\S*tools\.iso/);
  assert.equal(JSON.parse(defKey('spec')).cdrom.media, media);
});

test('snapshot, change, revert: the change is gone', { timeout: 180000 }, async () => {
  await run('echo before-$((2*21)) > /tmp/marker; sync');
  const s = await api(stack, op, 'snapshot.create', { vm: VM, name: 's1', description: 'before the change' });
  assert.equal(s.name, 's1');
  assert.equal(s.parent, null);
  assert.equal(usage().snapshots, 1);
  assert.match(h1.virsh('snapshot-list', VM), /\bs1\b.*running/);
  const list = await api(stack, op, 'snapshot.list', { vm: VM });
  const s1 = list.snapshots.find((x) => x.name === 's1');
  assert.ok(s1, JSON.stringify(list));
  assert.equal(s1.current, true);
  assert.equal(s1.external, false);

  await run('touch /tmp/changed; echo after > /tmp/marker');
  assert.match(await run('ls /tmp'), /changed/);
  assert.deepEqual(await api(stack, op, 'snapshot.revert', { vm: VM, name: 's1' }), { vm: VM, name: 's1' });
  assert.match(h1.virsh('domstate', VM), /running/);
  await until(() => vmKey('state') === 'running', 15000, 'registry says running after the revert');
  await con.waitPrompt(60000);
  const out = await run('ls /tmp/changed; cat /tmp/marker');
  assert.match(out, /No such file or directory/);
  assert.match(out, /\nbefore-42\r?\n/);

  // A wrong name and a wrong state are refused and change nothing.
  await refused(api(stack, op, 'snapshot.revert', { vm: VM, name: 'nope' }), 'not_found');
  await refused(api(stack, op, 'snapshot.create', { vm: VM }), 'bad_request', /name/);
  assert.equal(usage().snapshots, 1);
  // libvirt migrates no domain that has snapshots: the scenario drops it first.
  assert.deepEqual(await api(stack, op, 'snapshot.delete', { vm: VM, name: 's1' }), { vm: VM, name: 's1' });
  assert.equal(usage().snapshots, 0);
  assert.doesNotMatch(h1.virsh('snapshot-list', VM), /\bs1\b/);
});

test('live migration to the other host while the viewer keeps typing', { timeout: 300000 }, async (t) => {
  let n = 0;
  let typing = true;
  const typist = (async () => {
    while (typing) {
      n += 1;
      con.send(`echo tick-${n}\n`);
      await sleep(250);
    }
  })();
  let moved;
  try {
    await sleep(1000);
    moved = await api(stack, admin, 'vm.migrate', { vm: VM, host: h2.id });
    await sleep(1000); // still typing after the move
  } finally {
    typing = false;
    await typist;
  }
  assert.deepEqual(moved, { vm: VM, from: h1.id, to: h2.id });
  t.diagnostic(`${n} lines typed during the migration`);
  // Redis follows: the registry (hostd) and the definition (gateway).
  await until(() => vmKey('host') === h2.id && vmKey('state') === 'running', 20000, `vg:vm:${VM} host = ${h2.id}`);
  assert.equal(defKey('host'), h2.id);
  assert.equal(stack.redis('sismember', `vg:host:${h2.id}:vms`, VM), '1');
  assert.equal(stack.redis('sismember', `vg:host:${h1.id}:vms`, VM), '0');
  assert.match(h2.virsh('domstate', VM), /running/);
  assert.throws(() => h1.virsh('domstate', VM), /failed to get domain|Domain not found/);

  // The same WebSocket: every tick typed reached the guest, the last one included.
  await con.waitFor(new RegExp(`\\ntick-${n}\\r?\\n`), 30000);
  assert.equal(con.ws.readyState, WebSocket.OPEN, 'the viewer stayed attached');
  assert.ok(con.controls.some((m) => m.type === 'state' && m.reason === `migrated to ${h2.id}`),
    `a state frame names the new host: ${JSON.stringify(con.controls.filter((m) => m.type === 'state'))}`);
  assert.equal(con.controls.filter((m) => m.type === 'hello').length, 1, 'no second hello');
  // A new command typed on it is answered by the guest, whose memory came along.
  const out = await run('echo moved-$((6*7)); cat /tmp/marker', 30000);
  assert.match(out, /\nmoved-42\r?\n/);
  assert.match(out, /\nbefore-42\r?\n/);
  const g = await api(stack, op, 'vm.get', { vm: VM });
  assert.equal(g.host, h2.id);
  assert.equal(g.state, 'running');
});

test('shut down (forced after timeout_s) and delete with the disks', { timeout: 180000 }, async (t) => {
  // Without its ACPI daemon the guest ignores the power button: forced off after timeout_s.
  await run('killall acpid; pidof acpid || echo NO-ACPID');
  const t0 = Date.now();
  const down = await api(stack, op, 'vm.shutdown', { vm: VM, timeout_s: 3 });
  t.diagnostic(`vm.shutdown took ${Date.now() - t0} ms`);
  assert.deepEqual(down, { vm: VM, host: h2.id, state: 'shutoff', forced: true });
  assert.ok(Date.now() - t0 >= 3000, 'the guest had its timeout_s');
  await until(() => vmKey('state') === 'shutoff', 15000, 'registry says shutoff');
  assert.match(h2.virsh('domstate', VM), /shut off/);
  await refused(api(stack, op, 'vm.shutdown', { vm: VM, timeout_s: 5 }), 'conflict', new RegExp(`VM ${VM} is shutoff`));
  await con.close();
  con = undefined;

  const del = await api(stack, op, 'vm.delete', { vm: VM, disks: true });
  assert.equal(del.vm, VM);
  assert.equal(del.project, P);
  assert.throws(() => h2.virsh('domstate', VM), /failed to get domain|Domain not found/);
  for (const h of stack.hosts) assert.doesNotMatch(volumes(h), new RegExp(DISK.replaceAll('.', '\\.')));
  assert.equal(fs.existsSync(path.join(stack.poolDir, DISK)), false);
  assert.match(volumes(h1), /tools\.iso/, 'the CD-ROM image stays');
  assert.equal(stack.redis('exists', `vg:vmdef:${VM}`), '0');
  assert.equal(stack.redis('sismember', `vg:project:${P}:vms`, VM), '0');
  assert.deepEqual(usage(), { instances: 0, vcpus: 0, memory_mib: 0, disk_mib: 0, images: 0, snapshots: 0 });
  await until(() => stack.redis('exists', `vg:vm:${VM}`) === '0', 15000, `vg:vm:${VM} removed`);
  await refused(api(stack, op, 'vm.get', { vm: VM }), 'not_found');
  // The audit trail holds the operator's calls with their results.
  const audit = stack.redis('xrange', 'vg:audit', '-', '+');
  for (const m of ['vm.create', 'vm.start', 'snapshot.revert', 'vm.migrate', 'vm.delete'])
    assert.match(audit, new RegExp(`method\\n${m.replace('.', '\\.')}\\n`), m);
});
