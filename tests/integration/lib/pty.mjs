// A terminal for `vmgatectl console` in tests (vmgatectl and users tests).
import { spawn } from 'node:child_process';

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

export function ptyConsole(bin, args, env) {
  const p = spawn('python3', ['-c', PTY_DRIVER, bin, ...args], { env });
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
