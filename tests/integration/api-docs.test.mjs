// docs/api.md is what the gateway does (issue 3 §1: "Every method is documented in docs/api.md
// with a request and response example that a test replays"): every method api.methods lists
// has a request example with a response example, and each example, replayed against a real
// two-host stack whose world is the one docs/api.md "Examples" describes, gets an answer of the
// documented shape (the same keys, JSON types and error code; not the same values).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { api, apiWs, login, openConsole } from './lib/client.mjs';
import { readExamples, shapeDiff } from './lib/apidocs.mjs';
import { until } from './lib/wait.mjs';

const DOC = path.join(REPO, 'docs/api.md');
const PFX = 'vgt-i-'; // the docs' VM names get this prefix on the stack
const ALICE_PW = 'correct horse';
const BOB_PW = 'bob viewer password';
const P1 = 'p1';
const DEMO = 'demo1'; // fixture: the stack's demo VM, adopted into p1
const LEGACY = 'legacy1'; // fixture: a domain no project owns, for vm.adopt

let stack;
let admin;
let hostIds;
const vmName = (n) => (n.startsWith(PFX) ? n : PFX + n);

const A = (method, params = {}) => api(stack, admin, method, params);
const exists = (key) => stack.redis('exists', key) === '1';
const hget = (key, f) => stack.redis('hget', key, f);
const vmState = (vm) => hget(`vg:vm:${vm}`, 'state');

// ---- the docs' names on the stack ----

// Rewrites a documented request for the stack: host ids, VM names, the admin's password, the
// stack's pool, network and guest kernel (docs/api.md "Examples").
function substitute(method, params) {
  const guest = stack.env.VG_GUEST_DIR;
  const volume = (s) => (/\.iso$/.test(s) ? `${stack.pool}/tools.iso` : `${stack.pool}/base.qcow2`);
  const str = (v, at) => {
    const key = at[at.length - 1];
    const parent = at.filter((k) => typeof k === 'string').pop(); // key of the list an item is in
    if (v === '…' && (key === 'admin_password' || (method === 'login' && key === 'password'))) return stack.adminPassword;
    if (method === 'metrics.query' && key === 'name' && params.target === 'vm') return vmName(v);
    if (method === 'metrics.latest' && parent === 'names') return vmName(v);
    if (method === 'console.exec' && parent === 'vms') return vmName(v);
    if (key === 'vm' || (at.join('.') === 'spec.name' && method.startsWith('vm.')) || (method === 'vm.clone' && at.join('.') === 'name')) return vmName(v);
    // The storage methods name pools, volumes and images by their own names, as they are.
    const storage = /^(pool|volume|image|secret)\./.test(method);
    if (storage && method === 'pool.create' && key === 'target') return path.join(stack.dir, 'pools', path.basename(v));
    if (!storage && ['image', 'volume', 'media'].includes(key)) return volume(v);
    if ((parent === 'network' || parent === 'networks') && !method.startsWith('network.')) return stack.network;
    if (!storage && (parent === 'pool' || parent === 'pools')) return stack.pool;
    if (at.join('.') === 'spec.kernel.kernel' || at.join('.') === 'spec.kernel.initrd') return path.join(guest, path.basename(v));
    return { h1: hostIds[0], h2: hostIds[1] }[v] ?? v;
  };
  const walk = (v, at) => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...at, i]));
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [at.join('.') === 'vms' ? vmName(k) : k, walk(x, [...at, k])]),
      );
    }
    return typeof v === 'string' ? str(v, at) : v;
  };
  const p = walk(params, []);
  // The stack's images are blank: a spec that boots nothing boots the test kernel.
  if (method === 'vm.create' && p.spec && typeof p.spec === 'object' && !p.spec.kernel && !p.spec.boot && !p.spec.raw_xml) {
    p.spec.kernel = { kernel: `${guest}/vmlinuz`, initrd: `${guest}/initrd.gz`, cmdline: 'console=ttyS0 quiet' };
  }
  return p;
}

// ---- the world ----

async function ensureUser(name, role = 'operator', password = `${name} password 1`) {
  if (!exists(`vg:user:${name}`)) {
    await A('user.create', { name, password, role });
    return;
  }
  if (hget(`vg:user:${name}`, 'frozen') === '1') await A('user.unfreeze', { name });
  if (hget(`vg:user:${name}`, 'role') !== role) await A('user.edit', { name, role, admin_password: stack.adminPassword });
}

async function ensureNoUser(name) {
  if (exists(`vg:user:${name}`)) await A('user.delete', { name, admin_password: stack.adminPassword });
}

let alicePwhash;
async function ensureAlice() {
  await ensureUser('alice', 'operator', ALICE_PW);
  if (hget('vg:user:alice', 'pwhash') !== alicePwhash) {
    await A('user.edit', { name: 'alice', password: ALICE_PW, admin_password: stack.adminPassword });
    alicePwhash = hget('vg:user:alice', 'pwhash');
  }
}

