// Keystroke echo latency on a real guest's serial console: type one character, time until its
// echo arrives, erase it again, repeat --n times. Prints one JSON line with the summary.
//
//   node echo.mjs --target=direct --sock=PATH
//   node echo.mjs --target=websockify --url=wss://127.0.0.1:PORT/ --ca=CA
//   node echo.mjs --target=ttyd --url=https://127.0.0.1:PORT/ --ca=CA
//   node echo.mjs --target=vmgate --url=https://127.0.0.1:PORT --ca=CA --vm=NAME --password-file=F
//
// --load=1 starts a background loop in the guest that prints to the same serial port while the
// keystrokes are timed, and (vmgate only) attaches a second, read-only viewer that reads it all.
// The load text never contains the typed 'z' nor the erase echo (BS/ESC).
//
// --flood=N (vmgate only) runs a login flood of N parallel clients against the same gateway
// while the keystrokes are timed (lib.mjs loginFlood), after a second for the password check
// threads to fill up; the summary gets the flood's logins per second.
import fs from 'node:fs';
import { directClient, gatewayApi, loginFlood, nowMs, options, sleep, summary, ttydClient, vmgateClient, waitData, waitText, websockifyClient } from './lib.mjs';

const o = options({
  target: 'direct',
  sock: '',
  url: '',
  ca: '',
  vm: '',
  user: 'admin',
  'password-file': '',
  n: 200,
  load: 0,
  flood: 0,
});
if (o.flood && o.target !== 'vmgate') throw new Error('--flood is for --target=vmgate only');

const PROMPT = 'testvm# ';
// Bounded: ~100k lines is ~50 s of a TCG serial port; it is killed as soon as timing ends.
const LOAD_CMD = 'i=0; while [ $i -lt 100000 ]; do echo LOAD-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXY-abcdefghijklmnopqrstuvwxy; i=$((i+1)); done &\r';

const password = () => fs.readFileSync(o['password-file'], 'utf8').trim();

async function connect() {
  if (o.target === 'direct') return { client: await directClient(o.sock) };
  if (o.target === 'websockify') return { client: await websockifyClient(o.url, o.ca) };
  if (o.target === 'ttyd') return { client: await ttydClient(o.url, o.ca) };
  if (o.target !== 'vmgate') throw new Error(`--target is direct, websockify, ttyd or vmgate, not ${o.target}`);
  const api = gatewayApi(o.url, o.ca);
  await api.login(o.user, password());
  const client = await vmgateClient(api, { vm: o.vm, mode: 'rw', offset: 'end', take: true });
  return { client, api };
}

// A fresh prompt: erase the line and press Enter until the guest answers (it may still boot).
async function prompt(client) {
  for (let i = 0; i < 20; i++) {
    const seen = waitText(client, PROMPT, 3000);
    client.send(Buffer.from('\x15\r'));
    try {
      await seen;
      return;
    } catch {
      // no prompt yet
    }
  }
  throw new Error('the guest shows no prompt');
}

// Waits until the console stays quiet for quietMs (at most maxMs).
async function settle(client, quietMs, maxMs) {
  let last = nowMs();
  const fn = () => {
    last = nowMs();
  };
  client.onData(fn);
  const t0 = nowMs();
  while (nowMs() - last < quietMs && nowMs() - t0 < maxMs) await sleep(50);
  client.offData(fn);
}

const { client, api } = await connect();
let spectator = null;
let spectatorBytes = 0;
let flood = null;
try {
  await prompt(client);
  await settle(client, 300, 5000);
  if (o.load) {
    if (api) {
      spectator = await vmgateClient(api, { vm: o.vm, mode: 'ro', offset: 'end' });
      spectator.onData((b) => {
        spectatorBytes += b.length;
      });
    }
    const started = waitText(client, 'LOAD-', 10000);
    client.send(Buffer.from(LOAD_CMD));
    await started;
    await sleep(500);
  }
  if (o.flood) {
    flood = loginFlood(o.url, o.ca, o.user, password(), o.flood);
    await sleep(1000);
  }
  const floodBefore = flood?.logins ?? 0;
  const t0Timing = nowMs();
  const samples = [];
  for (let i = 0; i < o.n; i++) {
    const echoed = waitData(client, (b) => b.includes(0x7a), 5000, `echo ${i}`);
    const t0 = nowMs();
    client.send(Buffer.from('z'));
    await echoed;
    samples.push(nowMs() - t0);
    const erased = waitData(client, (b) => b.includes(0x08) || b.includes(0x1b), 5000, `erase ${i}`);
    client.send(Buffer.from([0x7f]));
    await erased;
  }
  let floodStats = null;
  if (flood) {
    const during = flood.logins - floodBefore;
    const secs = (nowMs() - t0Timing) / 1000;
    const f = await flood.stop();
    flood = null;
    floodStats = { clients: o.flood, loginsPerSec: Math.round((during / secs) * 10) / 10, errors: f.errors };
  }
  if (o.load) {
    client.send(Buffer.from('\x15kill $!\r'));
    await settle(client, 500, 60000);
  }
  const s = summary(samples);
  console.log(JSON.stringify({ bench: 'echo', target: o.target, load: o.load, ...s, spectatorBytes, flood: floodStats }));
} finally {
  await flood?.stop();
  client.close();
  spectator?.close();
  api?.close();
}
