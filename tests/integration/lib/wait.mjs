// Waiting and refusal helpers shared by the integration tests.
import assert from 'node:assert/strict';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls pred (sync or async) every step ms until it returns something truthy, which is
// returned; throws after ms milliseconds naming what was awaited.
export async function until(pred, ms, what, step = 50) {
  const t0 = Date.now();
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timeout after ${ms} ms waiting for ${what}`);
    await sleep(step);
  }
}

// The API call must fail with error code `code` (and a message matching re, when given).
export async function refused(promise, code, re) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  });
}

// Awaits promise and checks it failed with code (and HTTP status when given).
export async function rejects(promise, code, status) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.code, code, e.message);
    if (status) assert.equal(e.status, status);
    assert.ok(e.message.length > code.length + 2, 'error has a message');
    return e;
  }
  assert.fail(`expected error ${code}`);
}