async function ensureProject(name) {
  if (!exists(`vg:project:${name}`)) await A('project.create', { name });
  if (hget(`vg:project:${name}`, 'active') !== '1') await A('project.activate', { name });
}

// Deletes a project with everything in it.
async function ensureNoProject(name) {
  if (!exists(`vg:project:${name}`)) return;
  for (const e of stack.redis('smembers', 'vg:envs').split('\n').filter(Boolean)) {
    if (hget(`vg:env:${e}`, 'project') === name) await A('env.delete', { env: e });
  }
  for (const vm of stack.redis('smembers', `vg:project:${name}:vms`).split('\n').filter(Boolean)) await ensureNoVm(vm);
  await A('project.delete', { name, admin_password: stack.adminPassword });
}

async function ensureMember(project, user, role) {
  if (hget(`vg:project:${project}:members`, user) !== role) await A('project.member.set', { project, user, role });
}

// The docs' world invariants, put back after every example.
async function restoreWorld() {
  for (const h of hostIds) {
    const f = stack.redis('hmget', `vg:host:${h}`, 'maintenance', 'max_vcpus', 'max_vm_memory_mib').split('\n');
    if (f[0] === '1' || Number(f[1] || 0) !== 0 || Number(f[2] || 0) !== 0) {
      await A('host.set', { host: h, maintenance: false, max_vcpus: 0, max_vm_memory_mib: 0 });
    }
  }
  await ensureAlice();
  await ensureUser('bob', 'viewer', BOB_PW);
  await ensureProject(P1);
  const p = await A('project.get', { project: P1 });
  const q = Object.values(p.quota ?? {}).some((v) => v !== -1);
  if (q || p.hostgroups?.length || p.pools?.length || p.networks?.length) {
    await A('project.edit', {
      name: P1,
      quotas: { instances: -1, vcpus: -1, memory_mib: -1, disk_mib: -1, images: -1, snapshots: -1 },
      hostgroups: [],
      pools: [],
      networks: [],
    });
  }
  await ensureMember(P1, 'alice', 'operator');
  await ensureMember(P1, 'bob', 'viewer');
}

function vmSpec(name) {
  const guest = stack.env.VG_GUEST_DIR;
  return {
    name,
    memory_mib: 128,
    kernel: { kernel: `${guest}/vmlinuz`, initrd: `${guest}/initrd.gz`, cmdline: 'console=ttyS0 quiet' },
    disks: [{ size_mib: 64, pool: stack.pool }],
    nics: [{ network: stack.network }],
    cdrom: { media: `${stack.pool}/tools.iso` },
    placement: { host: hostIds[0] },
  };
}

// Removes the volumes a VM of that name left in the shared pool (vm.edit and vm.delete without
// disks never delete data), so a new VM of the name can have its disk.
function removeLeftVolumes(vm) {
  const [h, ...others] = stack.hosts;
  h.virsh('pool-refresh', stack.pool);
  for (const line of h.virsh('vol-list', stack.pool).split('\n')) {
    const vol = line.trim().split(/\s+/)[0];
    if (vol?.startsWith(`${vm}-disk`)) h.virsh('vol-delete', '--pool', stack.pool, vol);
  }
  for (const o of others) o.virsh('pool-refresh', stack.pool);
}

async function ensureVm(vm) {
  if (!exists(`vg:vmdef:${vm}`)) {
    await ensureProject(P1);
    if (!exists(`vg:vm:${vm}`)) removeLeftVolumes(vm);
    await A('vm.create', { project: P1, spec: vmSpec(vm) });
  }
  await until(() => vmState(vm), 20000, `${vm} registered`);
}

// A VM the lifecycle, CD-ROM and snapshot examples can use: booting the test kernel, with a
// qcow2 disk and a CD-ROM drive. An example that redefined it (vm.edit replaces the whole spec)
// leaves a VM without them: it is made again.
async function ensureUsable(vm) {
  await ensureVm(vm);
  const text = hget(`vg:vmdef:${vm}`, 'spec');
  const spec = text ? JSON.parse(text) : null;
  if (!spec || hget(`vg:vmdef:${vm}`, 'adopted') === '1') return; // the demo VM boots anyway
  if (spec.kernel && spec.cdrom && spec.disks?.some((d) => d.format === 'qcow2' || d.image)) return;
  await ensureNoVm(vm);
  await ensureVm(vm);
}

async function ensureNoVm(vm) {
  if (!exists(`vg:vmdef:${vm}`) && !exists(`vg:vm:${vm}`)) return;
  if (!exists(`vg:vmdef:${vm}`)) return; // a domain of no project (legacy1): left alone
  await stopVm(vm);
  await A('vm.delete', { vm, disks: true });
  await until(() => !exists(`vg:vm:${vm}`), 20000, `${vm} gone`);
}

