// The registry in Redis (C1, docs/redis.md): a started VM appears in vg:vms, vg:vm:<name> and
// vg:vm:<name>:consoles within 2 s of its console socket existing, and every `redis-cli`
// example in docs/redis.md runs as written against a live stack.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, REPO } from './lib/stack.mjs';
import { until } from './lib/wait.mjs';

const VMS = ['vgt-reg1', 'vgt-reg2'];
const DOC_VMS = ['demo1', 'demo2'];
const LIMIT_MS = 2000;
let stack;

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-registry-' });
});

after(async () => {
  await stack?.stop();
});

function registered(vm) {
  const vmHash = stack.redis('hget', `vg:vm:${vm}`, 'host');
  const serial = stack.redis('hget', `vg:vm:${vm}:consoles`, 'serial0');
  return (
    stack.redis('sismember', 'vg:vms', vm) === '1' &&
    vmHash === stack.hostId &&
    serial === stack.socket(vm, 'com')
  );
}

test('a started VM is in the registry within 2 s of its console socket existing', async () => {
  for (const vm of VMS) {
    const sock = stack.socket(vm, 'com');
    assert.equal(fs.existsSync(sock), false);
    // The socket is created by libvirt while `virsh start` runs, so watch it concurrently.
    const starting = stack.addVm(vm);
    const seen = await until(() => fs.existsSync(sock) && Date.now(), 30000, `${sock} to exist`, 5);
    await until(() => registered(vm), 10000, `${vm} in the registry`, 5);
    const ms = Date.now() - seen;
    await starting;
    console.log(`${vm}: registered ${ms} ms after its console socket appeared`);
    assert.ok(ms <= LIMIT_MS, `${vm} registered ${ms} ms after its socket appeared (limit ${LIMIT_MS})`);
    assert.equal(stack.redis('hget', `vg:vm:${vm}`, 'name'), vm);
    assert.equal(stack.redis('sismember', `vg:host:${stack.hostId}:vms`, vm), '1');
  }
});

// hostd_sync.lua rewrote every VM of the host at every heartbeat (~9 commands per VM): 1,000
// hosts of 100 VMs at the default 2 s were more than one Redis could run, and the syncs queued
// for tens of seconds (docs/performance.md "1,000 hosts"). A rewrite replaces each VM's consoles
// hash (DEL, then its devices), so a field added to it behind hostd's back says whether one ran.
test('a heartbeat with nothing changed rewrites no VM; a VM hash deleted behind hostd is back within a heartbeat', async () => {
  for (const vm of VMS) await until(() => registered(vm), 10000, `${vm} in the registry`);
  const hkey = `vg:host:${stack.hostId}`;
  const interval = Number(stack.redis('hget', hkey, 'heartbeat_interval_ms'));
  const marked = () => VMS.filter((vm) => stack.redis('hget', `vg:vm:${vm}:consoles`, 'vgt-mark') === '1');
  // One heartbeat first, so a sync made by a change that was still settling has passed.
  const beat = async () => {
    const last = stack.redis('hget', hkey, 'last_heartbeat_ms');
    await until(() => stack.redis('hget', hkey, 'last_heartbeat_ms') !== last, 3 * interval, 'a heartbeat', 20);
  };
  await beat();
  for (const vm of VMS) stack.redis('hset', `vg:vm:${vm}:consoles`, 'vgt-mark', '1');
  for (let i = 0; i < 3; i++) await beat();
  assert.deepEqual(marked(), VMS, 'three heartbeats of an unchanged host rewrote VMs');

  stack.redis('del', `vg:vm:${VMS[0]}`, `vg:vm:${VMS[0]}:consoles`);
  const t0 = Date.now();
  await until(() => registered(VMS[0]), 3 * interval, `${VMS[0]} back in the registry`, 20);
  const ms = Date.now() - t0;
  assert.ok(ms <= interval + 1000, `${VMS[0]} came back after ${ms} ms (heartbeat ${interval} ms)`);
  assert.deepEqual(marked(), [], 'the sync that restored it rewrote the VMs');
});

