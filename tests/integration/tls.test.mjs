// Transport security (issue 4 §5, docs/security.md "Transport"): mutual TLS between gateway and
// hostd with the project CA (tools/vmgate-ca), each side refusing a peer from another CA; no
// plain HTTP or plain WebSocket on the gateway's HTTPS port; security headers on every
// response; the session cookie's flags; the HTTP API and the WebSockets safe from cross-site
// requests; no secret in any daemon log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { REPO, startStack } from './lib/stack.mjs';
import { api, apiWs, connectConsole, login, request, waitHealthy } from './lib/client.mjs';
import { until } from './lib/wait.mjs';

const VM = 'vgt-f-tls';
const CA_TOOL = path.join(REPO, 'tools/vmgate-ca');
const SECURITY_HEADERS = {
  'content-security-policy': /default-src 'self'/,
  'x-content-type-options': /^nosniff$/,
  'x-frame-options': /^DENY$/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-opener-policy': /^same-origin$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'strict-transport-security': /max-age=\d+/,
};

let stack;
let foreign; // a second CA made with tools/vmgate-ca, unrelated to the stack's
const secrets = new Set(); // every secret the daemons saw: none may show up in their logs

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-f-tls-' });
  foreign = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-f-ca-'));
  execFileSync(CA_TOOL, ['init', foreign]);
  execFileSync(CA_TOOL, ['issue', foreign, 'gateway', '--role', 'gateway']);
  execFileSync(CA_TOOL, ['issue', foreign, 'hostd', '--role', 'hostd']);
  for (const s of [stack.adminPassword, stack.redisPassword, linkSecret()]) secrets.add(s);
});

after(async () => {
  if (foreign) fs.rmSync(foreign, { recursive: true, force: true });
  await stack?.stop();
});

function linkSecret() {
  return fs.readFileSync(path.join(stack.dir, 'link-secret'), 'utf8').trim();
}

const pem = (dir, name) => ({
  cert: fs.readFileSync(path.join(dir, `${name}.pem`)),
  key: fs.readFileSync(path.join(dir, `${name}.key`)),
});