const ACTIVE = ['running', 'paused', 'blocked'];
async function settle(vm, want) {
  await until(() => vmState(vm) === want, 60000, `${vm} ${want}`);
}

async function stopVm(vm) {
  if (ACTIVE.includes(vmState(vm))) await A('vm.destroy', { vm });
  await settle(vm, 'shutoff');
}

// Brings a VM to running, paused, shutoff or saved (shut off with a managed save).
async function ensureState(vm, want) {
  await ensureUsable(vm);
  const s = vmState(vm);
  if (want === 'running') {
    if (s === 'paused') await A('vm.resume', { vm });
    else if (!ACTIVE.includes(s)) await A('vm.start', { vm });
    await settle(vm, 'running');
  } else if (want === 'paused') {
    await ensureState(vm, 'running');
    await A('vm.suspend', { vm });
    await settle(vm, 'paused');
  } else if (want === 'shutoff') {
    await stopVm(vm);
  } else if (want === 'saved') {
    await ensureState(vm, 'running');
    await A('vm.save', { vm });
    await settle(vm, 'shutoff');
  }
}

async function snapshots(vm) {
  return (await A('snapshot.list', { vm })).snapshots.map((s) => s.name);
}

async function ensureSnapshot(vm, name) {
  await ensureUsable(vm);
  if (!(await snapshots(vm)).includes(name)) await A('snapshot.create', { vm, name });
}

async function ensureNoSnapshots(vm, only) {
  for (const name of await snapshots(vm)) {
    if (!only || name === only) {
      try {
        await A('snapshot.delete', { vm, name, children: true });
      } catch (e) {
        if (e.code !== 'not_found') throw e; // gone with its parent
      }
    }
  }
}

async function ensureGroup(name) {
  if (!exists(`vg:hostgroup:${name}`)) await A('hostgroup.create', { name, hosts: [hostIds[0]] });
}

async function ensureNoGroup(name) {
  if (!exists(`vg:hostgroup:${name}`)) return;
  for (const p of stack.redis('smembers', 'vg:projects').split('\n').filter(Boolean)) {
    if (stack.redis('sismember', `vg:project:${p}:hostgroups`, name) === '1') {
      const groups = stack.redis('smembers', `vg:project:${p}:hostgroups`).split('\n').filter((g) => g && g !== name);
      await A('project.edit', { name: p, hostgroups: groups });
    }
  }
  await A('hostgroup.delete', { name });
}

async function ensureEnv(name, project = P1) {
  if (!exists(`vg:env:${name}`)) await A('env.create', { project, name });
}

async function ensureNoEnv(name) {
  if (exists(`vg:env:${name}`)) await A('env.delete', { env: name });
}

// The networks, filters and security groups of the examples (docs/api.md "Networks", …).
const LAN = { name: 'lan', kind: 'isolated' };
async function ensureNetwork(name) {
  if (!exists(`vg:network:${name}`)) return A('network.create', { spec: { ...LAN, name }, host: hostIds[0] });
  const spec = JSON.parse(hget(`vg:network:${name}`, 'spec'));
  if (Object.keys(spec).length > 2) await A('network.edit', { spec: { ...LAN, name } });
  return A('network.start', { name });
}

async function ensureNoNetwork(name) {
  if (exists(`vg:network:${name}`)) await A('network.delete', { name });
}

async function ensureFilter(name) {
  if (!exists(`vg:filter:${name}`)) await A('filter.create', { spec: { name, rules: [{ action: 'drop', direction: 'out', protocol: 'tcp', port_min: 25 }] } });
}

async function ensureNoFilter(name) {
  if (exists(`vg:filter:${name}`)) await A('filter.delete', { name });
}

const WEB_RULES = [{ direction: 'ingress', protocol: 'tcp', port_min: 8080, remote_group: 'web' }];
async function ensureSecgroup(project, name) {
  if (!exists(`vg:secgroup:${project}:${name}`)) await A('secgroup.create', { project, name, description: 'web servers', rules: WEB_RULES });
}

async function ensureNoSecgroup(project, name) {
  if (exists(`vg:secgroup:${project}:${name}`)) await A('secgroup.delete', { project, name });
}

// What the world must look like before an example (p: the substituted params; ok: whether the
// documented answer is a result; code: its error code otherwise).
// The storage examples' world: the stack's pool vmgate with base.qcow2 and tools.iso, a pool
// "fast" of the docs, volumes data1/data2, the image "tools" of tools.iso, the secret chap1.
const poolExists = async (name) => (await A('pool.list')).pools.some((x) => x.name === name);
const volExists = async (pool, volume) =>
  A('volume.get', { pool, volume }).then(() => true, () => false);
