// A crowd of console clients in one process, driven by scale.mjs over IPC, so thousands of
// clients can be split over several processes (one Node.js process tops out at one core).
//
//   fork('crowd.mjs') → sends 'ready'; then messages, each answered with one message:
//   { op: 'open', target, n, conc, timeoutMs, deadlineMs, vms, url, ca, token, wsk, ttyd, sock }
//     opens n more clients, conc at a time: vmgate read-only viewers (offset=end) of vms[i % len]
//     through url (console.ticket with the bearer token, then the console WebSocket), websockify
//     or ttyd clients of the URL wsk / ttyd, or direct readers of the unix socket sock. Each
//     attach is bounded by timeoutMs, the whole call by deadlineMs (the rest is not tried).
//     → { ok, failed, skipped, ms: [attach times of the ones that succeeded, in order], errors }
//   { op: 'stats' } → { bytes: [per client, since open], gap, text, closed, cpuSec }
//   { op: 'close' } → closes every client → { closed: n }
//   'exit' ends the process.
import { directClient, gatewayApi, nowMs, ttydClient, vmgateClient, websockifyClient, within } from './lib.mjs';

const clients = [];
const bytes = [];
let closed = 0; // clients the server closed (not counting those closed by 'close')
let gen = 0;
let api = null;

function connect(m, i) {
  if (m.target === 'vmgate') {
    if (!api) {
      api = gatewayApi(m.url, m.ca);
      api.token = m.token;
    }
    return vmgateClient(api, { vm: m.vms[i % m.vms.length], mode: 'ro', offset: 'end' });
  }
  if (m.target === 'websockify') return websockifyClient(m.wsk, m.ca);
  if (m.target === 'ttyd') return ttydClient(m.ttyd, m.ca);
  if (m.target === 'direct') return directClient(m.sock);
  throw new Error(`unknown target ${m.target}`);
}

async function open(m) {
  const t0 = nowMs();
  const ms = [];
  const errors = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const base = clients.length;
  const lane = async () => {
    while (next < m.n && nowMs() - t0 < m.deadlineMs) {
      const i = base + next++;
      const t = nowMs();
      try {
        const c = await within(connect(m, i), m.timeoutMs, `attach ${i}`);
        ms.push(nowMs() - t);
        const k = clients.length;
        clients.push(c);
        bytes.push(0);
        c.onData((b) => {
          bytes[k] += b.length;
        });
        const g = gen;
        c.raw.on?.('close', () => {
          if (g === gen) closed++;
        });
        ok++;
      } catch (e) {
        failed++;
        if (errors.length < 3) errors.push(String(e.message || e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, m.conc) }, lane));
  return { ok, failed, skipped: m.n - ok - failed, ms, errors };
}

process.on('disconnect', () => process.exit(0));
process.on('message', async (m) => {
  if (m === 'exit') {
    clients.forEach((c) => c.close());
    api?.close();
    process.exit(0);
  }
  let answer;
  if (m.op === 'open') answer = await open(m);
  else if (m.op === 'stats') {
    const cu = process.cpuUsage();
    answer = {
      bytes,
      gap: clients.reduce((a, c) => a + (c.gapBytes || 0), 0),
      text: clients.reduce((a, c) => a + (c.textBytes || 0), 0),
      closed,
      cpuSec: (cu.user + cu.system) / 1e6,
    };
  } else if (m.op === 'close') {
    gen++;
    clients.forEach((c) => c.close());
    answer = { closed: clients.length };
    clients.length = 0;
    bytes.length = 0;
    closed = 0;
  }
  process.send(answer);
});
process.send('ready');