// Opens a WebSocket on hostd's link as a gateway would (link secret, subprotocol), with the
// given client certificate or none. Resolves { open, ws } or { open: false, status | error }.
function linkOpen(linkPath, subprotocol, client = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${stack.linkPort}${linkPath}`, subprotocol, {
      ca: fs.readFileSync(stack.caFile),
      ...client,
      headers: { 'X-Vmgate-Link': linkSecret() },
      handshakeTimeout: 10000,
    });
    ws.once('open', () => resolve({ open: true, ws }));
    ws.once('unexpected-response', (req, res) => {
      res.resume();
      resolve({ open: false, status: res.statusCode });
    });
    ws.once('error', (error) => resolve({ open: false, error }));
  });
}

const LINKS = [
  [`/link/console?vm=${VM}&mode=ro&user=tlstest`, 'vmgate.console.v1'],
  ['/link/api', 'vmgate.link.api.v1'],
  ['/link/mux', 'vmgate.link.v3'],
];

async function assertHandshakeRefused(client, what) {
  for (const [p, proto] of LINKS) {
    const r = await linkOpen(p, proto, client);
    if (r.open) r.ws.terminate();
    assert.equal(r.open, false, `${what}: ${p} opened`);
    // Refused in the TLS handshake: no HTTP answer at all, just a TLS alert or a reset.
    assert.equal(r.status, undefined, `${what}: ${p} got HTTP ${r.status}, not a TLS refusal`);
    assert.match(String(r.error?.code ?? r.error?.message), /SSL|TLS|ECONNRESET|EPIPE|socket hang up/i);
  }
}

test('hostd link: a client with the gateway certificate of the project CA gets in', async () => {
  const r = await linkOpen(LINKS[0][0], LINKS[0][1], pem(path.join(stack.dir, 'certs'), 'gateway'));
  assert.ok(r.open, `link refused: ${r.error?.message ?? r.status}`);
  const first = await new Promise((resolve) => r.ws.once('message', (d) => resolve(JSON.parse(d))));
  assert.equal(first.type, 'hello');
  r.ws.close();
  // Arguments that do not fit are refused with a clear error, not cut short.
  const long = await linkOpen(`/link/console?vm=${VM}&user=${'a'.repeat(600)}`, LINKS[0][1], pem(path.join(stack.dir, 'certs'), 'gateway'));
  assert.ok(long.open, `link refused: ${long.error?.message ?? long.status}`);
  const [err, code] = await Promise.all([
    new Promise((resolve) => long.ws.once('message', (d) => resolve(JSON.parse(d)))),
    new Promise((resolve) => long.ws.once('close', resolve)),
  ]);
  assert.equal(err.code, 'too_big');
  assert.equal(code, 1008);
});

test('hostd link: no client certificate, a foreign CA or a hostd certificate → TLS refusal', async () => {
  await assertHandshakeRefused({}, 'no client certificate');
  await assertHandshakeRefused(pem(foreign, 'gateway'), 'certificate of a foreign CA');
  // Same CA but the role hostd: one host's certificate must not open another host's consoles.
  await assertHandshakeRefused(pem(path.join(stack.dir, 'certs'), 'hostd'), 'certificate of role hostd');
  assert.match(stack.logs('hostd'), /refused a TLS client/);
});

test('hostd refuses to start without tls_cert, tls_key and tls_ca', () => {
  const conf = path.join(stack.dir, 'hostd-notls.conf');
  const lines = fs
    .readFileSync(path.join(stack.dir, 'hostd.conf'), 'utf8')
    .split('\n')
    .filter((l) => !/^tls_(cert|key|ca)\s*=/.test(l));
  fs.writeFileSync(conf, lines.join('\n').replace(/^link_port = .*$/m, 'link_port = 1'));
  const bin = path.join(stack.env.VG_BUILD_DIR, 'hostd/vmgate-hostd');
  const r = spawnSync(bin, ['--config', conf], { encoding: 'utf8', timeout: 20000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout + r.stderr, /link needs tls_cert, tls_key and tls_ca/);
});

function setGatewayConf(values) {
  const file = path.join(stack.dir, 'gateway.conf');
  let conf = fs.readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(values)) conf = conf.replace(new RegExp(`^${k} = .*$`, 'm'), `${k} = ${v}`);
  fs.writeFileSync(file, conf);
}

async function attachOutcome(s) {
  const token = await login(s);
  secrets.add(token);
  const ticket = await api(s, token, 'console.ticket', { vm: VM, mode: 'ro' });
  secrets.add(new URLSearchParams(ticket.path.split('?')[1]).get('ticket'));
  const con = await connectConsole(s, ticket.path);
  const outcome = await Promise.race([
    con.waitControl('hello', 15000).then(() => 'hello'),
    con.waitControl('error', 15000).then((e) => e.code),
  ]).catch((e) => `no answer: ${e.message}`);
  con.ws.terminate();
  return outcome;
}

// A call the gateway makes to hostd (vm.xml) over its RPC link: 'ok' or the error's code.
async function rpcOutcome(s) {
  const token = await login(s);
  secrets.add(token);
  return api(s, token, 'vm.xml', { vm: VM }).then(() => 'ok', (e) => e.code);
}

test('the console attaches through mutual TLS; a peer from another CA means unavailable', async () => {
  const certs = path.join(stack.dir, 'certs');
  const conf = path.join(stack.dir, 'gateway.conf');
  const original = fs.readFileSync(conf, 'utf8');
  assert.equal(await attachOutcome(stack), 'hello');
  assert.equal(await rpcOutcome(stack), 'ok');
  try {
    // The gateway's tls_ca is a foreign CA: it refuses the real hostd.
    setGatewayConf({ tls_ca: path.join(foreign, 'ca.pem') });
    await stack.restart('gateway');
    await waitHealthy(stack);
    assert.equal(await attachOutcome(stack), 'unavailable');
    // The link to the host (which the RPC shares) is refused: calls are unavailable too.
    assert.match(stack.logs('gateway'), /link to hostd \S+ failed: hostd's certificate was refused/);
    assert.equal(await rpcOutcome(stack), 'unavailable');

    // The gateway presents a certificate of a foreign CA: hostd refuses it. Its HTTPS side then
    // uses that certificate too, so this client trusts both CAs.
    const bundle = path.join(stack.dir, 'ca-bundle.pem');
    fs.writeFileSync(bundle, fs.readFileSync(stack.caFile, 'utf8') + fs.readFileSync(path.join(foreign, 'ca.pem'), 'utf8'));
    setGatewayConf({
      tls_ca: path.join(certs, 'ca.pem'),
      tls_cert: path.join(foreign, 'gateway.pem'),
      tls_key: path.join(foreign, 'gateway.key'),
    });
    await stack.restart('gateway');
    const viaBundle = { ...stack, caFile: bundle };
    await waitHealthy(viaBundle);
    assert.equal(await attachOutcome(viaBundle), 'unavailable');
    assert.equal(await rpcOutcome(viaBundle), 'unavailable');
  } finally {
    // Whatever failed above, the later tests get the stack's own gateway back.
    fs.writeFileSync(conf, original);
    await stack.restart('gateway');
    await waitHealthy(stack);
  }
  assert.equal(await attachOutcome(stack), 'hello');
});

test('the gateway refuses a hostd whose certificate is not of role hostd (OU=hostd): unavailable', async () => {
  // Issue 9: hostd checked OU=gateway, the gateway did not check OU=hostd. A certificate of the
  // project CA with the role gateway (every gateway holds one) must not pass for a host.
  const certs = path.join(stack.dir, 'certs');
  const conf = path.join(stack.dir, 'hostd.conf');
  const original = fs.readFileSync(conf, 'utf8');
  const ca = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-f-role-'));
  fs.copyFileSync(path.join(certs, 'ca.pem'), path.join(ca, 'ca.pem'));
  fs.copyFileSync(path.join(certs, 'ca.key'), path.join(ca, 'ca.key'));
  execFileSync(CA_TOOL, ['issue', ca, 'posing', '--role', 'gateway']);
  const before = stack.logs('gateway').length;
  try {
    fs.writeFileSync(
      conf,
      original
        .replace(/^tls_cert = .*$/m, `tls_cert = ${path.join(ca, 'posing.pem')}`)
        .replace(/^tls_key = .*$/m, `tls_key = ${path.join(ca, 'posing.key')}`),
    );
    const hostdLog = stack.logs('hostd').length;
    await stack.restart('hostd');
    // Serving its link already: `unavailable` must be the refusal, not a hostd still starting.
    await until(() => /hostd: host \S+ up/.test(stack.logs('hostd').slice(hostdLog)), 30000, 'hostd up');
    assert.equal(await attachOutcome(stack), 'unavailable');
    assert.match(stack.logs('gateway').slice(before), /refused hostd 'posing': its certificate is not of role hostd \(OU=gateway\)/);
  } finally {
    fs.writeFileSync(conf, original);
    await stack.restart('hostd');
    fs.rmSync(ca, { recursive: true, force: true });
  }
  // The real hostd (OU=hostd) is accepted again.
  await until(async () => (await attachOutcome(stack)) === 'hello', 30000, 'the console through the real hostd', 500);
});

// Plain HTTP to the HTTPS port: resolves { status, headers } or { error }.
function plain(method, p, headers = {}) {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: stack.httpPort, method, path: p, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers }));
      },
    );
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ error }));
    req.end();
  });
}

test('plain http:// on the HTTPS port is redirected to https://, never served', async () => {
  for (const p of ['/', '/healthz', '/api/v1/whoami']) {
    const r = await plain(p === '/api/v1/whoami' ? 'POST' : 'GET', p, { host: `localhost:${stack.httpPort}` });
    assert.ok(r.error || r.status === 301 || r.status === 308 || r.status === 302, `${p}: HTTP ${r.status}`);
    if (!r.error) assert.match(r.headers.location, new RegExp(`^https://localhost:${stack.httpPort}/`));
  }
  // A plain WebSocket upgrade is never accepted.
  for (const [p, proto] of [['/ws/api', 'vmgate.api.v1'], ['/ws/console?ticket=x', 'vmgate.console.v1']]) {
    const r = await new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${stack.httpPort}${p}`, proto, { handshakeTimeout: 10000 });
      ws.once('open', () => {
        ws.terminate();
        resolve('open');
      });
      ws.once('unexpected-response', (req, res) => {
        res.resume();
        resolve(res.statusCode);
      });
      ws.once('error', () => resolve('error'));
    });
    assert.notEqual(r, 'open', `${p} served over plain ws://`);
  }
});