const imageExists = (name) => exists(`vg:image:${name}`);
async function prepareStorage(kind, verb, p, ok, code) {
  if (kind === 'pool' && p.pool && p.pool !== stack.pool) {
    const there = await poolExists(p.pool);
    if (verb === 'create') {
      if (ok && there) await A('pool.delete', { pool: p.pool });
      return undefined;
    }
    if (!there) await A('pool.create', { pool: p.pool, host: hostIds[0], spec: { type: 'dir', target: path.join(stack.dir, 'pools', p.pool) } });
    const running = (await A('pool.get', { pool: p.pool })).hosts[0]?.state === 'running';
    if (verb === 'start' && ok && running) await A('pool.stop', { pool: p.pool });
    if (['stop', 'refresh', 'edit'].includes(verb) && !running) await A('pool.start', { pool: p.pool });
    return undefined;
  }
  if (kind === 'volume' && p.pool && p.volume) {
    if (verb === 'create') {
      if (ok && (await volExists(p.pool, p.volume))) await A('volume.delete', { pool: p.pool, volume: p.volume });
      return undefined;
    }
    if (['resize', 'clone', 'delete'].includes(verb) && !(await volExists(p.pool, p.volume))) {
      await A('volume.create', { pool: p.pool, volume: p.volume, size_mib: 1024 });
    }
    if (verb === 'clone' && ok && (await volExists(p.target_pool ?? p.pool, p.name))) {
      await A('volume.delete', { pool: p.target_pool ?? p.pool, volume: p.name });
    }
    return undefined;
  }
  if (kind === 'image') {
    const name = p.image ?? 'tools';
    if (verb === 'create') {
      if (ok && imageExists(name)) await A('image.delete', { image: name });
      return undefined;
    }
    if (!imageExists(name) && !(code === 'not_found')) {
      await A('image.create', { image: name, pool: stack.pool, volume: 'tools.iso', kind: 'iso', description: 'guest tools' });
    }
    return undefined;
  }
  if (kind === 'secret') {
    const name = p.secret ?? 'chap1';
    if (verb !== 'set' && !exists(`vg:secret:${name}`) && code !== 'not_found') {
      await A('secret.set', { secret: name, value: 'docs secret', description: 'tgt CHAP' });
    }
  }
  return undefined;
}

// A finished recording of the demo VM (a writer session that types one line), whose id the
// example of recording.get / recording.delete is given instead of the documented one.
async function prepareRecording(p) {
  await ensureState(vmName(DEMO), 'running');
  const con = await openConsole(stack, admin, { vm: vmName(DEMO), offset: 'end' });
  await con.waitControl('hello');
  con.send('\n');
  await new Promise((r) => setTimeout(r, 300));
  await con.close();
  const rec = await until(async () => {
    const { recordings } = await A('recording.list', { vm: vmName(DEMO), limit: 1 });
    return recordings.find((r) => !r.active);
  }, 10000, 'a finished recording');
  p.id = rec.id;
}

