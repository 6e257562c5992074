// The console relay with many channels open at once (issue 17): two guests, three viewers each
// (one read-write, two read-only), all over the gateway's one link to the host
// (gateway/backend/hostmux.c). hostd restarts — the viewers stay attached while the gateway
// opens its channels again — then the gateway is killed (-9) and started again, and every
// viewer resumes at the offset it had; while both guests print numbered lines, each viewer's
// chain of streams is exactly the console's durable log over its range — no byte lost, none
// duplicated, no GAP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { login, openConsole } from './lib/client.mjs';
import { sleep, until } from './lib/wait.mjs';

const VMS = ['vgt-rr1', 'vgt-rr2'];
const PROMPT = 'testvm# ';
const TICKS = 250;
let stack;
let token;

before(async () => {
  stack = await startStack({ vms: VMS, prefix: 'vgt-relay-resume-' });
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

// Attaches at `offset`, retrying while the daemon that went is coming back.
async function attach(vm, mode, offset, ms = 60000) {
  const t0 = Date.now();
  for (;;) {
    try {
      const c = await openConsole(stack, token, { vm, mode, offset });
      await c.waitControl('hello', 5000);
      return c;
    } catch (e) {
      if (Date.now() - t0 > ms) throw e;
      await sleep(300);
    }
  }
}

// One viewer's streams, one after the other as it resumes.
class Chain {
  constructor(vm, mode, first) {
    this.vm = vm;
    this.mode = mode;
    this.parts = [first];
  }

  get last() {
    return this.parts[this.parts.length - 1];
  }

  async resume() {
    await this.last.closed;
    this.parts.push(await attach(this.vm, this.mode, this.last.nextOffset));
  }
}

function consoleLog(vm) {
  const dir = path.join(stack.dir, 'consoles');
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(`com-${vm}.log`));
  const backups = files.filter((f) => /\.log\.\d+$/.test(f)).sort((x, y) => Number(y.split('.').pop()) - Number(x.split('.').pop()));
  return Buffer.concat([...backups, `com-${vm}.log`].map((f) => fs.readFileSync(path.join(dir, f))));
}

test('six viewers of two consoles resume across a hostd restart and a gateway kill -9 with every byte once', { timeout: 600000 }, async () => {
  const chains = [];
  for (const vm of VMS) {
    const rw = await attach(vm, 'rw', 'end');
    rw.send('\n');
    await rw.waitFor(PROMPT, 120000);
    chains.push(new Chain(vm, 'rw', rw));
    for (let i = 0; i < 2; i++) chains.push(new Chain(vm, 'ro', await attach(vm, 'ro', String(rw.startOffset))));
  }
  for (const c of chains.filter((x) => x.mode === 'rw'))
    c.last.send(`i=0; while [ $i -lt ${TICKS} ]; do echo tick-$i; i=$((i+1)); usleep 20000; done; echo TICK-D""ONE\n`);
  for (const c of chains) await c.last.waitFor('tick-20\r\n', 60000);

  // hostd restarts: the gateway opens its channels again on its next link to the host, each from
  // the offset after its last byte; the browsers' viewers stay attached.
  const atRestart = chains.map((c) => c.last.nextOffset);
  await stack.restart('hostd');
  for (const [i, c] of chains.entries())
    await until(() => c.last.nextOffset > atRestart[i] + 100 || undefined, 60000, `${c.vm} ${c.mode} viewer goes on after the restart`);
  assert.ok(chains.every((c) => c.parts.length === 1 && c.last.ws.readyState === 1), 'no viewer was closed by the hostd restart');

  const pid = Number(fs.readFileSync(path.join(stack.dir, 'run/gateway.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await until(() => chains.every((c) => c.last.ws.readyState >= 2) || undefined, 20000, 'every viewer closed');
  await stack.restart('gateway');
  await Promise.all(chains.map((c) => c.resume()));

  for (const c of chains) await c.last.waitFor('TICK-DONE', 180000);
  for (const c of chains) {
    const what = `${c.vm} ${c.mode} viewer`;
    assert.deepEqual(c.parts.flatMap((p) => p.gaps), [], `${what}: no GAP`);
    for (let i = 1; i < c.parts.length; i++)
      assert.equal(c.parts[i].startOffset, c.parts[i - 1].startOffset + c.parts[i - 1].output.length, `${what}: part ${i} starts where part ${i - 1} ended`);
    const got = Buffer.concat(c.parts.map((p) => p.output));
    const start = c.parts[0].startOffset;
    const log = consoleLog(c.vm);
    assert.ok(log.length >= start + got.length, `${what}: the log holds the range`);
    assert.ok(got.equals(log.subarray(start, start + got.length)), `${what}: the stream is the log over its range`);
    const ticks = [...got.toString('latin1').matchAll(/(?<=\n)tick-(\d+)\r\n/g)].map((m) => Number(m[1]));
    assert.deepEqual(ticks.slice(-10), [...Array(10).keys()].map((k) => TICKS - 10 + k), `${what}: the last ticks, in order`);
  }
  for (const c of chains) await c.last.close();
});
