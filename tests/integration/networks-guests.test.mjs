// Networks with real guests (issue 15): DHCP from a new isolated network with a static lease
// for a fixed address, isolation between networks, the fixed-address registry under concurrent
// vm.create, and security groups compiled to nwfilters that follow rule changes and a live
// migration. Every guest is checked through its serial console (ip addr, ping, wget run inside
// the guests); the test sends no traffic to a guest itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { refused, until } from './lib/wait.mjs';

let stack;
let admin;
let h1;
let h2;
const P = 'netp';
const tag = Math.random().toString(36).slice(2, 7);
const oct = 100 + Math.floor(Math.random() * 150);
const sub = (i) => `10.${oct}.${i}`;
const shells = new Map();

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-netg-' });
  [h1, h2] = stack.hosts;
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: P });
  await api(stack, admin, 'hostgroup.create', { name: 'both', hosts: [h1.id, h2.id] });
});

after(async () => {
  for (const con of shells.values()) con.close();
  await stack?.stop();
});

const isolated = (name, i) => ({
  name,
  kind: 'isolated',
  bridge: `vgg${tag}${i}`,
  ipv4: { address: `${sub(i)}.1`, prefix: 24, dhcp: { start: `${sub(i)}.100`, end: `${sub(i)}.199` } },
});

function guestSpec(name, nics, host = h1.id) {
  const guest = stack.env.VG_GUEST_DIR;
  return {
    name,
    vcpus: 1,
    memory_mib: 96,
    kernel: { kernel: path.join(guest, 'vmlinuz'), initrd: path.join(guest, 'initrd.gz'), cmdline: 'console=ttyS0 quiet' },
    nics,
    placement: { host },
  };
}

async function boot(name, nics, host) {
  await api(stack, admin, 'vm.create', { project: P, spec: guestSpec(name, nics, host) });
  await api(stack, admin, 'vm.start', { vm: name });
  // the console is found through the registry, which hostd updates a moment later
  await until(() => stack.redis('hget', `vg:vm:${name}`, 'state') === 'running', 30000, `${name} running`);
}

async function shell(vm) {
  if (!shells.has(vm)) shells.set(vm, await openShell(stack, admin, { vm, offset: 'end', take: true, ms: 180000 }));
  return shells.get(vm);
}

// Runs cmd in the guest and returns what it printed before the marker line. Ctrl-U clears the
// line first, as the browser tests do (tests/e2e/lib/browser.mjs typeCommand): busybox's line
// editing (an ESC[6n after each prompt) now and then keeps stray input on a loaded guest's line.
async function sh(vm, cmd, ms = 30000) {
  const con = await shell(vm);
  const mark = `M${Math.random().toString(36).slice(2, 8)}`;
  const out = await con.run(`\x15${cmd}; echo ${mark}-$?`, new RegExp(`${mark}-(\\d+)`), ms);
  const m = out.match(new RegExp(`${mark}-(\\d+)`));
  return { out, rc: Number(m[1]) };
}