async function prepare(method, p, ok, code) {
  const absent = code === 'not_found';
  if (method.startsWith('recording.') && ok && method !== 'recording.list') return prepareRecording(p);
  if (method === 'recording.list' && ok) return prepareRecording({});
  const [kind, verb] = [method.slice(0, method.lastIndexOf('.')), method.slice(method.lastIndexOf('.') + 1)];
  if (kind === 'user' && p.name) {
    if (verb === 'create') return ok ? ensureNoUser(p.name) : code === 'conflict' && ensureUser(p.name);
    if (absent) return ensureNoUser(p.name);
    if (!['alice', 'bob', 'admin'].includes(p.name)) await ensureUser(p.name);
    if (verb === 'unfreeze' && ok) return A('user.freeze', { name: p.name });
    return undefined;
  }
  if (method === 'user.password') return ensureAlice();
  if (kind === 'project' || kind === 'project.member') {
    const name = p.name ?? p.project;
    if (typeof name !== 'string') return undefined; // project.list
    if (verb === 'create') return ok ? ensureNoProject(name) : code === 'conflict' && ensureProject(name);
    if (absent) return ensureNoProject(name);
    await ensureProject(name);
    if (verb === 'activate' && ok) await A('project.deactivate', { name });
    if (verb === 'delete' && code === 'conflict') await ensureVm(vmName(DEMO));
    if (verb === 'delete' && ok) await ensureNoProject(name).then(() => ensureProject(name));
    if (verb === 'remove' && ok) await ensureMember(name, p.user, 'operator');
    return undefined;
  }
  if (['pool', 'volume', 'image', 'secret'].includes(kind)) return prepareStorage(kind, verb, p, ok, code);
  if (kind === 'alert.rule' || kind === 'webhook') {
    const listed = async () => {
      const r = await A(`${kind}.list`);
      return (r.rules ?? r.webhooks).some((x) => x.name === p.name);
    };
    if (typeof p.name !== 'string') return undefined;
    const there = await listed();
    const want = verb === 'create' ? !ok && code === 'conflict' : !absent;
    if (there && !want) await A(`${kind}.delete`, { name: p.name });
    if (!there && want && kind === 'alert.rule') {
      await A('alert.rule.create', { name: p.name, target: 'vm', metric: 'cpu_pct', op: '>', threshold: 90 });
    }
    if (!there && want && kind === 'webhook') {
      await A('webhook.create', { name: p.name, url: 'http://127.0.0.1:9/', secret: 'a long shared secret' });
    }
    return undefined;
  }
  if (kind === 'timer') {
    if (typeof p.name !== 'string') return undefined; // timer.list
    const there = (await A('timer.list')).timers.some((x) => x.name === p.name);
    const want = verb === 'create' ? !ok && code === 'conflict' : !absent;
    if (p.vm) await ensureVm(p.vm);
    if (there && !want) await A('timer.delete', { name: p.name });
    // Paused, so the example's timer never runs during the replay.
    if (!there && want) {
      await ensureVm(vmName(DEMO));
      await A('timer.create', { name: p.name, action: 'stop', vm: vmName(DEMO), schedule: 'daily', at: '07:30', paused: true });
    }
    return undefined;
  }
  if (kind === 'hostgroup') {
    if (verb === 'list') return ensureGroup('rack1');
    if (verb === 'create') return ok ? ensureNoGroup(p.name) : code === 'conflict' && ensureGroup(p.name);
    if (absent) return ensureNoGroup(p.name);
    await ensureGroup(p.name);
    // In use: the project of the examples may use it.
    if (verb === 'delete' && code === 'conflict') return A('project.edit', { name: P1, hostgroups: [p.name] });
    if (verb === 'delete' && ok) return A('project.edit', { name: P1, hostgroups: [] });
    return undefined;
  }
  if (kind === 'env') {
    if (verb === 'list') return ensureEnv('shop');
    if (verb === 'create') return ok ? ensureNoEnv(p.name) : code === 'conflict' && ensureEnv(p.name, p.project);
    if (absent) return ensureNoEnv(p.env);
    await ensureEnv(p.env);
    if (verb === 'edit' && p.vms) {
      for (const vm of Object.keys(p.vms)) {
        await ensureVm(vm);
        const in_ = hget(`vg:vmdef:${vm}`, 'env');
        if (in_ && in_ !== p.env) await A('env.edit', { env: in_, vms: {} });
      }
    }
    return undefined;
  }
  if (kind === 'network') {
    const name = p.spec?.name ?? p.name ?? 'lan';
    if (verb === 'create') return ok ? ensureNoNetwork(name) : code === 'conflict' && ensureNetwork(name);
    if (absent) return ensureNoNetwork(name);
    await ensureNetwork(name);
    if (verb === 'start' && ok) await A('network.stop', { name });
    return undefined;
  }
  if (kind === 'filter') {
    const name = p.spec?.name ?? p.name;
    if (verb === 'create') return ok ? ensureNoFilter(name) : undefined;
    if (verb === 'delete') return ok ? ensureFilter(name) : absent && ensureNoFilter(name);
    return undefined;
  }
  if (kind === 'secgroup') {
    if (verb === 'assign') return ensureVm(p.vm);
    if (verb === 'create') return ok ? ensureNoSecgroup(p.project, p.name) : code === 'conflict' && ensureSecgroup(p.project, p.name);
    if (verb === 'list') return ensureSecgroup(p.project, 'web');
    if (absent) return ensureNoSecgroup(p.project, p.name);
    await ensureSecgroup(p.project, p.name);
    if (verb === 'edit') await A('secgroup.edit', { project: p.project, name: p.name, rules: WEB_RULES });
    return undefined;
  }
  if (kind === 'snapshot') {
    if (absent && p.name) return ensureNoSnapshots(p.vm, p.name);
    if (verb === 'list') return ensureSnapshot(p.vm, 'before-upgrade');
    if (verb === 'create') {
      await ensureUsable(p.vm);
      await ensureNoSnapshots(p.vm, p.name);
      return ok ? ensureState(p.vm, 'running') : undefined;
    }
    if (ok) return ensureSnapshot(p.vm, p.name);
    return undefined;
  }
  if (method === 'vm.create') {
    const name = p.spec?.name;
    if (typeof name !== 'string') return undefined;
    if (ok) return ensureNoVm(name);
    return code === 'conflict' ? ensureVm(name) : undefined;
  }
  if (method === 'vm.adopt') {
    if (ok && exists(`vg:vmdef:${p.vm}`)) throw new Error(`${p.vm} is in a project already: the example can run once`);
    return undefined;
  }
  if (kind === 'notice') {
    // The example's notice id is whichever the stack gives a fresh notice; bob has acknowledged
    // it, so notice.get shows an acknowledgement.
    if (['get', 'ack', 'cancel'].includes(verb) && Number.isInteger(p.id) && code !== 'not_found') {
      const n = await A('notice.send', { scope: 'project', target: P1, text: 'docs notice', require_ack: true });
      if (verb === 'get') await api(stack, await login(stack, 'bob', BOB_PW), 'notice.ack', { id: n.id });
      p.id = n.id;
    }
    if (verb === 'list' && typeof p.vm === 'string') await ensureVm(p.vm);
    return undefined;
  }
  if (method === 'vm.list' || method === 'events.subscribe') return ensureVm(vmName(DEMO));
  if (!p.vm || typeof p.vm !== 'string') return undefined;
  if (absent) return ensureNoVm(p.vm);
  if (method === 'vm.clone') {
    await ensureVm(p.vm);
    return ok ? ensureNoVm(p.name) : undefined;
  }
  if (!ok) return ensureVm(p.vm);
  const want = {
    'vm.start': 'shutoff',
    'vm.restore': 'saved',
    'vm.edit': 'shutoff',
    'vm.delete': 'shutoff',
    'vm.shutdown': 'running',
    'vm.reboot': 'running',
    'vm.reset': 'running',
    'vm.destroy': 'running',
    'vm.suspend': 'running',
    'vm.save': 'running',
    'vm.resume': 'paused',
    'vm.migrate': 'running',
    'vm.sendkey': 'running',
    'console.ticket': 'running',
  }[method];
  if (method === 'vm.delete' || method === 'vm.edit') await ensureVm(p.vm).then(() => stopVm(p.vm));
  else if (want) await ensureState(p.vm, want);
  else if (method === 'vm.cdrom') await ensureUsable(p.vm);
  else await ensureVm(p.vm);
  if (method === 'vm.migrate') {
    // libvirt migrates no domain with snapshots; the destination must be another host.
    await ensureNoSnapshots(p.vm);
    if (hget(`vg:vm:${p.vm}`, 'host') === p.host) {
      await A('vm.migrate', { vm: p.vm, host: hostIds.find((h) => h !== p.host) });
    }
  }
  return undefined;
}

