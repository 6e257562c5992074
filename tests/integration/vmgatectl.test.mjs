// vmgatectl against a private stack (docs/vmgatectl.md): list, exec with its exit codes,
// and console attached through a pseudo-terminal, detaching with Ctrl-].
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { startStack, REPO } from './lib/stack.mjs';

const VM = 'vgt-ctl';
const BIN = path.join(process.env.VG_BUILD_DIR || path.join(REPO, 'build'), 'tools/vmgatectl/vmgatectl');
let stack;

// Runs vmgatectl with the stack's URL, CA and credentials in the environment.
function ctl(args, { timeoutMs = 120000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    execFile(BIN, args, { env: ctlEnv(), timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
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

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-ctl-' });
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

test('exec of an unknown VM exits 1 naming not_found', async () => {
  const r = await ctl(['exec', 'vgt-no-such-vm', '--', 'true']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not_found/);
});

test('usage errors exit 2, wrong passwords exit 1 with unauthorized', async () => {
  const r = await ctl(['exec', VM]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs a command/);
  const bad = await ctl(['--password', 'wrong', 'list']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unauthorized/);
});

// Drives `vmgatectl console` through a pty (python3's pty module gives it a real terminal).
// The driver reads one command per line on stdin and answers each with one JSON line:
//   send <hex bytes>      -> {"ok":true}
//   wait <secs> <hex text> -> {"ok":<the text appeared in the output since the last wait>}
//   exit <secs>           -> {"ok":<exited>,"code":<exit status>,"out":<all output>}
const PTY_DRIVER = `
import json, os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
seen = 0
def pump(secs, pred):
    global out
    end = time.time() + secs
    while not pred() and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b''
            if not d:
                return
            out += d
    return pred()
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == 'send':
        os.write(fd, bytes.fromhex(args[0]))
        res = {'ok': True}
    elif cmd == 'wait':
        text = bytes.fromhex(args[1])
        ok = bool(pump(float(args[0]), lambda: out.find(text, seen) >= 0))
        if ok:
            seen = out.find(text, seen) + len(text)
        res = {'ok': ok}
    else:
        status = None
        end = time.time() + float(args[0])
        while status is None and time.time() < end:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            else:
                pump(0.1, lambda: False)
        if status is None:
            os.kill(pid, 9)
            status = os.waitpid(pid, 0)[1]
        pump(0.2, lambda: False)
        res = {'ok': True, 'code': os.waitstatus_to_exitcode(status), 'out': out.decode('latin1')}
    print(json.dumps(res), flush=True)
`;

function ptyConsole(args) {
  const p = spawn('python3', ['-c', PTY_DRIVER, BIN, ...args], { env: ctlEnv() });
  let buf = '';
  let stderr = '';
  const waiting = [];
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) waiting.shift()(JSON.parse(buf.slice(0, i)));
  });
  p.stderr.on('data', (d) => (stderr += d));
  const ask = (line) =>
    new Promise((resolve, reject) => {
      waiting.push(resolve);
      p.stdin.write(`${line}\n`, (e) => e && reject(new Error(`pty driver: ${e.message} ${stderr}`)));
    });
  const hex = (s) => Buffer.from(s, 'latin1').toString('hex');
  return {
    send: (s) => ask(`send ${hex(s)}`),
    wait: async (s, secs = 30) => (await ask(`wait ${secs} ${hex(s)}`)).ok,
    exit: async (secs = 15) => {
      const r = await ask(`exit ${secs}`);
      p.stdin.end();
      return r;
    },
    // After a failed assertion: closing the pty hangs vmgatectl up, so nothing outlives the test.
    kill: () => p.exitCode === null && p.kill('SIGKILL'),
  };
}

test('console shows output in a terminal and detaches on Ctrl-]', async (t) => {
  const c = ptyConsole(['console', VM]);
  t.after(c.kill);
  assert.ok(await c.wait('Ctrl-] detaches'), 'no attach notice');
  await c.send('echo pty-$((2*21))\r');
  assert.ok(await c.wait('pty-42\r\n'), 'no command output');
  await c.send('\x1d');
  const r = await c.exit();
  assert.match(r.out, /attached to vgt-ctl serial0 \(rw, writer\)/);
  assert.match(r.out, /detached from vgt-ctl/);
  assert.equal(r.code, 0, r.out.slice(-2000));
});

test('console reconnects across a gateway restart without losing or repeating output', async (t) => {
  const c = ptyConsole(['console', VM]);
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
