// One console attachment that survives disconnects: mints a ticket, opens /ws/console, feeds
// output through StreamPosition, and after any close that is not final reconnects with a fresh
// ticket at the next offset, so the terminal sees every byte exactly once (docs/protocol.md §2).

import {
    SUBPROTOCOL,
    FINAL_CLOSE_CODES,
    StreamPosition,
    decodeFrame,
    encodeInput,
} from './proto.js';
import { wsUrl } from '../lib/api.js';

// The most viewers the status line names; the rest are counted (the server lists as many).
const VIEWERS_LISTED = 50;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000, 10000];
const STABLE_MS = 5000; // a connection that lived this long resets the backoff
const PING_MS = 20000; // app-level ping: browsers cannot see a half-open TCP connection
const CLOSE_REASONS = {
    1000: 'closed',
    1001: 'gateway going away',
    1006: 'connection lost',
    1009: 'message too big',
    4001: 'ticket refused',
    4003: 'access removed',
    4004: 'VM or console unknown',
    4408: 'viewer too slow',
    4503: 'host unreachable',
};

// Errors the server follows with a close: their message explains that close best.
const CLOSING_ERRORS = new Set(['unauthorized', 'not_found', 'unavailable', 'too_big']);
const TICKET_FATAL = new Set(['not_found', 'forbidden', 'bad_request']);

export class ConsoleSession {
    // mintTicket(vm, dev, mode) → {ticket, path}; handlers: output(data, offset, replay),
    // gap(from, to), change(status), notice(text, kind), unauthorized(). startAt is where the
    // first attachment begins: 'ring', 'end' or an offset (a string of digits).
    constructor({ vm, dev, mode, startAt = 'ring', mintTicket, handlers }) {
        this.vm = vm;
        this.dev = dev;
        this.mode = mode;
        this.startAt = startAt;
        this.mintTicket = mintTicket;
        this.handlers = handlers;
        this.position = new StreamPosition();
        this.ws = null;
        this.generation = 0; // bumped whenever a pending open() must not go on
        this.running = false;
        this.retry = 0;
        this.retryTimer = null;
        this.pingTimer = null;
        this.lastHeard = 0;
        this.openedAt = 0;
        this.pingId = 0;
        this.replayEnd = 0;
        this.lastError = null;
        this.status = {
            phase: 'idle', // connecting | connected | reconnecting | stopped
            detail: '',
            mode,
            viewer: null,
            user: null,
            writerViewer: null,
            writerUser: null,
            viewers: [],
            viewerCount: 0,
            vmConnected: null,
            vmReason: '',
            attempt: 0,
        };
    }

    get isWriter() {
        return this.status.viewer !== null && this.status.writerViewer === this.status.viewer;
    }

    get nextOffset() {
        return this.position.next;
    }

    update(fields) {
        Object.assign(this.status, fields);
        this.handlers.change(this.status);
    }

    start() {
        this.running = true;
        this.open();
    }

    stop() {
        this.running = false;
        clearTimeout(this.retryTimer);
        this.detach(1000, 'viewer left');
    }

    // Drops the current socket without triggering the reconnect logic of its close handler.
    detach(code, reason) {
        this.generation++;
        clearInterval(this.pingTimer);
        const ws = this.ws;
        this.ws = null;
        if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
    }

    // Reattaches right away with another mode; resuming at the next offset shows nothing twice.
    setMode(mode) {
        if (mode === this.mode) return;
        this.mode = mode;
        this.update({ mode });
        this.reconnectNow();
    }

    reconnectNow() {
        clearTimeout(this.retryTimer);
        this.detach(1000, 'reattach');
        this.running = true;
        this.retry = 0;
        this.open();
    }

    take() {
        this.sendControl({ type: 'take' });
    }

    release() {
        this.sendControl({ type: 'release' });
    }