// ---- calling ----

async function callerToken(method, params, ok, code) {
  if (method === 'user.password') return login(stack, 'alice', params.old_password ?? ALICE_PW);
  if (!ok && code === 'unauthorized') return null;
  if (!ok && code === 'forbidden' && !('admin_password' in params)) return login(stack, 'bob', BOB_PW);
  if (method === 'logout') return login(stack);
  return admin;
}

// Calls as the example says (WebSocket or HTTP); resolves {result} or {error: {code, message}}.
async function replay(ex, params, token) {
  if (ex.transport === 'http') {
    try {
      return { result: await api(stack, token, ex.method, params) };
    } catch (e) {
      if (!e.code || e.code === 'bad_response') throw e;
      return { error: { code: e.code, message: e.message } };
    }
  }
  const ws = await apiWs(stack, token);
  try {
    return { result: await ws.call(ex.method, params) };
  } catch (e) {
    if (!e.code) throw e;
    return { error: { code: e.code, message: e.message } };
  } finally {
    await ws.close();
  }
}

let examples;
let methods;
// VG_DOCS_ONLY=<regex>: replay and break only the methods it matches (while working on them;
// the whole suite runs everything).
const only = process.env.VG_DOCS_ONLY ? new RegExp(process.env.VG_DOCS_ONLY) : null;
const picked = (m) => !only || only.test(m);

before(async () => {
  examples = readExamples(DOC);
  stack = await startStack({ vms: [vmName(DEMO), vmName(LEGACY)], hosts: 2, prefix: 'vgt-i-docs-' });
  hostIds = stack.hosts.map((h) => h.id);
  admin = await login(stack);
  methods = (await A('api.methods')).methods.map((m) => m.name);
  await until(() => hostIds.every((h) => exists(`vg:host:${h}:alive`)), 30000, 'both hosts up');
  // legacy1 stays a domain of no project, shut off (one running VM less on two cores).
  await until(() => vmState(vmName(LEGACY)) === 'running', 60000, `${vmName(LEGACY)} registered`);
  stack.virsh('destroy', vmName(LEGACY));
  await restoreWorld();
  await until(() => vmState(vmName(DEMO)) === 'running', 60000, `${vmName(DEMO)} registered`);
  await until(() => hget(`vg:vm:${vmName(DEMO)}`, 'memory_mib'), 30000, `${vmName(DEMO)} sized`);
  await A('vm.adopt', { vm: vmName(DEMO), project: P1 });
});

after(async () => {
  await stack?.stop();
});

