// API and console client for the integration tests (docs/api.md, docs/protocol.md).
//
// stack: { url: 'https://127.0.0.1:PORT', caFile, adminUser, adminPassword, ... } as made by
// lib/stack.mjs. Everything speaks TLS and trusts only stack.caFile. stack.localAddress, when
// set, is the address requests and consoles connect from (e.g. 127.0.0.2).
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

const cache = new Map();
function ca(stack) {
  if (!cache.has(stack.caFile)) cache.set(stack.caFile, fs.readFileSync(stack.caFile));
  return cache.get(stack.caFile);
}

function apiError(code, message, status) {
  const e = new Error(`${code}: ${message}`);
  e.code = code;
  e.status = status;
  return e;
}

// Raw HTTP request against the gateway: resolves { status, headers, body (string) }.
export function request(stack, path, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(path, stack.url);
  if (body !== undefined) headers = { 'content-length': Buffer.byteLength(body), ...headers };
  return new Promise((resolve, reject) => {
    const req = https.request(
      u,
      { method, headers, ca: ca(stack), agent: false, localAddress: stack.localAddress },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// POST /api/v1/<method>; resolves the result, throws an Error with .code and .status.
export async function api(stack, token, method, params = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await request(stack, `/api/v1/${method}`, {
    method: 'POST',
    headers,
    body: typeof params === 'string' ? params : JSON.stringify(params),
  });
  let msg;
  try {
    msg = JSON.parse(res.body);
  } catch {
    throw apiError('bad_response', `HTTP ${res.status}: ${res.body.slice(0, 200)}`, res.status);
  }
  if (msg.error) throw apiError(msg.error.code, msg.error.message, res.status);
  return msg.result;
}

// Resolves once GET /healthz answers ok (e.g. after stack.restart('gateway')).
// The gateway's /metrics text, scraped with the stack's metrics token.
export async function scrapeMetrics(stack) {
  const token = fs.readFileSync(path.join(stack.dir, 'metrics-token'), 'utf8').trim();
  return (await request(stack, '/metrics', { headers: { authorization: `Bearer ${token}` } })).body;
}

export async function waitHealthy(stack, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await request(stack, '/healthz');
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > ms) throw new Error(`gateway not healthy after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function login(stack, user = stack.adminUser, password = stack.adminPassword) {
  const r = await api(stack, null, 'login', { user, password });
  return r.token;
}

function wsUrl(stack, path) {
  return new URL(path, stack.url.replace(/^http/, 'ws')).toString();
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// Resolves once the WebSocket is open; rejects with .status when the upgrade is refused.
function opened(ws) {
  return new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('unexpected-response', (req, res) => {
      const e = new Error(`WebSocket refused with HTTP ${res.statusCode}`);
      e.status = res.statusCode;
      res.resume();
      reject(e);
    });
    ws.once('error', reject);
  });
}

// The JSON API over WebSocket: call(method, params) → result; events: every pushed event;
// waitEvent(type, ms). token may be null (then only login works until it succeeds).
export async function apiWs(stack, token, { headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const ws = new WebSocket(wsUrl(stack, '/ws/api'), 'vmgate.api.v1', { ca: ca(stack), headers: h });
  const pending = new Map();
  const waiters = [];
  const client = {
    ws,
    events: [],
    raw: [],
    nextId: 1,
    call(method, params = {}) {
      const id = client.nextId++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
    },
    // Sends any text and resolves the next answer that carries no known id.
    sendRaw(data) {
      ws.send(data);
      return new Promise((resolve) => pending.set(null, { resolve, reject: resolve }));
    },
    waitEvent(type, ms = 5000) {
      const found = client.events.find((e) => e.event === type);
      if (found) return Promise.resolve(found);
      return withTimeout(new Promise((resolve) => waiters.push({ type, resolve })), ms, `event ${type}`);
    },
    closed: new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    close() {
      ws.close();
      return client.closed;
    },
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString());
    client.raw.push(msg);
    if (msg.event) {
      client.events.push(msg);
      for (let i = waiters.length - 1; i >= 0; i--)
        if (waiters[i].type === msg.event) waiters.splice(i, 1)[0].resolve(msg);
      return;
    }
    const key = pending.has(msg.id) ? msg.id : pending.has(null) ? null : undefined;
    if (key === undefined) return;
    const p = pending.get(key);
    pending.delete(key);
    if (key === null) p.resolve(msg);
    else if (msg.error) p.reject(apiError(msg.error.code, msg.error.message));
    else p.resolve(msg.result);
  });
  await opened(ws);
  return client;
}

// One console attachment (docs/protocol.md §1-2).
export class Console {
  constructor(ws) {
    this.ws = ws;
    this._buf = Buffer.alloc(65536); // grows by doubling; output is its filled part
    this._len = 0;
    this.startOffset = null;
    this.nextOffset = null;
    this.gaps = [];
    this.controls = [];
    this.errors = [];
    this.hello = null;
    this.frames = 0;
    this._waiters = new Set();
    this._seen = new Map(); // control messages waitControl already returned
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this._notify();
        resolve({ code, reason: reason.toString() });
      }),
    );
    ws.on('message', (data, isBinary) => this._onMessage(Buffer.from(data), isBinary));
  }

  _onMessage(buf, isBinary) {
    if (!isBinary) {
      const msg = JSON.parse(buf.toString());
      this.controls.push(msg);
      if (msg.type === 'hello') this.hello = msg;
      if (msg.type === 'error') this.errors.push(msg);
    } else if (buf[0] === 0x01) {
      const off = Number(buf.readBigUInt64BE(1));
      const data = buf.subarray(9);
      if (this.startOffset === null) this.startOffset = off;
      if (this.nextOffset !== null && off !== this.nextOffset)
        this.gaps.push({ from: this.nextOffset, to: off, unannounced: true });
      this._append(data);
      this.nextOffset = off + data.length;
      this.frames++;
    } else if (buf[0] === 0x02) {
      const from = Number(buf.readBigUInt64BE(1));
      const to = Number(buf.readBigUInt64BE(9));
      if (this.startOffset === null) this.startOffset = from;
      this.gaps.push({ from, to });
      this.nextOffset = to;
    }
    this._notify();
  }

  _append(data) {
    if (this._len + data.length > this._buf.length) {
      let cap = this._buf.length * 2;
      while (cap < this._len + data.length) cap *= 2;
      const b = Buffer.alloc(cap);
      this._buf.copy(b, 0, 0, this._len);
      this._buf = b;
    }
    data.copy(this._buf, this._len);
    this._len += data.length;
  }

  // Buffer of all OUTPUT bytes received so far (a view: copy it if you keep it).
  get output() {
    return this._buf.subarray(0, this._len);
  }

  _notify() {
    for (const w of [...this._waiters]) w();
  }

  _until(pred, ms, what) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const check = () => {
          let v;
          try {
            v = pred();
          } catch (e) {
            this._waiters.delete(check);
            reject(e);
            return;
          }
          if (v !== undefined) {
            this._waiters.delete(check);
            resolve(v);
          } else if (this.ws.readyState >= WebSocket.CLOSING) {
            this._waiters.delete(check);
            reject(new Error(`console closed while waiting for ${what}`));
          }
        };
        this._waiters.add(check);
        check();
      }),
      ms,
      what,
    ).finally(() => this._waiters.clear && undefined);
  }

  get text() {
    return this.output.toString('utf8');
  }

  send(data) {
    const body = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this.ws.send(Buffer.concat([Buffer.from([0x11]), body]));
  }

  sendRaw(data, options = {}) {
    this.ws.send(data, options);
  }

  sendControl(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  take() {
    this.sendControl({ type: 'take' });
  }

  release() {
    this.sendControl({ type: 'release' });
  }

  // Presses Enter until the guest's shell prompt answers (a booting guest ignores input for a
  // while); gives up after `ms`.
  async waitPrompt(ms = 90000, prompt = 'testvm# ') {
    const t0 = Date.now();
    for (;;) {
      const mark = this.output.length;
      this.send('\n');
      try {
        await this.waitFor(prompt, 3000, { from: mark });
        return;
      } catch (e) {
        if (Date.now() - t0 > ms) throw e;
      }
    }
  }

  // Types cmd (and Enter) and resolves with the output that follows it, once that matches
  // marker.
  run(cmd, marker, ms = 15000) {
    const mark = this.output.length;
    this.send(`${cmd}\n`);
    return this.waitFor(marker, ms, { from: mark });
  }

  // Resolves with the whole output text once it matches (searching from `from`, a byte index).
  waitFor(pattern, ms = 10000, { from = 0 } = {}) {
    // A string is searched only in the bytes that arrived since the last look, so waiting
    // through megabytes of output stays linear.
    const needle = typeof pattern === 'string' ? Buffer.from(pattern) : null;
    let scanned = from;
    return this._until(
      () => {
        if (needle) {
          const at = this.output.indexOf(needle, Math.max(from, scanned - needle.length));
          scanned = this._len;
          return at >= 0 ? this.output.subarray(from).toString('utf8') : undefined;
        }
        const s = this.output.subarray(from).toString('utf8');
        return pattern.test(s) ? s : undefined;
      },
      ms,
      `output ${pattern}`,
    );
  }

  // Who is attached as this client knows it (docs/protocol.md "Who is attached"): the list
  // sent after hello with the joined/left deltas and the writer changes applied since.
  viewersNow() {
    let list = [];
    let writer = null;
    for (const m of this.controls) {
      if (m.type === 'viewers') {
        list = m.viewers.map((v) => ({ ...v }));
        writer = list.find((v) => v.writer)?.viewer ?? null;
      } else if (m.type === 'joined') {
        list = list.filter((v) => v.viewer !== m.viewer);
        list.push({ viewer: m.viewer, user: m.user, mode: m.mode, since: m.since });
      } else if (m.type === 'left') {
        list = list.filter((v) => v.viewer !== m.viewer);
      } else if (m.type === 'writer') {
        writer = m.viewer;
      }
    }
    return list.map((v) => ({ ...v, writer: v.viewer === writer }));
  }

  // The list of viewersNow once it satisfies pred.
  waitViewers(pred, ms = 5000) {
    return this._until(() => {
      const l = this.viewersNow();
      return pred(l) ? l : undefined;
    }, ms, 'the viewers list');
  }

  // The next control message of this type (and matching pred, when given) not yet returned by
  // an earlier waitControl.
  waitControl(type, ms = 5000, pred = () => true) {
    return this._until(
      () => {
        const msg = this.controls.find((c) => c.type === type && !this._seen.has(c) && pred(c));
        if (msg) this._seen.set(msg, true);
        return msg;
      },
      ms,
      `control ${type}`,
    );
  }

  pause() {
    if (typeof this.ws.pause === 'function') this.ws.pause();
    else this.ws._socket.pause();
  }

  resume() {
    if (typeof this.ws.resume === 'function') this.ws.resume();
    else this.ws._socket.resume();
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

// Connects to a console WebSocket URL path (with its ticket) and resolves once open.
export async function connectConsole(stack, path, { headers = {} } = {}) {
  const ws = new WebSocket(wsUrl(stack, path), 'vmgate.console.v1', {
    ca: ca(stack),
    headers,
    localAddress: stack.localAddress,
  });
  const con = new Console(ws);
  await opened(ws);
  return con;
}

// Mints a ticket and attaches. opts: vm, dev, mode ('rw'|'ro'), offset ('ring'|'end'|number),
// take (bool). Resolves once the WebSocket is open; wait for con.waitControl('hello').
export async function openConsole(stack, token, { vm, dev, mode = 'rw', offset, take } = {}) {
  const params = { vm, mode };
  if (dev) params.dev = dev;
  const t = await api(stack, token, 'console.ticket', params);
  let path = t.path;
  if (offset !== undefined && offset !== null) path += `&offset=${offset}`;
  if (take) path += '&take=1';
  return connectConsole(stack, path);
}

// openConsole, then waits for the hello (con.hello) and the guest's shell prompt
// (Console.waitPrompt: ms, prompt) before resolving the attached console.
export async function openShell(stack, token, { ms, prompt, ...opts }) {
  const con = await openConsole(stack, token, opts);
  await con.waitControl('hello');
  await con.waitPrompt(ms, prompt);
  return con;
}