test('every response carries the security headers', async () => {
  const token = await login(stack);
  secrets.add(token);
  const responses = {
    healthz: await request(stack, '/healthz'),
    ui: await request(stack, '/'),
    vendor: await request(stack, '/vendor/@xterm/xterm/package.json'),
    missing: await request(stack, '/no/such/file'),
    'api ok': await request(stack, '/api/v1/whoami', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: '{}',
    }),
    'api unauthorized': await request(stack, '/api/v1/whoami', { method: 'POST', body: '{}' }),
    'api GET': await request(stack, '/api/v1/whoami'),
    'cross-site refusal': await request(stack, '/api/v1/whoami', {
      method: 'POST',
      headers: { cookie: `vg_session=${token}`, origin: 'https://evil.example' },
      body: '{}',
    }),
  };
  for (const [what, r] of Object.entries(responses))
    for (const [h, re] of Object.entries(SECURITY_HEADERS)) assert.match(r.headers[h] ?? '', re, `${what} (HTTP ${r.status}): ${h}`);
  assert.equal(responses['api ok'].status, 200);
});

test('the session cookie is Secure, HttpOnly, SameSite=Strict; so is its removal', async () => {
  const r = await request(stack, '/api/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: stack.adminUser, password: stack.adminPassword }),
  });
  assert.equal(r.status, 200);
  const token = JSON.parse(r.body).result.token;
  secrets.add(token);
  const set = r.headers['set-cookie'][0];
  assert.match(set, new RegExp(`^vg_session=${token};`));
  for (const attr of ['Secure', 'HttpOnly', 'SameSite=Strict']) assert.match(set, new RegExp(`; ${attr}(;|$)`));
  const out = await request(stack, '/api/v1/logout', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: '{}',
  });
  assert.equal(out.status, 200);
  const cleared = out.headers['set-cookie'][0];
  assert.match(cleared, /^vg_session=; /);
  for (const attr of ['Max-Age=0', 'Secure', 'HttpOnly', 'SameSite=Strict']) assert.match(cleared, new RegExp(`; ${attr}(;|$)`));
});