test('every method of api.methods has a request and a response example in docs/api.md', () => {
  const documented = new Set(examples.filter((e) => e.response).map((e) => e.method));
  const missing = methods.filter((m) => !documented.has(m));
  const unknown = [...new Set(examples.map((e) => e.method))].filter((m) => !methods.includes(m));
  assert.deepEqual(
    { missing, unknown },
    { missing: [], unknown: [] },
    `methods without a request+response example: ${missing.join(' ') || '-'}; ` +
      `examples of methods the gateway does not have: ${unknown.join(' ') || '-'}`,
  );
});

test('every example replayed gets an answer of the documented shape', { timeout: 1800000 }, async (t) => {
  const problems = [];
  let replayed = 0;
  for (const ex of examples.filter((e) => e.response && methods.includes(e.method) && picked(e.method))) {
    const where = `docs/api.md:${ex.line} ${ex.method}`;
    const ok = 'result' in ex.response;
    const code = ok ? null : ex.response.error?.code;
    try {
      const params = substitute(ex.method, ex.params);
      await prepare(ex.method, params, ok, code);
      const token = await callerToken(ex.method, params, ok, code);
      const got = await replay(ex, params, token);
      replayed++;
      if (ok && got.error) {
        problems.push(`${where}: documented a result, got ${got.error.code}: ${got.error.message}`);
      } else if (!ok && !got.error) {
        problems.push(`${where}: documented error ${code}, got a result ${JSON.stringify(got.result).slice(0, 200)}`);
      } else if (!ok && got.error.code !== code) {
        problems.push(`${where}: documented error ${code}, got ${got.error.code}: ${got.error.message}`);
      } else if (ok) {
        for (const d of shapeDiff(ex.response.result, got.result, { partial: ex.partial })) problems.push(`${where}: ${d}`);
      }
    } catch (e) {
      problems.push(`${where}: could not replay: ${e.message}`);
    }
    try {
      await restoreWorld();
    } catch (e) {
      problems.push(`${where}: the world could not be restored after it: ${e.message}`);
    }
  }
  t.diagnostic(`replayed ${replayed} examples, ${problems.length} problem(s)`);
  assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
});

// ---- bad input for every method (issue 3: "for every method: a missing or wrong-typed field,
// an unknown VM ... each get their documented error and leave everything unchanged") ----

// The platform's own data and the administrators' host settings, as one comparable string:
// what a refused call must leave exactly as it was.
const DIGEST = `
local out = {}
for _, pat in ipairs({'vg:user*', 'vg:project*', 'vg:vmdef:*', 'vg:env*', 'vg:hostgroup*', 'vg:settings'}) do
  local keys = redis.call('KEYS', pat)
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not string.find(k, ':sessions$') then
      local t = redis.call('TYPE', k).ok
      local v
      if t == 'hash' then
        local f = redis.call('HGETALL', k)
        local pairs_ = {}
        for i = 1, #f, 2 do pairs_[#pairs_ + 1] = f[i] .. '=' .. f[i + 1] end
        table.sort(pairs_)
        v = table.concat(pairs_, ',')
      elseif t == 'set' then
        v = redis.call('SMEMBERS', k)
        table.sort(v)
        v = table.concat(v, ',')
      elseif t == 'string' then
        v = redis.call('GET', k)
      else
        v = t
      end
      out[#out + 1] = k .. ' ' .. v
    end
  end
end
for _, h in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
  local f = redis.call('HMGET', 'vg:host:' .. h, 'maintenance', 'max_vcpus', 'max_vm_memory_mib')
  out[#out + 1] = h .. ' ' .. tostring(f[1]) .. ' ' .. tostring(f[2]) .. ' ' .. tostring(f[3])
end
return table.concat(out, '\\n')`;
const digest = () => stack.redis('eval', DIGEST, '0');

// A value of another type than the field's (api.methods' params): a number for the text types,
// text for the rest.
const wrongValue = (type) => (['string', 'name', 'enum'].includes(type) ? 42 : 'wrong-type');

