// Console offsets survive hostd restarts (C3, C5): a client that resumes at the offset it had
// gets exactly the bytes after it, including what the guest printed while hostd was down
// (virtlogd kept writing the console's log), after an orderly restart and after a crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { login, openConsole } from './lib/client.mjs';

const VM = 'vgt-hrst';
const PROMPT = 'testvm# ';
const TICKS = 300;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let stack;
let token;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-hostd-restart-' });
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

// Attaches at `offset`, retrying while hostd is still coming back (the gateway answers 4503).
async function attach(offset, ms = 30000) {
  const t0 = Date.now();
  for (;;) {
    try {
      const c = await openConsole(stack, token, { vm: VM, offset });
      await c.waitControl('hello', 5000);
      return c;
    } catch (e) {
      if (Date.now() - t0 > ms) throw e;
      await sleep(300);
    }
  }
}

function ticks(buf) {
  return [...buf.toString('latin1').matchAll(/tick-(\d+)\r\n/g)].map((m) => Number(m[1]));
}

test('a viewer resumes across hostd restarts (orderly and crash) with no lost and no duplicated byte', { timeout: 300000 }, async () => {
  const a = await attach('ring');
  const t0 = Date.now();
  for (;;) {
    const mark = a.output.length;
    a.send('\n');
    try {
      await a.waitFor(PROMPT, 3000, { from: mark });
      break;
    } catch (e) {
      if (Date.now() - t0 > 90000) throw e;
    }
  }
  a.send(`i=0; while [ $i -lt ${TICKS} ]; do echo tick-$i; i=$((i+1)); usleep 20000; done; echo TICK-D""ONE\n`);
  await a.waitFor('tick-30\r\n', 30000);

  // Orderly: hostd closes its viewers with 1001 and saves the offsets.
  await stack.restart('hostd');
  await a.closed;
  const firstResume = a.nextOffset;
  const b = await attach(firstResume);
  assert.equal(b.hello.offset, firstResume);
  await b.waitFor('tick-150\r\n', 60000);

  // Crash: nothing is flushed; the guest keeps printing while hostd is gone.
  const pid = Number(fs.readFileSync(path.join(stack.dir, 'run/hostd.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
  await b.closed;
  const secondResume = b.nextOffset;
  await sleep(1000);
  await stack.restart('hostd');
  const c = await attach(secondResume);
  await c.waitFor('TICK-DONE', 90000);

  assert.deepEqual([...b.gaps, ...c.gaps], []);
  assert.equal(b.startOffset, firstResume);
  assert.equal(c.startOffset, secondResume);
  const all = Buffer.concat([a.output, b.output, c.output]);
  assert.deepEqual(ticks(all), [...Array(TICKS).keys()]);
  // The three streams tile the console's stream exactly.
  assert.equal(a.startOffset + a.output.length, b.startOffset);
  assert.equal(b.startOffset + b.output.length, c.startOffset);
  await c.close();
});
