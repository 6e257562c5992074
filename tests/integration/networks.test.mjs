// Networks (issue 15, docs/networks.md): network.* defines real libvirt networks on a host or a
// host group, checks every host before any changes, and refuses bad input leaving every host as
// it was. Subnets and bridge names are random per run: stacks of other test files share the
// machine's kernel, where two bridges with one subnet would clash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { refused } from './lib/wait.mjs';

let stack;
let admin;
let h1;
let h2;
const tag = Math.random().toString(36).slice(2, 7);
const oct = 100 + Math.floor(Math.random() * 150);
const sub = (i) => `10.${oct}.${i}`;

before(async () => {
  stack = await startStack({ vms: [], hosts: 2, prefix: 'vgt-net-' });
  [h1, h2] = stack.hosts;
  admin = await login(stack);
  await api(stack, admin, 'hostgroup.create', { name: 'both', hosts: [h1.id, h2.id] });
});

after(async () => {
  await stack?.stop();
});

const isolated = (name, i, extra = {}) => ({
  name,
  kind: 'isolated',
  bridge: `vgi${tag}${i}`,
  ipv4: { address: `${sub(i)}.1`, prefix: 24, dhcp: { start: `${sub(i)}.100`, end: `${sub(i)}.199` } },
  ...extra,
});

const netsOn = (h) => h.virsh('net-list', '--all', '--name').split('\n').map((s) => s.trim()).filter(Boolean).sort();

test('an isolated network on a host group is defined and running on every member', async () => {
  // Both hosts of this stack share one kernel: a group network here names no bridge and no
  // subnet (libvirt would refuse a second bridge on the same subnet); on real hosts it may.
  const r = await api(stack, admin, 'network.create', { spec: { name: 'vgt-l2', kind: 'isolated' }, group: 'both' });
  assert.equal(r.name, 'vgt-l2');
  assert.deepEqual(r.hosts, [h1.id, h2.id].sort());
  assert.equal(r.state.length, 2);
  for (const s of r.state) {
    assert.equal(s.active, true, JSON.stringify(s));
    assert.equal(s.autostart, true);
  }
  for (const h of stack.hosts) assert.ok(netsOn(h).includes('vgt-l2'));
  const { networks } = await api(stack, admin, 'network.list');
  assert.ok(networks.some((n) => n.name === 'vgt-l2' && n.kind === 'isolated' && n.group === 'both'));
});

test('an isolated network with a subnet and DHCP range on one host', async () => {
  const r = await api(stack, admin, 'network.create', { spec: isolated('vgt-iso', 1), host: h1.id });
  assert.deepEqual(r.hosts, [h1.id]);
  assert.equal(r.state[0].bridge, `vgi${tag}1`);
  assert.match(h1.virsh('net-dumpxml', 'vgt-iso'), /<range start='10\.\d+\.1\.100' end='10\.\d+\.1\.199'/);
  assert.ok(!netsOn(h2).includes('vgt-iso'));
});

test('bad input is refused with a clear error and changes no host', async () => {
  const before1 = netsOn(h1);
  const before2 = netsOn(h2);
  await refused(api(stack, admin, 'network.create', { spec: isolated('vgt-dup', 1, { bridge: `vgd${tag}` }), host: h1.id }), 'conflict', /overlaps network vgt-iso/);
  await refused(api(stack, admin, 'network.create', {
    spec: { ...isolated('vgt-bad', 2), ipv4: { address: `${sub(2)}.1`, prefix: 24, dhcp: { start: `${sub(3)}.10`, end: `${sub(2)}.20` } } },
    host: h1.id,
  }), 'bad_request', /network\.ipv4\.dhcp\.start 10\.\d+\.3\.10 is outside 10\.\d+\.2\.0\/24/);
  await refused(api(stack, admin, 'network.create', { spec: { name: 'vgt-br', kind: 'bridge', bridge: `nobr${tag}` }, group: 'both' }), 'bad_request', /bridge nobr\w+ does not exist on host/);
  await refused(api(stack, admin, 'network.create', { spec: { name: 'vgt-c', kind: 'nat', ipv4: { address: '10.0.0.300', prefix: 24 } }, host: h1.id }), 'bad_request', /ipv4\.address must be an IPv4 address/);
  await refused(api(stack, admin, 'network.create', { spec: isolated('vgt-x', 4), host: 'nohost' }), 'not_found', /unknown host/);
  await refused(api(stack, admin, 'network.create', { spec: isolated('vgt-iso', 5), host: h1.id }), 'conflict', /exists/);
  await refused(api(stack, admin, 'network.create', { spec: isolated('vgt-y', 5) }), 'bad_request', /exactly one of host, group/);
  assert.deepEqual(netsOn(h1), before1);
  assert.deepEqual(netsOn(h2), before2);
});

test('a change refused by the second host is checked first or undone on the first', async () => {
  await api(stack, admin, 'network.create', { spec: isolated('vgt-only2', 6), host: h2.id });
  const before1 = netsOn(h1);
  // refused by h2's check: h1 never changes
  await refused(api(stack, admin, 'network.create', { spec: { name: 'vgt-g6', kind: 'isolated', ipv4: { address: `${sub(6)}.1`, prefix: 24 } }, group: 'both' }), 'conflict', /overlaps network vgt-only2/);
  assert.deepEqual(netsOn(h1), before1);
  // passes both checks, but h1's define makes the bridge that h2 (same kernel) then finds taken:
  // h1's network is undefined again
  await refused(api(stack, admin, 'network.create', { spec: { name: 'vgt-g7', kind: 'isolated', bridge: `vgz${tag}` }, group: 'both' }), 'conflict', /interface vgz\w+ already exists/);
  assert.deepEqual(netsOn(h1), before1);
  await api(stack, admin, 'network.delete', { name: 'vgt-only2' });
  assert.ok(!netsOn(h2).includes('vgt-only2'));
});

test('network.stop and network.start act on every host; edit keeps the kind', async () => {
  let r = await api(stack, admin, 'network.stop', { name: 'vgt-iso' });
  assert.ok(r.state.every((s) => s.active === false));
  r = await api(stack, admin, 'network.start', { name: 'vgt-iso' });
  assert.ok(r.state.every((s) => s.active === true));
  r = await api(stack, admin, 'network.edit', {
    spec: isolated('vgt-iso', 1, { dns: { hosts: [{ ip: `${sub(1)}.5`, names: ['files'] }] } }),
  });
  assert.equal(r.spec.dns.hosts[0].names[0], 'files');
  assert.match(h1.virsh('net-dumpxml', '--inactive', 'vgt-iso'), /<hostname>files<\/hostname>/);
  await refused(api(stack, admin, 'network.edit', { spec: { name: 'vgt-iso', kind: 'nat' } }), 'bad_request', /kind cannot change/);
});

test('network.leases answers for a network without guests', async () => {
  const r = await api(stack, admin, 'network.leases', { name: 'vgt-iso' });
  assert.deepEqual(r.leases, []);
});
