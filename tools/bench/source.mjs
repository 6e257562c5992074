// A console that talks as fast as its reader takes it: the fast source of throughput.mjs,
// playing the role of a QEMU chardev socket (which under TCG gives only ~120 KiB/s).
//
//   fork('source.mjs', [path...]) → sends 'ready'; messages { arm: bytesPerSecond (0: as fast as
//   the reader takes it), listener: index into the paths } and 'disarm' start and stop the
//   output to the clients of that one path ({ arm, from, to }: of the paths from..to-1, for
//   many synthetic consoles at once); 'stats' answers { written }
//   (bytes written since the last 'stats'); 'exit' ends it.
//
// Unlike QEMU it serves every client that connects, each with its own copy of the stream, so a
// direct reader or websockify per viewer can be measured. Input from clients is read and dropped.
import fs from 'node:fs';
import net from 'node:net';

const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-console-output-line\r\n');
const chunk = Buffer.alloc(65536);
for (let i = 0; i < chunk.length; i++) chunk[i] = line[i % line.length];

const TICK_MS = 10;
let armed = false;
let from = 0; // output goes to clients of paths from..to-1
let to = 1;
let rate = 0;
let ticker = null;
let lastTick = 0;
let written = 0;
const socks = new Set();
const origin = new Map(); // socket → index of the path it connected to
const budget = new Map(); // socket → bytes it may still be sent (rate-limited output only)

function pump(s) {
  while (armed && origin.get(s) >= from && origin.get(s) < to && !s.destroyed) {
    let n = chunk.length;
    if (rate) {
      n = Math.floor(Math.min(n, budget.get(s) || 0));
      if (!n) return; // resumed by the next tick
      budget.set(s, budget.get(s) - n);
    }
    written += n;
    if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return; // resumed by 'drain'
  }
}

// Rate-limited output: every tick adds what the rate allows for the time since the last tick
// (timers fire late on a busy machine) to each socket's budget, at most 100 ms worth, so a
// stalled reader is not flooded afterwards.
function tick() {
  const now = performance.now();
  const add = (rate * (now - lastTick)) / 1000;
  lastTick = now;
  for (const s of socks) {
    budget.set(s, Math.min((budget.get(s) || 0) + add, rate / 10));
    if (s.writableLength === 0) pump(s);
  }
}

const servers = process.argv.slice(2).map((p, i) => {
  fs.rmSync(p, { force: true });
  const srv = net.createServer((s) => {
    socks.add(s);
    origin.set(s, i);
    s.on('data', () => {});
    s.on('drain', () => pump(s));
    s.on('error', () => {});
    s.on('close', () => {
      socks.delete(s);
      budget.delete(s);
      origin.delete(s);
    });
    pump(s);
  });
  srv.listen(p);
  return srv;
});

// Never outlive the parent (it may be killed without saying 'exit').
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m && m.arm !== undefined) {
    armed = true;
    from = m.from ?? m.listener ?? 0;
    to = m.to ?? from + 1;
    rate = Math.floor(m.arm);
    budget.clear();
    lastTick = performance.now();
    if (rate) ticker = setInterval(tick, TICK_MS);
    else socks.forEach(pump);
  } else if (m === 'disarm') {
    armed = false;
    clearInterval(ticker);
    ticker = null;
  } else if (m === 'stats') {
    process.send({ written });
    written = 0;
  } else if (m === 'exit') {
    servers.forEach((s) => s.close());
    socks.forEach((s) => s.destroy());
    process.argv.slice(2).forEach((p) => fs.rmSync(p, { force: true }));
    process.exit(0);
  }
});
Promise.all(servers.map((s) => new Promise((r) => s.once('listening', r)))).then(() => process.send('ready'));
