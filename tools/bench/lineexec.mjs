// console.exec round trip (docs/performance.md "console.exec"): on one VM — a real TCG test
// guest and a synthetic console — and on 100 synthetic consoles at once (time until all 100
// results are in); then console.watch: from a line written on a synthetic console's socket to
// its console.output event on an API WebSocket, and what one watch delivers of a 20 MB burst. It starts its own private stack with the integration tests' helpers
// (tests/integration/lib: one real guest, hostd, gateway, Redis), so it needs what they need.
//
//   node tools/bench/lineexec.mjs [--rounds=50] [--vms=100] [--batches=5]
// Prints one JSON line of results.
import { options, summary, nowMs } from './lib.mjs';
import { startStack } from '../../tests/integration/lib/stack.mjs';
import { api, apiWs, login, openShell } from '../../tests/integration/lib/client.mjs';
import { until } from '../../tests/integration/lib/wait.mjs';
import { fakeShell } from '../../tests/integration/lib/fakeshell.mjs';

const o = options({ rounds: 50, vms: 100, batches: 5 });
const REAL = 'vgt-bench-lx';
const syn = Array.from({ length: o.vms }, (_, i) => `vgt-bench-lx${i}`);
const stack = await startStack({ vms: [REAL], prefix: 'vgt-bench-lx-' });
const servers = syn.map((vm) => fakeShell(stack.socket(vm)));
const WATCHED = 'vgt-bench-lxw';
// hostd's holder connection (the latest: an earlier one may have closed)
let watchedSocket = null;
servers.push(fakeShell(stack.socket(WATCHED), (s) => {
  watchedSocket = s;
  s.on('close', () => watchedSocket === s && (watchedSocket = null));
}));
try {
  const admin = await login(stack);
  for (const vm of syn) await until(() => stack.redis('exists', `vg:vm:${vm}`) === '1', 60000, `${vm} registered`);
  (await openShell(stack, admin, { vm: REAL, mode: 'ro' })).close();
  const exec = (params) => api(stack, admin, 'console.exec', { command: 'echo $((6*7))', ...params });
  const one = async (vm) => {
    const t = [];
    for (let i = 0; i < o.rounds; i++) {
      const t0 = nowMs();
      const r = await exec({ vm });
      t.push(nowMs() - t0);
      if (r.output.trim() !== '42') throw new Error(`${vm}: ${JSON.stringify(r)}`);
    }
    return summary(t);
  };
  const real = await one(REAL);
  const synthetic = await one(syn[0]);
  const batch = [];
  for (let i = 0; i < o.batches; i++) {
    const t0 = nowMs();
    const r = await exec({ vms: syn, concurrency: o.vms });
    batch.push(nowMs() - t0);
    if (r.ok !== o.vms) throw new Error(`batch: ${r.ok}/${o.vms} ok`);
  }
  const watch = await benchWatch(admin);
  console.log(JSON.stringify({ bench: 'console.exec', one_real: real, one_synthetic: synthetic, [`all_${o.vms}_synthetic`]: summary(batch), watch }));
} finally {
  servers.forEach((s) => s.close());
  await stack.stop();
}

async function benchWatch(admin) {
  await until(() => stack.redis('exists', `vg:vm:${WATCHED}`) === '1' && watchedSocket, 60000, `${WATCHED} held`);
  const ws = await apiWs(stack, admin);
  let got = 0;
  let gap = 0;
  let seen = '';
  let wake = null;
  ws.ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.event !== 'console.output') return;
    const b = Buffer.from(m.data.data_b64, 'base64');
    got += b.length;
    if (m.data.gap) gap += m.data.gap.to - m.data.gap.from;
    seen = (seen + b.toString('latin1')).slice(-256);
    wake?.();
  });
  const waitFor = (pred) => new Promise((resolve) => {
    wake = () => pred() && resolve();
    wake();
  });
  await ws.call('console.watch', { vm: WATCHED, offset: 9007199254740992 });
  const lat = [];
  for (let i = 0; i < o.rounds; i++) {
    const mark = `w-${i}-k\r\n`;
    const t0 = nowMs();
    watchedSocket.write(mark);
    await waitFor(() => seen.includes(mark));
    lat.push(nowMs() - t0);
  }
  const BURST = 20e6;
  const from = got;
  const gap0 = gap;
  const chunk = Buffer.alloc(65536, 0x2e);
  const t0 = nowMs();
  for (let n = 0; n < BURST; n += chunk.length) if (!watchedSocket.write(chunk)) await new Promise((r) => watchedSocket.once('drain', r));
  watchedSocket.write('BURST-END\r\n');
  await waitFor(() => seen.includes('BURST-END'));
  const ms = nowMs() - t0;
  await ws.close();
  return { latency_ms: summary(lat), burst_mb: BURST / 1e6, delivered_mb: (got - from) / 1e6, gap_mb: (gap - gap0) / 1e6, seconds: ms / 1000, delivered_mb_s: (got - from) / 1e3 / ms };
}
