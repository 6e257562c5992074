// Turns the JSON lines of the benchmarks (run.sh collects them) into Markdown tables.
//   node report.mjs results.jsonl
import fs from 'node:fs';

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const of = (b) => rows.filter((r) => r.bench === b);
const cpu = (c) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
// The gist of a failure: its Error line, else its first line.
const short = (e) => /Error: [^\n]*/.exec(e)?.[0] ?? String(e).split('\n')[0];
const ms = (x) => (x && x.n ? `${x.p50} / ${x.p99}` : '–');
let heading = null; // printed before the next table that has rows
const table = (head, lines) => {
  if (!lines.length) return;
  if (heading) console.log(heading);
  heading = null;
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  lines.forEach((l) => console.log(`| ${l.join(' | ')} |`));
  console.log();
};

heading = '### Keystroke echo latency (ms)\n';
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
heading = '### Throughput from a fast source (MB/s, 1 MB = 10^6 bytes)\n';
table(
  ['path', 'source rate', 'viewers', 'per viewer', 'slowest viewer', 'aggregate', 'source read', 'gap MB', 'server mem growth MB', 'CPU %', 'server CPU ms per MB'],
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
    cpu(r.cpuPercent),
    r.serverCpuMsPerMB ?? '–',
  ]),
);
heading = '### Volume transfers (MB/s, 1 MB = 10^6 bytes)\n';
table(
  ['operation', 'path', 'MB', 's', 'MB/s', 'gateway CPU ms per MB', 'hostd CPU ms per MB'],
  of('volume').map((r) => [r.op, r.path, r.mb, r.seconds, r.mbPerS, r.gatewayCpuMsPerMB ?? '–', r.hostdCpuMsPerMB ?? '–']),
);
heading = '### Memory with idle viewers (KiB)\n';
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
for (const kind of ['websockify', 'ttyd'])
  table(
    [`${kind} clients`, `PSS of ${kind} + children`, 'processes', 'per client'],
    of(`memory-${kind}`).map((r) => [r.viewers, r.pssKiB, r.processes, r.perViewerKiB ?? '–']),
  );
heading = '### Attach time and API latency (ms)\n';
table(
  ['operation', 'n', 'p50', 'p99', 'max'],
  [
    ...of('attach').map((r) => ['attach (ticket + WS open + hello)', r.n, r.p50, r.p99, r.max]),
    ...of('api').map((r) => [`${r.method} via ${r.via}`, r.n, r.p50, r.p99, r.max]),
  ],
);

heading = '### Scale: idle viewers of one console\n';
table(
  ['path', 'viewers attached (wanted)', 'failed', 'closed by the server',  'server memory KiB', 'per viewer KiB', 'per process KiB per viewer', 'attach p50 / p99 ms', 'last 100 p50 / p99', 'one more, sequential p50 / p99', 'step s', 'who-is-attached MB received'],
  of('scale-idle').map((r) => [
    r.target,
    r.wanted ? `${r.viewers} (${r.wanted})` : r.viewers ?? '–',
    r.error ? short(r.error) : r.wanted ? r.failed + r.skipped : '–',
    r.closedByServer ?? '–',
    r.serverKiB ?? '–',
    r.perViewerKiB ?? '–',
    r.perViewerKiBByProcess ? `gateway ${r.perViewerKiBByProcess.gateway}, hostd ${r.perViewerKiBByProcess.hostd}` : '–',
    ms(r.attach),
    ms(r.attachLast100),
    ms(r.probe),
    r.stepSeconds ?? '–',
    r.textMB ?? '–',
  ]),
);
const flowTable = (bench, title) => {
  heading = `### Scale: ${title} (MB/s, 1 MB = 10^6 bytes)\n`;
  table(
    ['path', 'consoles', 'viewers', 'source rate', 'attach p50 / p99 ms', 'mem per viewer KiB', 'per viewer', 'slowest', 'aggregate', 'source read', 'gap MB', 'server mem growth MB', 'CPU %', 'server CPU ms per MB'],
    of(bench).map((r) =>
      r.error
        ? [r.target, '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', '–', `failed: ${short(r.error)}`]
        : [
            r.target,
            r.consoles,
            r.viewers + (r.failed + r.skipped ? `, ${r.failed + r.skipped} failed` : '') + (r.closedByServer ? `, ${r.closedByServer} closed by the server` : ''),
            r.rateMBs ? `${r.rateMBs} MB/s` : 'unlimited',
            ms(r.attach),
            r.perViewerKiB ?? '–',
            r.perViewerMBs,
            r.minViewerMBs,
            r.aggregateMBs,
            r.sourceMBs,
            r.gapMB,
            (r.serverGrowthMB ?? '–') + (r.cutShort ? ' (cut short)' : ''),
            cpu(r.cpuPercent),
            r.serverCpuMsPerMB ?? '–',
          ],
    ),
  );
};
flowTable('scale-consoles', 'many consoles, one viewer each');
flowTable('scale-fanout', 'many viewers of one console');
heading = '### Scale: keystroke echo with viewers attached elsewhere (ms)\n';
table(
  ['path', 'viewers elsewhere', 'their output', 'n', 'p50', 'p99', 'max'],
  of('scale-echo').map((r) =>
    r.error
      ? [r.target, '–', '–', '–', '–', '–', `failed: ${short(r.error)}`]
      : [r.target, r.elsewhere + (r.elsewhereFailed ? ` (${r.elsewhereFailed} failed)` : ''), `${r.elsewhereMBs} MB/s (gap ${r.elsewhereGapMB} MB)`, r.n, r.p50, r.p99, r.max],
  ),
);
heading = '### Daemons that died\n';
table(
  ['during', 'process', 'its last words'],
  of('died').map((r) => [r.during, r.process, r.last || '–']),
);