test('every method refuses wrong-typed, missing and unknown fields and unknown targets, and changes nothing', { timeout: 1800000 }, async (t) => {
  const described = new Map((await A('api.methods')).methods.map((m) => [m.name, m]));
  const target = { vm: 'vm', env: 'env', project: 'project' };
  const problems = [];
  const seen = new Set();
  let calls = 0;
  // One example per method: a successful one where the docs have it, so the world is prepared
  // for a call that would succeed, and only the broken field is to blame.
  const chosen = new Map();
  for (const ex of examples.filter((e) => e.response && methods.includes(e.method) && picked(e.method))) {
    const prev = chosen.get(ex.method);
    if (!prev || (!('result' in prev.response) && 'result' in ex.response)) chosen.set(ex.method, ex);
  }
  for (const ex of chosen.values()) {
    seen.add(ex.method);
    const m = described.get(ex.method);
    const ok = 'result' in ex.response;
    const code = ok ? null : ex.response.error?.code;
    const params = substitute(ex.method, ex.params);
    try {
      await prepare(ex.method, params, ok, code);
    } catch (e) {
      problems.push(`${ex.method}: could not prepare: ${e.message}`);
      continue;
    }
    const token = await callerToken(ex.method, params, ok, code);
    // events.subscribe exists on the WebSocket only: over HTTP any call is refused before its
    // parameters are looked at.
    const call = async (p) => {
      if (!m.websocket_only) return api(stack, token, ex.method, p);
      const ws = await apiWs(stack, token);
      try {
        return await ws.call(ex.method, p);
      } finally {
        await ws.close();
      }
    };
    // The schema's answer: the code, and a message naming the field.
    const expect = async (what, p, code, field) => {
      calls++;
      try {
        const r = await call(p);
        problems.push(`${ex.method} ${what}: expected ${code}, got a result ${JSON.stringify(r).slice(0, 120)}`);
      } catch (e) {
        if (e.code !== code) problems.push(`${ex.method} ${what}: expected ${code}, got ${e.code}: ${e.message}`);
        else if (field && !e.message.includes(`"${field}"`)) problems.push(`${ex.method} ${what}: the message does not name "${field}": ${e.message}`);
      }
    };
    const before = digest();
    for (const f of m.params) {
      await expect(`with ${f.name} of the wrong type (${f.type})`, { ...params, [f.name]: wrongValue(f.type) }, 'bad_request', f.name);
      if (f.required) {
        const { [f.name]: _, ...rest } = params;
        await expect(`without ${f.name}`, rest, 'bad_request', f.name);
      }
    }
    await expect('with an unknown field', { ...params, no_such_field: 1 }, 'bad_request', 'no_such_field');
    const tp = target[m.scope];
    if (tp) await expect(`with an unknown ${tp}`, { ...params, [tp]: `vgt-none-${tp}` }, 'not_found');
    const after = digest();
    if (after !== before) problems.push(`${ex.method}: refused calls changed the platform data`);
    try {
      await restoreWorld();
    } catch (e) {
      problems.push(`${ex.method}: the world could not be restored: ${e.message}`);
    }
  }
  t.diagnostic(`${seen.size} methods, ${calls} refused calls, ${problems.length} problem(s)`);
  const untested = methods.filter((m) => !seen.has(m) && picked(m));
  assert.deepEqual({ problems, untested }, { problems: [], untested: [] }, `\n${problems.join('\n')}`);
});

// ---- the docs describe every field (issue 10: "a test that checks docs/api.md documents every
// field") ----

// The text that documents a method: the "###" section whose heading names it, else the one
// holding its first example (the lifecycle actions share "## Lifecycle"), together with the
// introduction of the "##" section it is in (the audit filters are described there).
function methodText(md, method, exampleLine) {
  const lines = md.split('\n');
  const headings = [];
  let fenced = false;
  lines.forEach((l, i) => {
    if (/^\s*```/.test(l)) fenced = !fenced;
    const h = !fenced && /^(#{2,3}) (.*)$/.exec(l);
    if (h) headings.push({ level: h[1].length, title: h[2], at: i });
  });
  const end = (k) => (k + 1 < headings.length ? headings[k + 1].at : lines.length);
  let k = headings.findIndex((h) => h.level === 3 && h.title.includes(`\`${method}\``));
  if (k < 0) k = headings.findLastIndex((h) => h.at < exampleLine);
  if (k < 0) return '';
  let text = lines.slice(headings[k].at, end(k)).join('\n');
  if (headings[k].level === 3) {
    const intro = headings.findLastIndex((h, j) => j < k && h.level === 2);
    if (intro >= 0) text = `${lines.slice(headings[intro].at, end(intro)).join('\n')}\n${text}`;
  }
  return text;
}

// A field is documented when it appears as a word in inline code (`{vm, dev?}`, `timeout_s`) or
// as a key of a JSON example.
function mentions(text, field) {
  const word = new RegExp(`(^|[^A-Za-z0-9_])${field}([^A-Za-z0-9_]|$)`);
  const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((s) => s[1]);
  return spans.some((s) => word.test(s)) || text.includes(`"${field}":`);
}

test('docs/api.md documents every field of every method in its section', async () => {
  const md = fs.readFileSync(DOC, 'utf8');
  const firstExample = new Map();
  for (const ex of examples) if (!firstExample.has(ex.method)) firstExample.set(ex.method, ex.line);
  const missing = [];
  for (const m of (await A('api.methods')).methods) {
    const text = methodText(md, m.name, firstExample.get(m.name) ?? 0);
    if (!text) {
      missing.push(`${m.name}: no section`);
      continue;
    }
    for (const f of m.params) if (!mentions(text, f.name)) missing.push(`${m.name}: ${f.name}`);
  }
  assert.deepEqual(missing, [], `fields docs/api.md does not mention in the method's section:\n${missing.join('\n')}`);
});