// Every heartbeat sent hostd's whole VM list (15 KB of JSON per 100 VMs), which hostd_sync.lua
// decoded and hashed each time (docs/performance.md "1,000 hosts"). A heartbeat of a host whose
// list did not change now carries no list, only the digest its last full sync was answered with.
test('an unchanged hostd heartbeat sends no VM list, only the digest of the last one', async () => {
  for (const vm of VMS) await until(() => registered(vm), 10000, `${vm} in the registry`);
  const hkey = `vg:host:${stack.hostId}`;
  const interval = Number(stack.redis('hget', hkey, 'heartbeat_interval_ms'));
  const seen = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(stack.redisPort), 'monitor'], {
    env: { ...process.env, REDISCLI_AUTH: stack.redisPassword }, encoding: 'utf8', timeout: 2.5 * interval + 500,
  }).stdout;
  // MONITOR prints the EVALSHA of hostd with its arguments: host id, host JSON, VM list, TTL,
  // now, digest.
  const sha = crypto.createHash('sha1').update(['lib/prelude.lua', 'hostd_sync.lua']
    .map((f) => fs.readFileSync(path.join(REPO, 'redis-scripts', f), 'utf8')).join('')).digest('hex');
  const syncs = seen.split('\n').filter((l) => l.includes(`"EVALSHA" "${sha}" "0" "${stack.hostId}"`));
  assert.ok(syncs.length >= 2, `${syncs.length} heartbeats seen in ${2.5 * interval} ms`);
  const digest = stack.redis('hget', hkey, 'vms_digest');
  assert.match(digest, /^[0-9a-f]{40}$/);
  for (const l of syncs) {
    assert.ok(!VMS.some((vm) => l.includes(vm)), `a heartbeat sent the VM list: ${l.slice(0, 200)}`);
    assert.ok(l.endsWith(`"" "${interval * 3}" "${/"(\d+)" "[0-9a-f]*"$/.exec(l)?.[1]}" "${digest}"`),
      `not an empty list, the TTL, the time and the digest: ${l.slice(-200)}`);
  }
});

// docs/redis.md's examples use port 6390, the password file under .stack/ and VMs demo1/demo2
// (the rule is written at the top of its examples section); here they run with the test
// stack's port, directory and VMs. redis-cli prints error replies without "(error)" and exits 0
// when its output is not a terminal, so errors are recognised by their Redis error codes.
const REDIS_ERROR = /\(error\)|AUTH failed|^(ERR|WRONGTYPE|NOAUTH|WRONGPASS|NOSCRIPT|NOPERM|BUSY|LOADING|READONLY|EXECABORT|OOM|MISCONF)\b/m;
const BLOCKING = /\b(p?subscribe|monitor)\b/i; // run until the timeout, then judged by their output

function docExamples() {
  const md = fs.readFileSync(path.join(REPO, 'docs/redis.md'), 'utf8');
  const lines = [];
  for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) if (line.startsWith('redis-cli ')) lines.push(line);
  }
  return lines;
}

function substitute(cmd) {
  let out = cmd
    .replaceAll('.stack/', `${stack.dir}/`)
    .replace(/(-p\s+)6390\b/g, `$1${stack.redisPort}`);
  DOC_VMS.forEach((demo, i) => {
    out = out.replace(new RegExp(`\\b${demo}\\b`, 'g'), VMS[i]);
  });
  return out;
}

test('the redis-cli examples in docs/redis.md work as written', async () => {
  const examples = docExamples();
  assert.ok(examples.length > 0, 'docs/redis.md has no redis-cli examples in ```sh blocks');
  for (const vm of VMS) await until(() => registered(vm), 10000, `${vm} in the registry`);
  const failures = [];
  for (const example of examples) {
    const cmd = substitute(example);
    const blocking = BLOCKING.test(cmd);
    let code = 0;
    let stdout = '';
    let stderr = '';
    try {
      ({ stdout, stderr } = await promisify(execFile)('bash', ['-c', cmd], {
        cwd: REPO,
        timeout: blocking ? 1500 : 10000,
      }));
    } catch (e) {
      ({ stdout = '', stderr = '' } = e);
      code = blocking && e.killed ? 0 : (e.code ?? e.signal);
    }
    const output = stdout + stderr.replace(/^Warning: Using a password.*\n/m, '');
    if (code !== 0 || REDIS_ERROR.test(output)) failures.push(`${example}\n  → exit ${code}: ${output.trim().slice(0, 300)}`);
  }
  assert.deepEqual(failures, [], `failing examples:\n${failures.join('\n')}`);
});
