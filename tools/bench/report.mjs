// Turns the JSON lines of the benchmarks (run.sh collects them) into Markdown tables.
//   node report.mjs results.jsonl
import fs from 'node:fs';

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const of = (b) => rows.filter((r) => r.bench === b);
const table = (head, lines) => {
  if (!lines.length) return;
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  lines.forEach((l) => console.log(`| ${l.join(' | ')} |`));
  console.log();
};

console.log('### Keystroke echo latency (ms)\n');
table(
  ['path', 'load', 'n', 'p50', 'p99', 'max'],
  of('echo').map((r) => [
    r.target,
    (r.load ? 'guest printing' + (r.target === 'vmgate' ? ' + 2nd viewer' : '') : 'idle') +
      (r.flood ? ` + login flood (${r.flood.clients} clients, ${r.flood.loginsPerSec} logins/s)` : ''),
    r.n,
    r.p50,
    r.p99,
    r.max,
  ]),
);
console.log('### Throughput from a fast source (MB/s, 1 MB = 10^6 bytes)\n');
table(
  ['path', 'source rate', 'viewers', 'per viewer', 'slowest viewer', 'aggregate', 'source read', 'gap MB', 'server mem growth MB', 'CPU %'],
  of('throughput').map((r) => [
    r.target,
    r.rateMBs ? `${r.rateMBs} MB/s` : 'unlimited',
    r.viewers,
    r.perViewerMBs,
    r.minViewerMBs,
    r.aggregateMBs,
    r.sourceMBs,
    r.gapMB,
    (r.serverGrowthMB ?? '–') + (r.cutShort ? ' (cut short)' : ''),
    Object.entries(r.cpuPercent)
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  ]),
);
console.log('### Memory with idle viewers (KiB)\n');
table(
  ['viewers', 'gateway RSS', 'hostd RSS', 'gateway per viewer (vs 0 / vs previous row)', 'hostd per viewer (vs 0 / vs previous row)'],
  of('memory').map((r) => [
    r.viewers,
    r.rssKiB.gateway,
    r.rssKiB.hostd,
    `${r.perViewerKiB.gateway ?? '–'} / ${r.stepPerViewerKiB?.gateway ?? '–'}`,
    `${r.perViewerKiB.hostd ?? '–'} / ${r.stepPerViewerKiB?.hostd ?? '–'}`,
  ]),
);
table(
  ['websockify clients', 'PSS of websockify + children', 'processes', 'per client'],
  of('memory-websockify').map((r) => [r.viewers, r.pssKiB, r.processes, r.perViewerKiB ?? '–']),
);
console.log('### Attach time and API latency (ms)\n');
table(
  ['operation', 'n', 'p50', 'p99', 'max'],
  [
    ...of('attach').map((r) => ['attach (ticket + WS open + hello)', r.n, r.p50, r.p99, r.max]),
    ...of('api').map((r) => [`${r.method} via ${r.via}`, r.n, r.p50, r.p99, r.max]),
  ],
);