test('cross-site: cookie calls need this origin; bearer calls are fine; foreign WebSocket origins refused', async () => {
  const token = await login(stack);
  secrets.add(token);
  const call = (headers, method = 'whoami', body = '{}') =>
    request(stack, `/api/v1/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const cookie = `vg_session=${token}`;
  const refused = async (r, what) => {
    assert.equal(r.status, 403, what);
    const err = JSON.parse(r.body).error;
    assert.equal(err.code, 'forbidden', what);
    assert.match(err.message, /cross-site/, what);
  };
  await refused(await call({ cookie, origin: 'https://evil.example' }), 'cookie, foreign origin');
  await refused(await call({ cookie, origin: `https://127.0.0.1:${stack.httpPort}.evil.example` }), 'cookie, look-alike origin');
  await refused(await call({ cookie, origin: 'null' }), 'cookie, null origin');
  await refused(await call({ cookie }), 'cookie, no origin, no custom header');
  // A state-changing call is refused before it runs: the session survives a forged logout.
  await refused(await call({ cookie, origin: 'https://evil.example' }, 'logout'), 'forged logout');
  assert.equal((await api(stack, token, 'whoami')).user, 'admin');
  // Login from a foreign page is refused too (it would set a cookie).
  await refused(
    await call({ origin: 'https://evil.example' }, 'login', JSON.stringify({ user: stack.adminUser, password: stack.adminPassword })),
    'login from a foreign origin',
  );

  assert.equal((await call({ cookie, origin: stack.url })).status, 200, 'cookie from this origin');
  assert.equal((await call({ cookie, 'x-vmgate-request': '1' })).status, 200, 'cookie with the custom header');
  assert.equal((await call({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })).status, 200, 'bearer');
  assert.equal((await call({ authorization: `Bearer ${token}` })).status, 200, 'bearer without origin');

  // WebSocket upgrades: a foreign Origin is refused, this origin accepted.
  for (const origin of ['https://evil.example', `http://127.0.0.1:${stack.httpPort}`]) {
    await assert.rejects(apiWs(stack, null, { headers: { origin, cookie } }), (e) => e.status === 403, origin);
  }
  const ws = await apiWs(stack, null, { headers: { origin: stack.url, cookie } });
  assert.equal((await ws.call('whoami')).user, 'admin');
  ws.ws.close();
});

test('no secret in any daemon log', async () => {
  // A wrong link secret and a failed login with a password-like value are logged as refusals.
  const wrong = await new Promise((resolve) => {
    const ws = new WebSocket(`wss://127.0.0.1:${stack.linkPort}${LINKS[0][0]}`, LINKS[0][1], {
      ca: fs.readFileSync(stack.caFile),
      ...pem(path.join(stack.dir, 'certs'), 'gateway'),
      headers: { 'X-Vmgate-Link': 'not-the-secret-S3CR3T' },
    });
    ws.once('close', (code) => resolve(code));
    ws.once('error', () => resolve('error'));
  });
  assert.equal(wrong, 4001);
  secrets.add('not-the-secret-S3CR3T');
  await assert.rejects(api(stack, null, 'login', { user: 'admin', password: 'Wr0ng-Passw0rd-S3CR3T' }), { code: 'unauthorized' });
  secrets.add('Wr0ng-Passw0rd-S3CR3T');

  const logs = ['hostd', 'gateway', 'redis'].map((c) => [c, stack.logs(c)]);
  assert.ok(logs[0][1].length > 0 && logs[1][1].length > 0, 'daemon logs are empty');
  for (const [c, text] of logs)
    for (const s of secrets) assert.ok(s && !text.includes(s), `${c}.log contains a secret (${s.slice(0, 4)}…)`);
});