    sendControl(msg) {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
            this.handlers.notice('Not connected', 'warn');
            return false;
        }
        this.ws.send(JSON.stringify(msg));
        return true;
    }

    send(bytes) {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
            this.handlers.notice('Not connected: input was not sent', 'warn');
            return;
        }
        if (this.mode === 'ro') {
            this.handlers.notice('Read-only console: input is not sent', 'warn');
            return;
        }
        for (const frame of encodeInput(bytes)) this.ws.send(frame);
    }

    async open() {
        const generation = ++this.generation;
        const first = this.status.phase === 'idle';
        this.update({ phase: first ? 'connecting' : 'reconnecting', attempt: this.retry });
        let ticket;
        try {
            ticket = await this.mintTicket(this.vm, this.dev, this.mode);
        } catch (err) {
            if (!this.running || generation !== this.generation) return;
            if (err.code === 'unauthorized') {
                this.running = false;
                this.update({ phase: 'stopped', detail: 'session expired' });
                this.handlers.unauthorized();
                return;
            }
            if (TICKET_FATAL.has(err.code)) {
                this.running = false;
                this.update({ phase: 'stopped', detail: err.message || err.code });
                return;
            }
            this.scheduleRetry(`ticket: ${err.message || err.code}`);
            return;
        }
        // stop(), a mode switch or a manual reconnect happened while the ticket was minted.
        if (!this.running || generation !== this.generation) return;

        const offset = this.position.next === null ? this.startAt : String(this.position.next);
        const path = ticket.path || `/ws/console?ticket=${encodeURIComponent(ticket.ticket)}`;
        const ws = new WebSocket(wsUrl(`${path}&offset=${offset}`), SUBPROTOCOL);
        ws.binaryType = 'arraybuffer';
        this.ws = ws;
        this.lastError = null;
        ws.onopen = () => {
            if (this.ws !== ws) return;
            this.openedAt = Date.now();
            this.lastHeard = Date.now();
            this.pingTimer = setInterval(() => this.keepalive(ws), PING_MS);
        };
        ws.onmessage = (ev) => {
            if (this.ws !== ws) return;
            this.lastHeard = Date.now();
            if (typeof ev.data === 'string') this.control(ev.data);
            else this.binary(ev.data);
        };
        ws.onclose = (ev) => {
            if (this.ws !== ws) return;
            this.ws = null;
            clearInterval(this.pingTimer);
            this.closed(ev);
        };
    }

    keepalive(ws) {
        if (this.ws !== ws) return;
        if (Date.now() - this.lastHeard > 2 * PING_MS) {
            this.detach(4000, 'keepalive timeout');
            this.scheduleRetry('no answer from the gateway');
            return;
        }
        ws.send(JSON.stringify({ type: 'ping', id: ++this.pingId }));
    }

    closed(ev) {
        const reason =
            (this.lastError && this.lastError.message) ||
            ev.reason ||
            CLOSE_REASONS[ev.code] ||
            `closed (${ev.code})`;
        if (!this.running) return;
        if (FINAL_CLOSE_CODES.has(ev.code)) {
            this.running = false;
            this.update({
                phase: 'stopped',
                detail: reason,
                viewers: [],
                viewerCount: 0,
                writerViewer: null,
            });
            return;
        }
        if (this.openedAt && Date.now() - this.openedAt >= STABLE_MS) this.retry = 0;
        this.scheduleRetry(reason);
    }

    scheduleRetry(reason) {
        const base = BACKOFF_MS[Math.min(this.retry, BACKOFF_MS.length - 1)];
        const delay = Math.round(base * (0.8 + Math.random() * 0.4));
        this.retry++;
        this.openedAt = 0;
        this.update({
            phase: 'reconnecting',
            detail: reason,
            attempt: this.retry,
            retryAt: Date.now() + delay,
            viewers: [],
            viewerCount: 0,
            writerViewer: null,
        });
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.running && this.open(), delay);
    }

    binary(buffer) {
        let frame;
        try {
            frame = decodeFrame(buffer);
        } catch (err) {
            this.handlers.notice(`Ignored a bad frame from the server: ${err.message}`, 'error');
            return;
        }
        for (const item of this.position.feed(frame)) {
            if (item.gap) this.handlers.gap(item.gap.from, item.gap.to);
            else this.handlers.output(item.data, item.offset, item.offset < this.replayEnd);
        }
    }

    control(text) {
        let msg;
        try {
            msg = JSON.parse(text);
        } catch {
            this.handlers.notice('Ignored a malformed message from the server', 'error');
            return;
        }
        switch (msg.type) {
            case 'hello':
                this.replayEnd = Number(msg.end) || 0;
                // Attached at 'end' and no output yet: a reconnect resumes from here, so what
                // the guest prints in between is not skipped.
                if (this.position.next === null && this.startAt === 'end')
                    this.position.next = this.replayEnd;
                this.update({
                    phase: 'connected',
                    detail: '',
                    attempt: 0,
                    viewer: msg.viewer,
                    user: msg.user,
                    mode: msg.mode || this.mode,
                    writerViewer: msg.writer ? msg.viewer : null,
                    writerUser: msg.writer ? msg.user : null,
                    vmConnected: msg.connected !== false,
                    vmReason: '',
                });
                break;
            // Who is attached: the list (summarised past 50 by the server, `count` says how many)
            // on attach, then one delta per viewer that joins or leaves (docs/protocol.md).
            case 'viewers': {
                const viewers = Array.isArray(msg.viewers) ? msg.viewers : [];
                const holder = viewers.find((v) => v.writer);
                this.update({
                    viewers,
                    viewerCount: Number.isInteger(msg.count) ? msg.count : viewers.length,
                    writerViewer: holder ? holder.viewer : null,
                    writerUser: holder ? holder.user : null,
                });
                break;
            }
            case 'joined':
            case 'left': {
                const viewers = this.status.viewers.filter((v) => v.viewer !== msg.viewer);
                if (msg.type === 'joined' && viewers.length < VIEWERS_LISTED)
                    viewers.push({ viewer: msg.viewer, user: msg.user, mode: msg.mode, since: msg.since });
                this.update({
                    viewers,
                    viewerCount: Number.isInteger(msg.count) ? msg.count : viewers.length,
                });
                break;
            }
            // Past 100 viewers of the console the server sums joins and leaves up in a count
            // (at most one a second); the names of others it no longer tracks are dropped.
            case 'count':
                this.update({
                    viewers: this.status.viewers.filter(
                        (v) => v.viewer === this.status.viewer || v.viewer === this.status.writerViewer,
                    ),
                    viewerCount: Number.isInteger(msg.count) ? msg.count : this.status.viewerCount,
                });
                break;
            case 'writer': {
                const mine = this.status.viewer;
                if (msg.previous === mine && msg.viewer !== mine && msg.viewer !== null) {
                    this.handlers.notice(
                        `${msg.user || 'Another viewer'} took over the write lock`,
                        'warn',
                    );
                } else if (msg.viewer === mine && msg.previous !== null && msg.previous !== mine) {
                    this.handlers.notice('You hold the write lock now', 'info');
                }
                this.update({ writerViewer: msg.viewer ?? null, writerUser: msg.user ?? null });
                break;
            }
            case 'state':
                this.update({ vmConnected: Boolean(msg.connected), vmReason: msg.reason || '' });
                break;
            case 'pong':
                break;
            case 'error':
                // An error the server closes after is shown by the status bar, not as a notice.
                if (CLOSING_ERRORS.has(msg.code)) {
                    this.lastError = { code: msg.code, message: msg.message || msg.code };
                    break;
                }
                this.handlers.notice(
                    this.describeError(msg),
                    msg.code === 'not_writer' ? 'warn' : 'error',
                );
                break;
            default:
                // Newer servers may add message types; an old UI simply ignores them.
                break;
        }
    }

    describeError(msg) {
        switch (msg.code) {
            case 'read_only':
                return 'Read-only console: input was not sent';
            case 'not_writer': {
                const holder = this.status.writerUser || 'Another viewer';
                return `${holder} holds the write lock: Take over to type`;
            }
            default:
                return `${msg.code}: ${msg.message || ''}`.trim();
        }
    }
}
