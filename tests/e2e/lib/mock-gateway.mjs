// A stand-in gateway for browser tests of the UI's own behaviour (resume, gaps, write lock,
// read-only, CSP) that a real stack cannot produce on demand. It speaks docs/protocol.md and the
// JSON API of the shared conventions, serves ui/ like the gateway (same strict CSP), and fakes
// one console per VM: a line-editing "shell" that echoes, evaluates `echo` with $((a*b)), and
// asks for the cursor position after each prompt like busybox does.

import { createServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';

const UI_DIR = fileURLToPath(new URL('../../../ui/', import.meta.url));
const TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.map': 'application/json',
};
const SECURITY_HEADERS = {
    'Content-Security-Policy':
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
};
const PROMPT = 'testvm# \x1b[6n';

function selfSignedCert() {
    const dir = mkdtempSync(join(tmpdir(), 'ud-mockcert-'));
    try {
        execFileSync(
            'openssl',
            [
                'req',
                '-x509',
                '-newkey',
                'rsa:2048',
                '-nodes',
                '-days',
                '1',
                '-subj',
                '/CN=127.0.0.1',
                '-addext',
                'subjectAltName=IP:127.0.0.1,DNS:localhost',
                '-keyout',
                join(dir, 'key.pem'),
                '-out',
                join(dir, 'cert.pem'),
            ],
            { stdio: 'ignore' },
        );
        return {
            key: readFileSync(join(dir, 'key.pem')),
            cert: readFileSync(join(dir, 'cert.pem')),
        };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

function outputFrame(offset, bytes) {
    const f = Buffer.alloc(9 + bytes.length);
    f[0] = 0x01;
    f.writeBigUInt64BE(BigInt(offset), 1);
    bytes.copy(f, 9);
    return f;
}

function gapFrame(from, to) {
    const f = Buffer.alloc(17);
    f[0] = 0x02;
    f.writeBigUInt64BE(BigInt(from), 1);
    f.writeBigUInt64BE(BigInt(to), 9);
    return f;
}

class FakeConsole {
    constructor(ringSize) {
        this.ringSize = ringSize;
        this.ring = Buffer.alloc(0);
        this.start = 0; // offset of ring[0]
        this.line = '';
        this.viewers = new Set();
        this.writer = null;
        this.connected = true;
        this.emit(Buffer.from(`boot ok\r\n${PROMPT}`));
    }

    get end() {
        return this.start + this.ring.length;
    }

    emit(bytes) {
        const offset = this.end;
        this.ring = Buffer.concat([this.ring, bytes]);
        if (this.ring.length > this.ringSize) {
            const drop = this.ring.length - this.ringSize;
            this.ring = this.ring.subarray(drop);
            this.start += drop;
        }
        for (const v of this.viewers) v.ws.send(outputFrame(offset, bytes));
    }

    input(bytes) {
        // A line editor swallows the cursor position reports it asked for.
        for (const ch of bytes.toString('utf8').replace(/\x1b\[\d+;\d+R/g, '')) {
            if (ch === '\r') {
                const cmd = this.line;
                this.line = '';
                const m = /^echo (.*)$/.exec(cmd);
                const out = m
                    ? `${m[1].replace(/\$\(\((\d+)\*(\d+)\)\)/g, (_, a, b) => a * b)}\r\n`
                    : '';
                this.emit(Buffer.from(`\r\n${out}${PROMPT}`));
            } else if (!/[\x00-\x1f]/.test(ch)) {
                this.line += ch;
                this.emit(Buffer.from(ch));
            }
        }
    }

    viewersMessage() {
        return JSON.stringify({
            type: 'viewers',
            viewers: [...this.viewers].map((v) => ({
                viewer: v.id,
                user: v.user,
                mode: v.mode,
                writer: v === this.writer,
                since: v.since,
            })),
        });
    }

    broadcast(text) {
        for (const v of this.viewers) v.ws.send(text);
    }

    setWriter(v) {
        const previous = this.writer;
        this.writer = v;
        this.broadcast(
            JSON.stringify({
                type: 'writer',
                viewer: v ? v.id : null,
                user: v ? v.user : null,
                previous: previous ? previous.id : null,
            }),
        );
        this.broadcast(this.viewersMessage());
    }
}

export async function startMockGateway({
    user = 'admin',
    password = 'secret',
    vms = ['ud-mock1'],
    ringSize = 65536,
} = {}) {
    const sessions = new Set();
    const tickets = new Map();
    let vendor = true; // serve ui/node_modules at /vendor/
    const consoles = new Map(vms.map((name) => [name, new FakeConsole(ringSize)]));
    const apiSockets = new Set();
    const inputs = []; // every INPUT the fake consoles accepted, for assertions
    const refused = []; // INPUT refused with read_only / not_writer
    let nextViewer = 1;
    const vmState = new Map(vms.map((name) => [name, 'running']));

    const sessionOf = (req) => {
        const m = /(?:^|;\s*)vg_session=([^;]+)/.exec(req.headers.cookie || '');
        return m && sessions.has(m[1]) ? m[1] : null;
    };

    function call(method, params, token) {
        if (method === 'login') {
            if (params.user !== user || params.password !== password) {
                return {
                    error: { code: 'unauthorized', message: 'wrong user or password' },
                    status: 401,
                };
            }
            const t = randomBytes(16).toString('hex');
            sessions.add(t);
            return { result: { token: t, user, role: 'admin', expires_in: 28800 }, token: t };
        }
        if (!token)
            return { error: { code: 'unauthorized', message: 'log in first' }, status: 401 };
        switch (method) {
            case 'logout':
                sessions.delete(token);
                return { result: {} };
            case 'whoami':
                return { result: { user, role: 'admin' } };
            case 'vm.list':
                return {
                    result: {
                        vms: vms.map((name) => ({
                            name,
                            uuid: '00000000-0000-4000-8000-000000000000',
                            host: 'mockhost',
                            state: vmState.get(name),
                            host_up: true,
                            consoles: ['serial0', 'console1'],
                        })),
                    },
                };
            case 'host.list':
                return {
                    result: {
                        hosts: [
                            {
                                id: 'mockhost',
                                link: 'wss://127.0.0.1:1',
                                mgmt_addr: '127.0.0.1',
                                up: true,
                                cpus: 2,
                                mem_mib: 4096,
                                heartbeat_ms: 2000,
                            },
                        ],
                    },
                };
            case 'console.ticket': {
                if (!consoles.has(params.vm))
                    return { error: { code: 'not_found', message: 'no such VM' }, status: 404 };
                const t = randomBytes(16).toString('hex');
                tickets.set(t, {
                    vm: params.vm,
                    dev: params.dev || 'serial0',
                    mode: params.mode || 'rw',
                });
                return { result: { ticket: t, expires_in: 30, path: `/ws/console?ticket=${t}` } };
            }
            default:
                return {
                    error: { code: 'unknown', message: `unknown method ${method}` },
                    status: 400,
                };
        }
    }

    async function serveStatic(req, res) {
        const url = new URL(req.url, 'https://x');
        let file;
        if (url.pathname.startsWith('/vendor/')) {
            if (!vendor) {
                res.writeHead(404, SECURITY_HEADERS).end('not found');
                return;
            }
            file = join(UI_DIR, 'node_modules', url.pathname.slice(8));
        } else file = join(UI_DIR, url.pathname === '/' ? 'index.html' : url.pathname);
        file = normalize(file);
        if (!file.startsWith(UI_DIR)) {
            res.writeHead(404, SECURITY_HEADERS).end();
            return;
        }
        try {
            const body = await readFile(file);
            res.writeHead(200, {
                ...SECURITY_HEADERS,
                'Cache-Control': 'no-store',
                'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
            });
            res.end(body);
        } catch {
            res.writeHead(404, SECURITY_HEADERS).end('not found');
        }
    }

    const server = createServer(selfSignedCert(), (req, res) => {
        const m = /^\/api\/v1\/([\w.]+)$/.exec(req.url);
        if (req.method === 'POST' && m) {
            let body = '';
            req.on('data', (c) => (body += c));
            req.on('end', () => {
                let params = {};
                try {
                    params = JSON.parse(body || '{}');
                } catch {
                    res.writeHead(400, { 'Content-Type': 'application/json' });
                    res.end(
                        JSON.stringify({ error: { code: 'bad_request', message: 'bad JSON' } }),
                    );
                    return;
                }
                const r = call(m[1], params, sessionOf(req));
                const headers = { ...SECURITY_HEADERS, 'Content-Type': 'application/json' };
                if (r.token)
                    headers['Set-Cookie'] =
                        `vg_session=${r.token}; Path=/; Secure; HttpOnly; SameSite=Strict`;
                res.writeHead(r.status || 200, headers);
                res.end(JSON.stringify(r.error ? { error: r.error } : { result: r.result }));
            });
            return;
        }
        serveStatic(req, res);
    });

    const wss = new WebSocketServer({
        noServer: true,
        handleProtocols: (protocols) => [...protocols][0],
    });

    server.on('upgrade', (req, socket, head) => {
        const url = new URL(req.url, 'https://x');
        const token = sessionOf(req);
        if (url.pathname === '/ws/api') {
            if (!token) {
                socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
                return;
            }
            wss.handleUpgrade(req, socket, head, (ws) => attachApi(ws, token));
        } else if (url.pathname === '/ws/console') {
            wss.handleUpgrade(req, socket, head, (ws) => attachConsole(ws, url.searchParams));
        } else {
            socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        }
    });

    function attachApi(ws, token) {
        apiSockets.add(ws);
        ws.on('close', () => apiSockets.delete(ws));
        ws.on('message', (data) => {
            const req = JSON.parse(String(data));
            if (req.method === 'events.subscribe') {
                ws.subscribed = true;
                ws.send(JSON.stringify({ id: req.id, result: {} }));
                return;
            }
            const r = call(req.method, req.params || {}, token);
            ws.send(
                JSON.stringify(
                    r.error ? { id: req.id, error: r.error } : { id: req.id, result: r.result },
                ),
            );
        });
    }

    function attachConsole(ws, params) {
        const t = tickets.get(params.get('ticket'));
        tickets.delete(params.get('ticket'));
        if (!t) {
            ws.send(
                JSON.stringify({
                    type: 'error',
                    code: 'unauthorized',
                    message: 'ticket missing, used or expired',
                }),
            );
            ws.close(4001);
            return;
        }
        const con = consoles.get(t.vm);
        const v = { id: nextViewer++, user, mode: t.mode, ws, since: Date.now() };
        const want = params.get('offset') || 'ring';
        let from = want === 'ring' ? con.start : want === 'end' ? con.end : Number(want);
        const end = con.end;
        const becomesWriter = t.mode === 'rw' && (!con.writer || params.get('take') === '1');
        ws.send(
            JSON.stringify({
                type: 'hello',
                version: 1,
                vm: t.vm,
                dev: t.dev,
                viewer: v.id,
                user,
                mode: t.mode,
                writer: becomesWriter,
                start: con.start,
                end,
                offset: from,
                connected: con.connected,
            }),
        );
        if (from < con.start) {
            ws.send(gapFrame(from, con.start));
            from = con.start;
        }
        if (from < end) ws.send(outputFrame(from, con.ring.subarray(from - con.start)));
        con.viewers.add(v);
        if (becomesWriter) con.setWriter(v);
        else con.broadcast(con.viewersMessage());
        ws.on('message', (data, isBinary) => {
            if (isBinary) {
                if (data[0] !== 0x11) {
                    ws.send(
                        JSON.stringify({
                            type: 'error',
                            code: 'unknown',
                            message: 'unknown opcode',
                        }),
                    );
                } else if (v.mode === 'ro') {
                    refused.push({
                        vm: t.vm,
                        viewer: v.id,
                        code: 'read_only',
                        bytes: Buffer.from(data.subarray(1)),
                    });
                    ws.send(
                        JSON.stringify({
                            type: 'error',
                            code: 'read_only',
                            message: 'read-only attachment',
                        }),
                    );
                } else if (con.writer !== v) {
                    refused.push({
                        vm: t.vm,
                        viewer: v.id,
                        code: 'not_writer',
                        bytes: Buffer.from(data.subarray(1)),
                    });
                    ws.send(
                        JSON.stringify({
                            type: 'error',
                            code: 'not_writer',
                            message: 'another viewer holds the write lock',
                        }),
                    );
                } else {
                    inputs.push({ vm: t.vm, viewer: v.id, bytes: Buffer.from(data.subarray(1)) });
                    con.input(data.subarray(1));
                }
                return;
            }
            const msg = JSON.parse(String(data));
            if (msg.type === 'take' && v.mode === 'rw') con.setWriter(v);
            else if (msg.type === 'release' && con.writer === v) con.setWriter(null);
            else if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: msg.id }));
        });
        ws.on('close', () => {
            con.viewers.delete(v);
            if (con.writer === v) con.setWriter(null);
            else con.broadcast(con.viewersMessage());
        });
    }

    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${server.address().port}/`;

    return {
        url,
        user,
        password,
        inputs,
        refused,
        console: (vm) => consoles.get(vm),
        // Ends every session, as an expiry or a frozen user would, and drops their sockets.
        expireSessions() {
            sessions.clear();
            for (const ws of apiSockets) ws.close(4001);
        },
        // Whether /vendor/ (xterm.js) is served, as if ui/node_modules were missing.
        setVendor(enabled) {
            vendor = enabled;
        },
        // Closes every console WebSocket with `code`, like a gateway restart (1001).
        dropConsoles(code = 1001) {
            for (const con of consoles.values()) for (const v of con.viewers) v.ws.close(code);
        },
        // Guest output as one OUTPUT frame per call (a string or raw bytes).
        emit(vm, data) {
            consoles.get(vm).emit(Buffer.from(data));
        },
        setVmState(vm, state) {
            vmState.set(vm, state);
            const con = consoles.get(vm);
            con.connected = state === 'running';
            con.broadcast(
                JSON.stringify({ type: 'state', connected: con.connected, reason: state }),
            );
            const ev = JSON.stringify({
                event: 'vm.state',
                data: { type: 'vm.state', vm, host: 'mockhost', state, ts: Date.now() },
            });
            for (const ws of apiSockets) if (ws.subscribed) ws.send(ev);
        },
        async stop() {
            for (const ws of wss.clients) ws.terminate();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}
