// Console WebSocket protocol (docs/protocol.md §1): binary frame codec, the per-viewer stream
// position that makes resume exact, and the filter for terminal-generated replies.
// No DOM here, so node --test can exercise it directly.

export const SUBPROTOCOL = 'vmgate.console.v1';
export const OP_OUTPUT = 0x01;
export const OP_GAP = 0x02;
export const OP_INPUT = 0x11;

// The server refuses messages over 64 KiB; keep input frames well below that.
export const INPUT_CHUNK = 16384;

// Close codes after which reconnecting cannot help (docs/protocol.md, "Close codes").
export const FINAL_CLOSE_CODES = new Set([1000, 1009, 4003, 4004]);

function u64(view, at) {
    // Offsets stay far below 2^53 in practice; Number keeps the arithmetic simple.
    return Number(view.getBigUint64(at, false));
}

// Decodes one binary server frame. Returns {op:'output', offset, data} or {op:'gap', from, to};
// throws on anything malformed so the caller can report it instead of showing garbage.
export function decodeFrame(buffer) {
    const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    if (bytes.length < 1) throw new Error('empty binary frame');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    switch (bytes[0]) {
        case OP_OUTPUT:
            if (bytes.length < 9) throw new Error('short OUTPUT frame');
            return { op: 'output', offset: u64(view, 1), data: bytes.subarray(9) };
        case OP_GAP: {
            if (bytes.length !== 17) throw new Error('GAP frame must be 17 bytes');
            const from = u64(view, 1);
            const to = u64(view, 9);
            if (to < from) throw new Error('GAP frame ends before it starts');
            return { op: 'gap', from, to };
        }
        default:
            throw new Error(`unknown opcode 0x${bytes[0].toString(16).padStart(2, '0')}`);
    }
}

// Splits input bytes into INPUT frames small enough for the server's message limit.
export function encodeInput(bytes, chunk = INPUT_CHUNK) {
    const frames = [];
    for (let at = 0; at < bytes.length; at += chunk) {
        const part = bytes.subarray(at, Math.min(bytes.length, at + chunk));
        const frame = new Uint8Array(part.length + 1);
        frame[0] = OP_INPUT;
        frame.set(part, 1);
        frames.push(frame);
    }
    return frames;
}

// Tracks the next byte this viewer expects. feed() turns a decoded frame into what to show:
// {data} for bytes not seen before, {gap:{from,to}} for bytes that are lost. Overlapping output
// (possible only if a server misbehaves) is trimmed so nothing is shown twice.
export class StreamPosition {
    constructor() {
        this.next = null; // null until the first frame: the stream may start anywhere
    }

    feed(frame) {
        const out = [];
        if (frame.op === 'gap') {
            if (this.next === null || frame.to > this.next) {
                const from = this.next === null ? frame.from : Math.max(this.next, frame.from);
                if (frame.to > from) out.push({ gap: { from, to: frame.to } });
                this.next = frame.to;
            }
            return out;
        }
        let { offset, data } = frame;
        if (this.next !== null) {
            if (offset > this.next) out.push({ gap: { from: this.next, to: offset } });
            if (offset < this.next) {
                const skip = Math.min(data.length, this.next - offset);
                data = data.subarray(skip);
                offset += skip;
            }
        }
        if (data.length > 0) out.push({ data, offset });
        if (this.next === null || offset + data.length > this.next)
            this.next = offset + data.length;
        return out;
    }
}

// Replies xterm.js generates by itself when the guest asks (cursor position for busybox's ESC[6n,
// device attributes, mode and status reports, focus events). A viewer that is not the writer, or
// output that is replayed history, must not send these to the guest.
const REPORT_RE = new RegExp(
    '^(?:' +
        [
            '\\x1b\\[\\??\\d+(?:;\\d+)*R', // cursor position report
            '\\x1b\\[[?>=]?[\\d;]*c', // primary/secondary/tertiary device attributes
            '\\x1b\\[\\??\\d+(?:;\\d+)*\\$y', // DECRPM mode report
            '\\x1b\\[[0-3]n', // device status report
            '\\x1b\\[\\d+(?:;\\d+)*t', // window reports
            '\\x1bP[\\s\\S]*?\\x1b\\\\', // DCS replies (DECRQSS, XTGETTCAP)
            '\\x1b\\][\\s\\S]*?(?:\\x07|\\x1b\\\\)', // OSC colour queries answered
            '\\x1b\\[[IO]', // focus in/out
        ].join('|') +
        ')+$',
);

export function isTerminalReport(data) {
    return REPORT_RE.test(data);
}
