// The UI's console protocol module (ui/console/proto.js) without a browser: frame decoding, input
// framing, exact resume bookkeeping and the terminal-report filter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    decodeFrame,
    encodeInput,
    StreamPosition,
    isTerminalReport,
    OP_INPUT,
} from '../../ui/console/proto.js';

function output(offset, text) {
    const data = new TextEncoder().encode(text);
    const f = new Uint8Array(9 + data.length);
    f[0] = 1;
    new DataView(f.buffer).setBigUint64(1, BigInt(offset));
    f.set(data, 9);
    return f;
}

function gap(from, to) {
    const f = new Uint8Array(17);
    f[0] = 2;
    new DataView(f.buffer).setBigUint64(1, BigInt(from));
    new DataView(f.buffer).setBigUint64(9, BigInt(to));
    return f;
}

test('decodes OUTPUT and GAP frames, including large offsets', () => {
    const o = decodeFrame(output(2 ** 40, 'hé'));
    assert.equal(o.op, 'output');
    assert.equal(o.offset, 2 ** 40);
    assert.equal(new TextDecoder().decode(o.data), 'hé');
    assert.deepEqual(decodeFrame(gap(5, 9).buffer), { op: 'gap', from: 5, to: 9 });
    assert.equal(decodeFrame(output(0, '')).data.length, 0);
});

test('rejects malformed frames with a clear error', () => {
    assert.throws(() => decodeFrame(new Uint8Array(0)), /empty/);
    assert.throws(() => decodeFrame(new Uint8Array([1, 0, 0])), /short OUTPUT/);
    assert.throws(() => decodeFrame(new Uint8Array(10).fill(2)), /17 bytes/);
    assert.throws(() => decodeFrame(gap(9, 5)), /ends before/);
    assert.throws(() => decodeFrame(new Uint8Array([0x7f])), /unknown opcode 0x7f/);
});

test('splits input into INPUT frames below the message limit', () => {
    const bytes = new Uint8Array(40000).fill(0x61);
    const frames = encodeInput(bytes);
    assert.deepEqual(
        frames.map((f) => f.length),
        [16385, 16385, 7233],
    );
    assert.ok(frames.every((f) => f[0] === OP_INPUT));
    assert.equal(encodeInput(new Uint8Array(0)).length, 0);
});

test('stream position: contiguous output, resume overlap trimmed, holes become gaps', () => {
    const pos = new StreamPosition();
    const text = (items) =>
        items.map((i) =>
            i.gap ? `[gap ${i.gap.from}-${i.gap.to}]` : new TextDecoder().decode(i.data),
        );
    assert.deepEqual(text(pos.feed(decodeFrame(output(100, 'abc')))), ['abc']);
    assert.equal(pos.next, 103);
    // A resumed stream that starts earlier than expected shows nothing twice.
    assert.deepEqual(text(pos.feed(decodeFrame(output(101, 'bcdef')))), ['def']);
    assert.deepEqual(text(pos.feed(decodeFrame(output(100, 'abc')))), []);
    assert.equal(pos.next, 106);
    // A hole without a GAP frame is still shown as lost bytes.
    assert.deepEqual(text(pos.feed(decodeFrame(output(110, 'x')))), ['[gap 106-110]', 'x']);
    // An explicit GAP moves the position; a stale one is ignored.
    assert.deepEqual(text(pos.feed(decodeFrame(gap(111, 200)))), ['[gap 111-200]']);
    assert.deepEqual(text(pos.feed(decodeFrame(gap(150, 180)))), []);
    assert.equal(pos.next, 200);
});

test('terminal reports are recognised, typed text is not', () => {
    for (const s of [
        '\x1b[24;9R',
        '\x1b[?1;2c',
        '\x1b[>0;276;0c',
        '\x1b[0n',
        '\x1b[I',
        '\x1bP1$r0m\x1b\\',
        '\x1b]11;rgb:0000/0000/0000\x1b\\',
        '\x1b[24;9R\x1b[24;9R',
    ]) {
        assert.ok(isTerminalReport(s), JSON.stringify(s));
    }
    for (const s of ['a', 'ls\r', '\x1b[A', '\x1b', '\x03', '\x1b[24;9Rx', 'R']) {
        assert.ok(!isTerminalReport(s), JSON.stringify(s));
    }
});
