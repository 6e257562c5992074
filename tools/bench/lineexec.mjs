// console.exec round trip (docs/performance.md "console.exec"): on one VM — a real TCG test
// guest and a synthetic console — and on 100 synthetic consoles at once (time until all 100
// results are in). It starts its own private stack with the integration tests' helpers
// (tests/integration/lib: one real guest, hostd, gateway, Redis), so it needs what they need.
//
//   node tools/bench/lineexec.mjs [--rounds=50] [--vms=100] [--batches=5]
// Prints one JSON line of results.
import { options, summary, nowMs } from './lib.mjs';
import { startStack } from '../../tests/integration/lib/stack.mjs';
import { api, login, openShell } from '../../tests/integration/lib/client.mjs';
import { until } from '../../tests/integration/lib/wait.mjs';
import { fakeShell } from '../../tests/integration/lib/fakeshell.mjs';

const o = options({ rounds: 50, vms: 100, batches: 5 });
const REAL = 'vgt-bench-lx';
const syn = Array.from({ length: o.vms }, (_, i) => `vgt-bench-lx${i}`);
const stack = await startStack({ vms: [REAL], prefix: 'vgt-bench-lx-' });
const servers = syn.map((vm) => fakeShell(stack.socket(vm)));
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
  console.log(JSON.stringify({ bench: 'console.exec', one_real: real, one_synthetic: synthetic, [`all_${o.vms}_synthetic`]: summary(batch) }));
} finally {
  servers.forEach((s) => s.close());
  await stack.stop();
}
