// JSON API client (docs/api.md): POST /api/v1/<method> for login and for calls made while the
// WebSocket is down, and one shared WebSocket on /ws/api for calls and pushed events.
// Authentication is the HttpOnly vg_session cookie the server sets at login; the UI never
// sees or stores the token.

export const API_SUBPROTOCOL = 'vmgate.api.v1';
const CALL_TIMEOUT_MS = 15000;
export const LONG_CALL_MS = 150000;

export class ApiError extends Error {
    constructor(code, message, status = 0) {
        super(message || code);
        this.code = code;
        this.status = status;
    }
}

const STATUS_CODES = {
    400: 'bad_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    409: 'conflict',
    413: 'too_big',
    429: 'rate_limited',
    503: 'unavailable',
};

export async function httpCall(method, params = {}) {
    let res;
    try {
        res = await fetch(`/api/v1/${encodeURIComponent(method)}`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(params),
            credentials: 'same-origin',
            cache: 'no-store',
        });
    } catch (e) {
        throw new ApiError('unavailable', `cannot reach the gateway (${e.message})`);
    }
    let body = null;
    try {
        body = await res.json();
    } catch {
        // A proxy error page or an empty body: fall through to the status code.
    }
    if (body && body.error) throw new ApiError(body.error.code, body.error.message, res.status);
    if (!res.ok || !body || !('result' in body)) {
        const code = STATUS_CODES[res.status] || 'internal';
        throw new ApiError(code, `HTTP ${res.status} ${res.statusText}`.trim(), res.status);
    }
    return body.result;
}

export function wsUrl(path) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}${path}`;
}

// One WebSocket for the whole page. Reconnects with backoff while started; listeners of 'open'
// re-subscribe, listeners of an event type receive its data.
export class ApiSocket {
    constructor() {
        this.ws = null;
        this.nextId = 1;
        this.pending = new Map();
        this.listeners = new Map();
        this.started = false;
        this.retry = 0;
        this.timer = null;
    }

    start() {
        if (this.started) return;
        this.started = true;
        this.connect();
    }

    stop() {
        this.started = false;
        clearTimeout(this.timer);
        if (this.ws) this.ws.close(1000);
        this.ws = null;
        this.failAll(new ApiError('unavailable', 'API connection closed'));
    }

    // Resolves once the WebSocket is open, or after ms in any case (calls then go over HTTP).
    opened(ms) {
        if (this.isOpen) return Promise.resolve();
        return new Promise((resolve) => {
            const timer = setTimeout(done, ms);
            const off = this.on('open', done);
            function done() {
                clearTimeout(timer);
                off();
                resolve();
            }
        });
    }

    on(type, fn) {
        if (!this.listeners.has(type)) this.listeners.set(type, new Set());
        this.listeners.get(type).add(fn);
        return () => this.listeners.get(type).delete(fn);
    }

    emit(type, data) {
        for (const fn of this.listeners.get(type) || []) {
            try {
                fn(data);
            } catch (e) {
                console.error(`listener for ${type} failed`, e);
            }
        }
    }

    get isOpen() {
        return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
    }

    connect() {
        const ws = new WebSocket(wsUrl('/ws/api'), API_SUBPROTOCOL);
        this.ws = ws;
        ws.onopen = () => {
            this.retry = 0;
            this.emit('open');
        };
        ws.onmessage = (ev) => this.receive(ev.data);
        ws.onclose = (ev) => {
            if (this.ws !== ws) return;
            this.ws = null;
            this.failAll(new ApiError('unavailable', 'API connection lost'));
            this.emit('close', ev);
            if (!this.started) return;
            const delay = Math.min(10000, 500 * 2 ** this.retry++) * (0.75 + Math.random() / 2);
            this.timer = setTimeout(() => this.connect(), delay);
        };
    }

    receive(text) {
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            console.error('API: ignoring a message that is not JSON');
            return;
        }
        if (msg && typeof msg.event === 'string') {
            this.emit(`event:${msg.event}`, msg.data || {});
            this.emit('event', msg);
            return;
        }
        const call = this.pending.get(msg && msg.id);
        if (!call) return;
        this.pending.delete(msg.id);
        clearTimeout(call.timer);
        if (msg.error) call.reject(new ApiError(msg.error.code, msg.error.message));
        else call.resolve(msg.result);
    }

    failAll(err) {
        for (const call of this.pending.values()) {
            clearTimeout(call.timer);
            call.reject(err);
        }
        this.pending.clear();
    }

    // Calls over the WebSocket when it is open, otherwise over HTTP: both carry the same API.
    // Long operations (migration, managed save, snapshots: up to 120 s on the host) pass a
    // longer timeout.
    call(method, params = {}, { timeout = CALL_TIMEOUT_MS } = {}) {
        if (!this.isOpen) return httpCall(method, params);
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending.delete(id);
                reject(new ApiError('unavailable', `${method}: no answer in ${timeout} ms`));
            }, timeout);
            this.pending.set(id, { resolve, reject, timer });
            this.ws.send(JSON.stringify({ id, method, params }));
        });
    }

    // Every page of a paged list method (vm.list): the items under `key` of each answer,
    // calling again with the answer's `next` as `cursor` until it is null.
    async all(method, params, key) {
        const items = [];
        let cursor = null;
        do {
            const res = await this.call(method, cursor ? { ...params, cursor } : params);
            items.push(...(res[key] || []));
            cursor = res.next;
        } while (cursor);
        return { [key]: items };
    }
}

export const api = new ApiSocket();
