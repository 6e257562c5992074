// vmgatectl against a private stack (docs/vmgatectl.md): any API method by name with key=value
// params, tables and exit codes; list, exec with its exit codes, and console attached through a
// pseudo-terminal, detaching with Ctrl-].
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';
import { ptyConsole } from './lib/pty.mjs';

const VM = 'vgt-h-ctl';
const BIN = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/vmgatectl/vmgatectl');
let stack;

// Runs vmgatectl with the stack's URL, CA and credentials in the environment.
function ctl(args, { timeoutMs = 120000, env = {}, input } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = execFile(BIN, args, { env: { ...ctlEnv(), ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
    child.stdin.end(input);
  });
}

function ctlEnv() {
  return {
    ...process.env,
    VMGATE_URL: stack.url,
    VMGATE_USER: stack.adminUser,
    VMGATE_PASSWORD: stack.adminPassword,
    VMGATE_CA: stack.caFile,
  };
}

// The rows of a table printed by vmgatectl: objects keyed by the lower-cased headers, each
// cell cut from its row at its header's column (cells may be empty or hold blanks).
function table(stdout) {
  const [head, ...rows] = stdout.trimEnd().split('\n');
  const cols = [...head.matchAll(/\S+/g)].map((m) => ({ key: m[0].toLowerCase(), at: m.index }));
  return rows.map((r) =>
    Object.fromEntries(cols.map((c, i) => [c.key, r.slice(c.at, cols[i + 1]?.at).trim()])));
}

// "key: value" lines as an object.
function lines(stdout) {
  return Object.fromEntries(stdout.trimEnd().split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
}

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-h-ctl-' });
  // The VM boots under TCG; exec waits for its first prompt (it presses Enter until one comes).
  const r = await ctl(['exec', VM, '--timeout', '90', '--', 'echo', 'booted']);
  assert.equal(r.code, 0, `first exec failed: ${r.stderr}`);
});

after(async () => {
  await stack?.stop();
});

test('list shows the VM with its host, state and consoles', async () => {
  const r = await ctl(['list']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^NAME\s+HOST\s+STATE\s+CONSOLES$/);
  const row = lines.find((l) => l.startsWith(`${VM} `));
  assert.ok(row, `no row for ${VM} in:\n${r.stdout}`);
  assert.match(row, new RegExp(`^${VM}\\s+${stack.hostId}\\s+running\\s+\\S*serial0`));

  const j = await ctl(['--json', 'list']);
  assert.equal(j.code, 0, j.stderr);
  const vm = JSON.parse(j.stdout).vms.find((v) => v.name === VM);
  assert.equal(vm.state, 'running');
  assert.ok(vm.consoles.includes('serial0'));
});

