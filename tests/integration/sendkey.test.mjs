// Special keys (C13, docs/api.md "vm.sendkey"): keys pressed on a real test guest's keyboard
// through libvirt. SysRq h makes the guest kernel print its SysRq help on the serial console;
// Ctrl-Alt-Del makes the guest's init (busybox, ::ctrlaltdel:/sbin/reboot) reboot it; bad input,
// a stopped VM and roles without the right are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell } from './lib/client.mjs';
import { makeMember, waitVms } from './lib/tenancy.mjs';
import { rejects, until } from './lib/wait.mjs';
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO } from './lib/stack.mjs';

const BIN = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/vmgatectl/vmgatectl');
const ctlEnv = () => ({
  ...process.env,
  VMGATE_URL: stack.url,
  VMGATE_USER: stack.adminUser,
  VMGATE_PASSWORD: stack.adminPassword,
  VMGATE_CA: stack.caFile,
});
const ctl = (args) =>
  new Promise((resolve) => {
    const child = execFile(BIN, args, { env: ctlEnv(), timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
    child.stdin.end();
  });

const VM = 'vgt-k-vm1';
let stack;
let admin;
let con;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-k-sendkey-' });
  admin = await login(stack);
  await waitVms(stack, admin, [VM], 120000);
  await api(stack, admin, 'project.create', { name: 'pk1' });
  await api(stack, admin, 'vm.adopt', { vm: VM, project: 'pk1' });
  await makeMember(stack, admin, 'pk1', 'kop', 'operator', 'kop-password-1');
  await makeMember(stack, admin, 'pk1', 'kview', 'viewer', 'kview-password-1');
  con = await openShell(stack, admin, { vm: VM });
});

after(async () => {
  con?.close();
  await stack?.stop();
});

test('sysrq-h: the guest kernel prints its SysRq help on the serial console', { timeout: 120000 }, async () => {
  const op = await login(stack, 'kop', 'kop-password-1');
  const mark = con.output.length;
  assert.deepEqual(await api(stack, op, 'vm.sendkey', { vm: VM, keys: ['sysrq-h'] }), { vm: VM, keys: ['sysrq-h'] });
  await con.waitFor(/sysrq: HELP : .*reboot\(b\).*show-memory-usage\(m\)/s, 10000, { from: mark });
  // The same keys by their names, held for 200 ms.
  const mark2 = con.output.length;
  await api(stack, op, 'vm.sendkey', { vm: VM, keys: ['KEY_LEFTALT', 'KEY_SYSRQ', 'KEY_H'], hold_ms: 200 });
  await con.waitFor('sysrq: HELP', 10000, { from: mark2 });
});

test('vm.sendkey refuses bad input, a viewer and an unknown VM, and sends nothing', { timeout: 60000 }, async () => {
  const view = await login(stack, 'kview', 'kview-password-1');
  const mark = con.output.length;
  const bad = [
    [{ vm: VM, keys: [] }, /at least one key/],
    [{ vm: VM, keys: ['KEY_NOPE'] }, /unknown key "KEY_NOPE"/],
    [{ vm: VM, keys: 'ctrl-alt-del' }, /keys/],
    [{ vm: VM, keys: [29] }, /keys/],
    [{ vm: VM, keys: ['ctrl-alt-del', 'KEY_A'] }, /sent alone/],
    [{ vm: VM, keys: ['sysrq-'] }, /no SysRq key/],
    [{ vm: VM, keys: ['sysrq-H'] }, /no SysRq key/],
    [{ vm: VM, keys: ['sysrq-hh'] }, /no SysRq key/],
    [{ vm: VM, keys: Array(17).fill('KEY_A') }, /at most 16/],
    [{ vm: VM, keys: ['KEY_A'], hold_ms: -1 }, /hold_ms/],
    [{ vm: VM, keys: ['KEY_A'], hold_ms: 10001 }, /hold_ms/],
    [{ vm: VM }, /keys/],
  ];
  for (const [p, re] of bad) {
    const e = await rejects(api(stack, admin, 'vm.sendkey', p), 'bad_request', 400);
    assert.match(e.message, re);
  }
  const e = await rejects(api(stack, admin, 'vm.sendkey', { vm: VM, keys: ['break'] }), 'unsupported', 501);
  assert.match(e.message, /serial break is not supported/);
  await rejects(api(stack, view, 'vm.sendkey', { vm: VM, keys: ['sysrq-h'] }), 'forbidden', 403);
  await rejects(api(stack, admin, 'vm.sendkey', { vm: 'vgt-k-nope', keys: ['sysrq-h'] }), 'not_found', 404);
  await new Promise((r) => setTimeout(r, 500));
  assert.doesNotMatch(con.output.subarray(mark).toString(), /sysrq/);
  const { entries } = await api(stack, admin, 'audit.query', { user: 'kview' });
  assert.ok(entries.some((x) => x.method === 'vm.sendkey' && x.result === 'forbidden'));
});

test('vmgatectl: sendkey VM KEY..., notice verbs, and console prints the live notices when it attaches and when they come', { timeout: 120000 }, async () => {
  const mark = con.output.length;
  const ok = await ctl(['sendkey', VM, 'sysrq-h']);
  assert.equal(ok.code, 0, ok.stderr);
  await con.waitFor('sysrq: HELP', 10000, { from: mark });
  const bad = await ctl(['sendkey', VM, 'KEY_NOPE']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown key "KEY_NOPE"/);
  assert.equal((await ctl(['sendkey', VM])).code, 2);
  assert.equal((await ctl(['notice', 'shout', 'text=x'])).code, 2);

  const sent = await ctl(['--json', 'notice', 'send', 'scope=vm', `target=${VM}`, 'text=first notice', 'level=warn']);
  assert.equal(sent.code, 0, sent.stderr);
  const first = JSON.parse(sent.stdout);
  const child = spawn(BIN, ['console', VM, '--ro'], { env: ctlEnv() });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    await until(() => /notice \d+ \(warn\) from admin: first notice/.test(stderr), 20000, 'the live notice on attach');
    await ctl(['notice', 'send', 'scope=project', 'target=pk1', 'text=second notice', 'require_ack=true']);
    await until(() => /notice \d+ \(info\) from admin: second notice \[acknowledge/.test(stderr), 20000, 'a new notice while attached');
  } finally {
    child.kill();
  }
  assert.doesNotMatch(con.output.toString(), /first notice|second notice/, 'nothing reaches the guest');
  const listed = JSON.parse((await ctl(['--json', 'notice', 'list', `vm=${VM}`])).stdout);
  assert.ok(listed.notices.some((n) => n.id === first.id));
  assert.equal((await ctl(['notice', 'ack', `id=${first.id}`])).code, 0);
  assert.equal((await ctl(['notice', 'cancel', `id=${first.id}`])).code, 0);
});

test('ctrl-alt-del reboots the guest (its init handles it); a stopped VM is refused with conflict', { timeout: 240000 }, async () => {
  const mark = con.output.length;
  await api(stack, admin, 'vm.sendkey', { vm: VM, keys: ['ctrl-alt-del'] });
  await con.waitFor(/reboot: Restarting system/, 60000, { from: mark });
  await con.waitFor('GUEST-READY', 120000, { from: mark });
  await api(stack, admin, 'vm.destroy', { vm: VM });
  const e = await rejects(api(stack, admin, 'vm.sendkey', { vm: VM, keys: ['sysrq-h'] }), 'conflict', 409);
  assert.match(e.message, /not running/);
});