test('two guests on a new isolated network get DHCP addresses (one from its static lease) and ping each other; a guest on another network cannot', async () => {
  await api(stack, admin, 'network.create', { spec: isolated('vgt-dhcp', 1), host: h1.id });
  await api(stack, admin, 'network.create', { spec: isolated('vgt-other', 2), host: h1.id });
  const fixed = `${sub(1)}.10`;
  await boot('vgt-a', [{ network: 'vgt-dhcp', ip: fixed }]);
  await boot('vgt-b', [{ network: 'vgt-dhcp' }]);
  await boot('vgt-c', [{ network: 'vgt-other' }]);
  // the static lease is in the running network
  assert.match(h1.virsh('net-dumpxml', 'vgt-dhcp'), new RegExp(`<host mac='[0-9a-f:]+' name='vgt-a' ip='${fixed.replace(/\./g, '\\.')}'/>`));
  const addr = {};
  for (const vm of ['vgt-a', 'vgt-b', 'vgt-c']) {
    const r = await sh(vm, 'udhcpc -i eth0 -q -n -t 8 -T 2 >/dev/null 2>&1; ip -4 -o addr show eth0', 60000);
    const m = r.out.match(/inet (10\.\d+\.\d+\.\d+)\//);
    assert.ok(m, `${vm} has no address: ${r.out}`);
    addr[vm] = m[1];
  }
  assert.equal(addr['vgt-a'], fixed);
  const last = Number(addr['vgt-b'].split('.')[3]);
  assert.ok(addr['vgt-b'].startsWith(`${sub(1)}.`) && last >= 100 && last <= 199, addr['vgt-b']);
  assert.ok(addr['vgt-c'].startsWith(`${sub(2)}.`), addr['vgt-c']);
  assert.equal((await sh('vgt-a', `ping -c 2 -W 3 ${addr['vgt-b']}`)).rc, 0);
  assert.equal((await sh('vgt-b', `ping -c 2 -W 3 ${fixed}`)).rc, 0);
  assert.notEqual((await sh('vgt-c', `ping -c 2 -W 2 ${fixed}`)).rc, 0);
  const { leases } = await api(stack, admin, 'network.leases', { name: 'vgt-dhcp' });
  assert.ok(leases.some((l) => l.ip === fixed && l.host === h1.id), JSON.stringify(leases));
  assert.ok(leases.some((l) => l.ip === addr['vgt-b']), JSON.stringify(leases));
  // a network with VMs on it stays
  await refused(api(stack, admin, 'network.delete', { name: 'vgt-dhcp' }), 'conflict', /used by VMs: vgt-a, vgt-b/);
  for (const vm of ['vgt-c']) {
    shells.get(vm)?.close();
    shells.delete(vm);
    await api(stack, admin, 'vm.destroy', { vm });
  }
});

test('two concurrent vm.create asking for the same fixed address: exactly one wins', async () => {
  const ip = `${sub(1)}.20`;
  const rs = await Promise.allSettled(['vgt-r1', 'vgt-r2'].map((n) =>
    api(stack, admin, 'vm.create', { project: P, spec: { name: n, vcpus: 1, memory_mib: 32, nics: [{ network: 'vgt-dhcp', ip }] } })));
  assert.equal(rs.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(rs.map((r) => r.reason?.message)));
  const lost = rs.find((r) => r.status === 'rejected');
  assert.equal(lost.reason.code, 'conflict');
  assert.match(lost.reason.message, new RegExp(`address ${ip.replace(/\./g, '\\.')} in network vgt-dhcp is taken by VM vgt-r`));
  await refused(api(stack, admin, 'vm.create', { project: P, spec: { name: 'vgt-r3', vcpus: 1, memory_mib: 32, nics: [{ network: 'vgt-dhcp', ip: `${sub(9)}.5` }] } }), 'bad_request', /outside/);
  await refused(api(stack, admin, 'vm.create', { project: P, spec: { name: 'vgt-r4', vcpus: 1, memory_mib: 32, nics: [{ network: 'vmgate', ip: '10.9.9.9' }] } }), 'bad_request', /not managed by vmgate/);
  // the winner's address comes back when it goes
  const won = rs.findIndex((r) => r.status === 'fulfilled');
  const lease = new RegExp(`<host mac='[0-9a-f:]+' name='vgt-r${won + 1}' ip='${ip.replace(/\./g, '\\.')}'/>`);
  assert.match(h1.virsh('net-dumpxml', 'vgt-dhcp'), lease);
  await api(stack, admin, 'vm.delete', { vm: `vgt-r${won + 1}` });
  assert.doesNotMatch(h1.virsh('net-dumpxml', 'vgt-dhcp'), lease, 'vm.delete takes the static lease back');
  await api(stack, admin, 'vm.create', { project: P, spec: { name: 'vgt-r5', vcpus: 1, memory_mib: 32, nics: [{ network: 'vgt-dhcp', ip }] } });
  await api(stack, admin, 'vm.delete', { vm: 'vgt-r5' });
});

test('a security group allowing only TCP 8080 from its own members: 8080 answers, 8081 and ping do not; a rule change applies to the running VM; the rule follows a live migration', async () => {
  // layer 2 only, so it can run on both hosts of this one-kernel stack; the guests set the
  // addresses the registry keeps for them
  await api(stack, admin, 'network.create', { spec: { name: 'vgt-sg', kind: 'isolated' }, group: 'both' });
  const sip = '192.168.213.11';
  const cip = '192.168.213.12';
  await refused(api(stack, admin, 'secgroup.create', { project: P, name: 'web', rules: [{ direction: 'ingress', protocol: 'tcp', port_min: 70000 }] }), 'bad_request', /rules\[0\]\.port_min must be an integer 1-65535/);
  await refused(api(stack, admin, 'secgroup.create', { project: P, name: 'web', rules: [{ direction: 'ingress', remote_cidr: '10.0.0.300/33' }] }), 'bad_request', /rules\[0\]\.remote_cidr must be an address or CIDR/);
  await api(stack, admin, 'secgroup.create', { project: P, name: 'web', description: 'web servers', rules: [{ direction: 'ingress', protocol: 'tcp', port_min: 8080, remote_group: 'web' }] });
  await boot('vgt-s', [{ network: 'vgt-sg', ip: sip, secgroups: ['web'] }]);
  await boot('vgt-k', [{ network: 'vgt-sg', ip: cip, secgroups: ['web'] }]);
  const mac = (await api(stack, admin, 'vm.get', { vm: 'vgt-s' })).spec.nics[0].mac;
  const filter = `vgsg-${mac.replace(/:/g, '')}`;
  assert.match(h1.virsh('nwfilter-dumpxml', filter), /<tcp srcipaddr='192\.168\.213\.12' srcipmask='32' dstportstart='8080' dstportend='8080'\/>/);
  await sh('vgt-s', `ip addr add ${sip}/24 dev eth0; ip link set eth0 up; mkdir -p /tmp/w; echo WEBOK >/tmp/w/i; httpd -p 8080 -h /tmp/w; httpd -p 8081 -h /tmp/w`);
  await sh('vgt-k', `ip addr add ${cip}/24 dev eth0; ip link set eth0 up`);
  // busybox-static's wget crashes in this guest; nc speaks the request itself
  const get = async (port) => (await sh('vgt-k', `printf 'GET /i HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${sip} ${port}`, 30000)).out;
  await until(async () => /WEBOK/.test(await get(8080)), 60000, '8080 answers');
  assert.doesNotMatch(await get(8081), /WEBOK/);
  assert.notEqual((await sh('vgt-k', `ping -c 2 -W 2 ${sip}`)).rc, 0);
  // the rule moves to 8081, live
  await api(stack, admin, 'secgroup.edit', { project: P, name: 'web', rules: [{ direction: 'ingress', protocol: 'tcp', port_min: 8081, remote_group: 'web' }] });
  await until(async () => /WEBOK/.test(await get(8081)), 30000, '8081 answers after the edit');
  assert.doesNotMatch(await get(8080), /WEBOK/);
  // live migration: the filters are defined on h2 first and still say 8081 (both guests move:
  // an isolated network is one bridge per host)
  await api(stack, admin, 'vm.migrate', { vm: 'vgt-s', host: h2.id });
  await api(stack, admin, 'vm.migrate', { vm: 'vgt-k', host: h2.id });
  assert.match(h2.virsh('nwfilter-dumpxml', filter), /dstportstart='8081'/);
  await until(async () => /WEBOK/.test(await get(8081)), 60000, '8081 answers after the migration');
  assert.doesNotMatch(await get(8080), /WEBOK/);
  // the server's NIC moves to the project's default policy on the running VM: every fixed
  // address of the project reaches it, ping included
  await api(stack, admin, 'secgroup.assign', { vm: 'vgt-s', mac, secgroups: [] });
  await until(async () => (await sh('vgt-k', `ping -c 1 -W 2 ${sip}`)).rc === 0, 30000, 'ping under the default policy');
  assert.match(await get(8080), /WEBOK/);
  await api(stack, admin, 'secgroup.assign', { vm: 'vgt-s', mac, secgroups: ['web'] });
  const g = await api(stack, admin, 'secgroup.get', { project: P, name: 'web' });
  assert.deepEqual(g.nics.map((n) => n.vm).sort(), ['vgt-k', 'vgt-s']);
  await refused(api(stack, admin, 'secgroup.delete', { project: P, name: 'web' }), 'conflict', /used by vgt-k, vgt-s/);
});

test('a NAT network gives a guest a route out to a server on this machine, and the leases list shows both guests', async () => {
  const net = { name: 'vgt-nat', kind: 'nat', bridge: `vgn${tag}`, ipv4: { address: `${sub(5)}.1`, prefix: 24, dhcp: { start: `${sub(5)}.50`, end: `${sub(5)}.60` } } };
  await api(stack, admin, 'network.create', { spec: net, host: h1.id });
  // the server listens only on the bridge's address, on this machine
  const server = (await import('node:net')).createServer((s) => s.end('NATOK\n'));
  await new Promise((r) => server.listen(0, `${sub(5)}.1`, r));
  const port = server.address().port;
  try {
    await boot('vgt-n1', [{ network: 'vgt-nat' }]);
    await boot('vgt-n2', [{ network: 'vgt-nat' }]);
    for (const vm of ['vgt-n1', 'vgt-n2']) {
      const r = await sh(vm, 'udhcpc -i eth0 -q -n -t 8 -T 2 >/dev/null 2>&1; ip route', 60000);
      assert.match(r.out, new RegExp(`default via ${sub(5).replace(/\./g, '\\.')}\\.1 dev eth0`));
    }
    const r = await sh('vgt-n1', `nc -w 3 ${sub(5)}.1 ${port} </dev/null`);
    assert.match(r.out, /NATOK/);
    const { leases } = await api(stack, admin, 'network.leases', { name: 'vgt-nat' });
    const macs = await Promise.all(['vgt-n1', 'vgt-n2'].map(async (vm) => (await api(stack, admin, 'vm.get', { vm })).spec.nics[0].mac));
    for (const m of macs) assert.ok(leases.some((l) => l.mac === m && l.ip.startsWith(`${sub(5)}.`)), JSON.stringify(leases));
  } finally {
    server.close();
    for (const vm of ['vgt-n1', 'vgt-n2']) {
      shells.get(vm)?.close();
      shells.delete(vm);
      await api(stack, admin, 'vm.destroy', { vm }).catch(() => {});
    }
  }
});

test('a macvtap NIC on a veth parent carries traffic into a network namespace the test made', async () => {
  const { execFileSync } = await import('node:child_process');
  const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8' });
  const ns = `vgtns${tag}`;
  const parent = `vgv${tag}a`;
  const peer = `vgv${tag}b`;
  const nsAddr = '192.168.214.2';
  ip('netns', 'add', ns);
  try {
    ip('link', 'add', parent, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', peer, 'netns', ns);
    ip('-n', ns, 'addr', 'add', `${nsAddr}/24`, 'dev', peer);
    ip('-n', ns, 'link', 'set', peer, 'up');
    ip('link', 'set', parent, 'up');
    await refused(api(stack, admin, 'network.create', { spec: { name: 'vgt-mv', kind: 'macvtap', dev: `nope${tag}` }, host: h1.id }), 'bad_request', /interface nope\w+ does not exist/);
    await api(stack, admin, 'network.create', { spec: { name: 'vgt-mv', kind: 'macvtap', dev: parent, mode: 'bridge' }, host: h1.id });
    await boot('vgt-m', [{ network: 'vgt-mv' }]);
    const r = await sh('vgt-m', `ip addr add 192.168.214.3/24 dev eth0; ip link set eth0 up; ping -c 3 -W 3 ${nsAddr}`, 40000);
    assert.equal(r.rc, 0, r.out);
    shells.get('vgt-m')?.close();
    shells.delete('vgt-m');
    await api(stack, admin, 'vm.destroy', { vm: 'vgt-m' });
  } finally {
    try { ip('link', 'del', parent); } catch { /* gone with the namespace's peer */ }
    ip('netns', 'del', ns);
  }
});

// Open vSwitch with its user-space datapath (this machine has no OVS kernel module): the test
// starts ovsdb-server and ovs-vswitchd at their default paths, where libvirt's ovs-vsctl finds
// them, unless they run already, and stops what it started.
test('an Open vSwitch network puts a guest on VLAN 42 of an OVS bridge; it reaches a tagged port in a network namespace', async () => {
  const { execFileSync, spawnSync } = await import('node:child_process');
  const fs = await import('node:fs');
  const run = (cmd, ...a) => execFileSync(cmd, a, { encoding: 'utf8' });
  const vsctl = (...a) => run('ovs-vsctl', '--timeout=10', ...a);
  const dir = '/run/openvswitch';
  const started = [];
  if (spawnSync('ovs-vsctl', ['--timeout=2', 'show']).status !== 0) {
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.existsSync(`${dir}/conf.db`)) run('ovsdb-tool', 'create', `${dir}/conf.db`, '/usr/share/openvswitch/vswitch.ovsschema');
    run('ovsdb-server', `${dir}/conf.db`, `--remote=punix:${dir}/db.sock`, `--pidfile=${dir}/ovsdb-server.pid`, '--detach', `--log-file=${stack.dir}/log/ovsdb-server.log`);
    started.push(`${dir}/ovsdb-server.pid`);
    vsctl('--no-wait', 'init');
    run('ovs-vswitchd', `--pidfile=${dir}/ovs-vswitchd.pid`, '--detach', `--log-file=${stack.dir}/log/ovs-vswitchd.log`);
    started.unshift(`${dir}/ovs-vswitchd.pid`);
  }
  const br = `vgo${tag}`;
  const port = `vgo${tag}p`;
  const ns = `vgtovs${tag}`;
  try {
    vsctl('add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev');
    vsctl('add-port', br, port, 'tag=42', '--', 'set', 'interface', port, 'type=internal');
    run('ip', 'netns', 'add', ns);
    run('ip', 'link', 'set', port, 'netns', ns);
    run('ip', '-n', ns, 'addr', 'add', '192.168.215.2/24', 'dev', port);
    run('ip', '-n', ns, 'link', 'set', port, 'up');
    await api(stack, admin, 'network.create', { spec: { name: 'vgt-ovs', kind: 'ovs', bridge: br, vlans: [42] }, host: h1.id });
    await boot('vgt-o', [{ network: 'vgt-ovs' }]);
    const mac = (await api(stack, admin, 'vm.get', { vm: 'vgt-o' })).spec.nics[0].mac;
    const vnet = run('ovs-vsctl', '--bare', '--columns=name', 'find', 'interface', `external_ids:attached-mac="${mac}"`).trim();
    assert.ok(vnet, 'the guest has a port on the OVS bridge');
    assert.equal(vsctl('get', 'port', vnet, 'tag').trim(), '42');
    const r = await sh('vgt-o', 'ip addr add 192.168.215.3/24 dev eth0; ip link set eth0 up; ping -c 3 -W 3 192.168.215.2', 40000);
    assert.equal(r.rc, 0, r.out);
    shells.get('vgt-o')?.close();
    shells.delete('vgt-o');
    await api(stack, admin, 'vm.destroy', { vm: 'vgt-o' });
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', br]);
    for (const pidfile of started) {
      try {
        process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
});