test('exec prints the command output and exits 0', async () => {
  const r = await ctl(['exec', VM, '--', 'echo hello-$((6*7))']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello-42\n');
  const lines = await ctl(['exec', VM, '--', 'for i in 1 2 3; do echo line-$i; done']);
  assert.equal(lines.code, 0, lines.stderr);
  assert.equal(lines.stdout, 'line-1\nline-2\nline-3\n');
});

test('a session token works instead of user and password', async () => {
  const body = JSON.stringify({ user: stack.adminUser, password: stack.adminPassword });
  const answer = await new Promise((resolve, reject) => {
    const req = https.request(
      `${stack.url}/api/v1/login`,
      { method: 'POST', ca: fs.readFileSync(stack.caFile), headers: { 'content-type': 'application/json' } },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve(JSON.parse(data)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const token = answer.result.token;
  assert.ok(token);
  const r = await new Promise((resolve) => {
    const env = { ...ctlEnv(), VMGATE_USER: '', VMGATE_PASSWORD: '', VMGATE_TOKEN: token };
    execFile(BIN, ['list'], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${VM} `, 'm'));
});

test('exec of an unknown VM exits 4 naming not_found', async () => {
  const r = await ctl(['exec', 'vgt-no-such-vm', '--', 'true']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /not_found/);
});

test('usage errors exit 2, wrong passwords exit 3 with unauthorized', async () => {
  const r = await ctl(['exec', VM]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs a command/);
  const bad = await ctl(['--password', 'wrong', 'list']);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /unauthorized/);
  const notKv = await ctl(['vm.start', VM]);
  assert.equal(notKv.code, 2);
  assert.match(notKv.stderr, /is not key=value/);
});

test('any method by name: whoami as JSON, host.list and vm.list as tables', async () => {
  const who = await ctl(['--json', 'whoami']);
  assert.equal(who.code, 0, who.stderr);
  assert.deepEqual(JSON.parse(who.stdout), { user: stack.adminUser, role: 'admin' });
  assert.equal(who.stdout.trim().split('\n').length, 1, '--json prints one line');

  const hosts = await ctl(['host.list']);
  assert.equal(hosts.code, 0, hosts.stderr);
  assert.match(hosts.stdout, /^\S+/);
  const host = table(hosts.stdout).find((h) => h.id === stack.hostId);
  assert.ok(host, `no row for ${stack.hostId} in:\n${hosts.stdout}`);

  const vms = await ctl(['vm.list']);
  assert.equal(vms.code, 0, vms.stderr);
  assert.match(vms.stdout.split('\n')[0], /^NAME\s+UUID\s+HOST\s+STATE\s/);
  const vm = table(vms.stdout).find((v) => v.name === VM);
  assert.equal(vm?.state, 'running', vms.stdout);
  assert.equal(vm.consoles.split(',')[0], '["serial0"');

  // `methods` lists api.methods as a table; help shows a method's scope and level
  const methods = await ctl(['methods']);
  assert.equal(methods.code, 0, methods.stderr);
  const start = table(methods.stdout).find((m) => m.name === 'vm.list');
  assert.deepEqual([start.scope, start.level, start.mutates], ['any', 'viewer', 'false']);
  const help = await ctl(['help', 'whoami']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^name: whoami\nscope: self\nlevel: viewer\n/);
  assert.match(help.stdout, /### `whoami`/, 'the docs/api.md section follows');
  assert.match(help.stdout, /^params: none$/m);
  // the parameters from the method's schema (api.methods): a table, and a signature in `methods`
  const helpTicket = await ctl(['help', 'console.ticket']);
  assert.equal(helpTicket.code, 0, helpTicket.stderr);
  assert.match(helpTicket.stdout, /\nparams:\nNAME +TYPE +REQUIRED +RANGE +DOC\n/);
  assert.match(helpTicket.stdout, /^vm +name +yes +- +the VM$/m);
  assert.match(helpTicket.stdout, /^mode +enum +no +rw\|ro +read-write/m);
  assert.equal(table(methods.stdout).find((m) => m.name === 'console.ticket')?.params, 'vm, dev?, mode?');
});

test('API errors: each class of error code has its exit code and message', async () => {
  const unknown = await ctl(['vm.frobnicate', `vm=${VM}`]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^vmgatectl: unknown: .*vm\.frobnicate/);
  const unknownJson = await ctl(['--json', 'vm.frobnicate']);
  assert.equal(unknownJson.code, 1);
  assert.equal(JSON.parse(unknownJson.stderr).error.code, 'unknown');

  const missing = await ctl(['console.ticket']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^vmgatectl: bad_request: .*"vm"/);

  const notFound = await ctl(['console.ticket', 'vm=vgt-no-such-vm']);
  assert.equal(notFound.code, 4);
  assert.match(notFound.stderr, /^vmgatectl: not_found: /);

  const helpUnknown = await ctl(['help', 'vm.frobnicate']);
  assert.equal(helpUnknown.code, 1);
  assert.match(helpUnknown.stderr, /unknown/);
});

test('one method of each module: users, projects, hosts, environments, audit, VMs, sessions', async () => {
  // users: create one, list it; the viewer it is may not list users (forbidden, exit 3)
  const pw = 'h-pass-1234';
  const user = await ctl(['user.create', 'name=vgt-h-user', `password=${pw}`, 'role=viewer']);
  assert.equal(user.code, 0, user.stderr);
  const users = await ctl(['user.list']);
  assert.ok(table(users.stdout).some((u) => u.name === 'vgt-h-user' && u.role === 'viewer'), users.stdout);
  const denied = await ctl(['user.list'], { env: { VMGATE_USER: 'vgt-h-user', VMGATE_PASSWORD: pw } });
  assert.equal(denied.code, 3);
  assert.match(denied.stderr, /^vmgatectl: forbidden: /);

  // projects: nested keys build the quotas object; a second create is a conflict (exit 5)
  const proj = await ctl(['project.create', 'name=vgt-h-p1', 'description=made by vmgatectl', 'quotas.instances=2']);
  assert.equal(proj.code, 0, proj.stderr);
  const again = await ctl(['project.create', 'name=vgt-h-p1']);
  assert.equal(again.code, 5);
  assert.match(again.stderr, /^vmgatectl: conflict: /);
  // @- reads JSON from stdin; the JSON result holds what was set
  const edit = await ctl(['project.edit', 'name=vgt-h-p1', 'quotas=@-'], { input: '{"instances": 3, "vcpus": 4}' });
  assert.equal(edit.code, 0, edit.stderr);
  const got = await ctl(['--json', 'project.get', 'project=vgt-h-p1']);
  assert.equal(got.code, 0, got.stderr);
  const p = JSON.parse(got.stdout);
  assert.equal(p.description, 'made by vmgatectl');
  assert.equal(p.quota.instances, 3);
  assert.equal(p.quota.vcpus, 4);
  // nested objects print as dotted keys
  const human = lines((await ctl(['project.get', 'project=vgt-h-p1'])).stdout);
  assert.equal(human['quota.instances'], '3');

  // hosts: a group made with a JSON array value
  const group = await ctl(['hostgroup.create', 'name=vgt-h-g1', `hosts:=["${stack.hostId}"]`]);
  assert.equal(group.code, 0, group.stderr);
  const groups = await ctl(['hostgroup.list']);
  assert.ok(table(groups.stdout).some((g) => g.name === 'vgt-h-g1'), groups.stdout);

  // environments
  const env = await ctl(['env.create', 'project=vgt-h-p1', 'name=vgt-h-e1']);
  assert.equal(env.code, 0, env.stderr);
  const envs = await ctl(['env.list']);
  assert.ok(table(envs.stdout).some((e) => e.name === 'vgt-h-e1' && e.project === 'vgt-h-p1'), envs.stdout);

  // audit: the project.create calls above, the refused one included
  const audit = await ctl(['--json', 'audit.query', 'kind=api', 'limit=100']);
  assert.equal(audit.code, 0, audit.stderr);
  const creates = JSON.parse(audit.stdout).entries.filter((e) => e.method === 'project.create');
  assert.ok(creates.some((e) => e.result === 'ok'), audit.stdout);
  assert.ok(creates.some((e) => /conflict/.test(e.result)), audit.stdout);

  // VMs: key: value lines, multi-line XML, a console ticket; a second suspend is a conflict
  const vmGet = lines((await ctl(['vm.get', `vm=${VM}`])).stdout);
  assert.equal(vmGet.name, VM);
  assert.equal(vmGet.host, stack.hostId);
  const xml = await ctl(['vm.xml', `vm=${VM}`]);
  assert.equal(xml.code, 0, xml.stderr);
  assert.match(xml.stdout, new RegExp(`^vm: ${VM}\nxml:\n<domain [^\n]*>\n  <name>${VM}</name>\n`));
  const ticket = lines((await ctl(['console.ticket', `vm=${VM}`, 'mode=ro'])).stdout);
  assert.equal(ticket.vm, VM);
  assert.match(ticket.ticket, /^[0-9a-f]{64}$/);
  const suspend = await ctl(['vm.suspend', `vm=${VM}`]);
  assert.equal(suspend.code, 0, suspend.stderr);
  assert.equal(lines(suspend.stdout).state, 'paused');
  const twice = await ctl(['vm.suspend', `vm=${VM}`]);
  assert.equal(twice.code, 5);
  assert.match(twice.stderr, /^vmgatectl: conflict: .*paused/);
  const resume = await ctl(['vm.resume', `vm=${VM}`]);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(lines(resume.stdout).state, 'running');

  // sessions: bare login prints a token that then works on its own
  const login = await ctl(['--json', 'login']);
  assert.equal(login.code, 0, login.stderr);
  const { token } = JSON.parse(login.stdout);
  const who = await ctl(['whoami'], { env: { VMGATE_USER: '', VMGATE_PASSWORD: '', VMGATE_TOKEN: token } });
  assert.equal(lines(who.stdout).user, stack.adminUser);
});

test('events.subscribe prints events as they come until interrupted', async () => {
  const p = spawn(BIN, ['--json', 'events.subscribe'], { env: ctlEnv() });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const until = async (pred, what) => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(pred(), `${what}; stdout: ${out} stderr: ${err}`);
  };
  try {
    await until(() => /subscribed/.test(err), 'no subscription notice');
    const edit = await ctl(['env.edit', 'env=vgt-h-e1', 'description=changed']);
    assert.equal(edit.code, 0, edit.stderr);
    await until(() => out.includes('"env.changed"'), 'no env.changed event');
    const ev = out.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'env.changed');
    assert.equal(ev.data.env, 'vgt-h-e1');
  } finally {
    p.kill('SIGTERM');
  }
});


test('console shows output in a terminal and detaches on Ctrl-]', async (t) => {
  const c = ptyConsole(BIN, ['console', VM], ctlEnv());
  t.after(c.kill);
  assert.ok(await c.wait('Ctrl-] detaches'), 'no attach notice');
  await c.send('echo pty-$((2*21))\r');
  assert.ok(await c.wait('pty-42\r\n'), 'no command output');
  await c.send('\x1d');
  const r = await c.exit();
  assert.match(r.out, new RegExp(`attached to ${VM} serial0 \\(rw, writer\\)`));
  assert.match(r.out, new RegExp(`detached from ${VM}`));
  assert.equal(r.code, 0, r.out.slice(-2000));
});

test('console reconnects across a gateway restart without losing or repeating output', async (t) => {
  const c = ptyConsole(BIN, ['console', VM], ctlEnv());
  t.after(c.kill);
  assert.ok(await c.wait('Ctrl-] detaches'), 'no attach notice');
  await c.send('echo before-$((1+1))\r');
  assert.ok(await c.wait('before-2\r\n'));
  // printed while the gateway restarts: hostd keeps it, and the resumed stream must bring it
  await c.send('sleep 1; echo during-$((2+2))\r');
  await stack.restart('gateway');
  assert.ok(await c.wait('reconnecting'), 'no reconnect notice');
  assert.ok(await c.wait('during-4\r\n', 30), 'output from the outage was lost');
  await c.send('echo after-$((1+2))\r');
  assert.ok(await c.wait('after-3\r\n'));
  await c.send('\x1d');
  const r = await c.exit();
  assert.equal(r.code, 0, r.out.slice(-2000));
  // the stream continued at the same offset: nothing shown twice after reattaching
  assert.match(r.out, /reattached/);
  for (const line of ['before-2\r\n', 'during-4\r\n', 'after-3\r\n']) {
    assert.equal(r.out.split(line).length - 1, 1, `${JSON.stringify(line)} not exactly once in:\n${r.out.slice(-1500)}`);
  }
});

// Last: the timed-out command is interrupted with Ctrl-C, which the final exec proves.
test('exec of a command that never returns the prompt exits 124 after --timeout', async () => {
  const r = await ctl(['exec', VM, '--timeout', '3', '--', 'sleep 100']);
  assert.equal(r.code, 124, r.stderr);
  assert.match(r.stderr, /timeout/);
  assert.ok(r.ms < 15000, `took ${r.ms} ms`);
  const after = await ctl(['exec', VM, '--', 'echo back-$((1+1))']);
  assert.equal(after.code, 0, after.stderr);
  assert.equal(after.stdout, 'back-2\n');
});
