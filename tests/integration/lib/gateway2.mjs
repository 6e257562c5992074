// A second gateway on a stack's Redis and hosts, for what must hold across gateways (alerts and
// timers exactly once). It runs the stack's own binary and configuration on another port.
//
//   const second = await startSecondGateway(stack, session);
//   ... api(second.stack, session, 'whoami') ...
//   await second.stop(); // throws if its log shows a sanitizer error
//
// second.port is its HTTPS port; second.kill() ends it with SIGKILL (a crash), after which
// stop() only checks the log. opts.name names its log file (log/<name>.log, default gateway2);
// opts.args are options after the configuration's (`--name=value`).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { api } from './client.mjs';
import { until } from './wait.mjs';

// A loopback port nothing listens on.
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startSecondGateway(stack, session, { name = 'gateway2', args = [] } = {}) {
  const port = await freePort();
  const bin = fs.readFileSync(path.join(stack.dir, 'run/gateway.bin'), 'utf8').trim();
  const logFile = path.join(stack.dir, `log/${name}.log`);
  const log = fs.openSync(logFile, 'a');
  const proc = spawn(bin, ['--config', path.join(stack.dir, 'gateway.conf'), `--http_port=${port}`, ...args], {
    stdio: ['ignore', log, log],
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1:quarantine_size_mb=8' },
  });
  const gone = new Promise((r) => proc.once('exit', r));
  const second = {
    stack: { ...stack, url: `https://127.0.0.1:${port}` },
    port,
    kill() {
      proc.kill('SIGKILL');
      return gone;
    },
    async stop() {
      proc.kill('SIGTERM');
      await gone;
      assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/);
    },
  };
  await until(async () => {
    try {
      return (await api(second.stack, session, 'whoami')).user === 'admin';
    } catch {
      return false;
    }
  }, 15000, 'the second gateway');
  return second;
}
