// Console recordings (issue 12 C12, docs/api.md "Recordings"): a writer session of a real guest is
// recorded in asciicast v2 on its host, listed and described from the Redis index, downloaded over
// HTTP with the bearer token and accepted by the real `asciinema` CLI; input is recorded only with
// the record_input setting; files rotate at recording_max_bytes and are deleted beyond
// recording_total_bytes and recording_keep_s; only the recording's project (and administrators)
// see it, only administrators delete it; every call is audited; bad input changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './lib/stack.mjs';
import { api, login, openShell, request, waitHealthy } from './lib/client.mjs';
import { makeMember, putVmInProject } from './lib/tenancy.mjs';
import { rejects, sleep, until } from './lib/wait.mjs';

const VM = 'vgt-rec';
let stack;
let admin;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vgt-rec-files-'));

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-rec-' });
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: 'prec' });
  await api(stack, admin, 'project.create', { name: 'pother' });
  await putVmInProject(stack, admin, VM, 'prec');
  await makeMember(stack, admin, 'prec', 'recop', 'operator');
  await makeMember(stack, admin, 'pother', 'stranger', 'operator');
});

after(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await stack?.stop();
});

// asciinema 2 reads its keyboard from /dev/tty even for cat: script(1) gives it a terminal.
const asciinemaCat = (file) =>
  execFileSync('script', ['-qec', `asciinema cat ${file}`, '/dev/null'], { encoding: 'utf8' });

const recDir = () => path.join(stack.dir, 'hostd-state', 'recordings');

// One writer session: attach, wait for the prompt, run cmd until marker, leave. Right after a
// hostd restart the console may not be registered again yet: attaching is retried.
async function session(token, cmd, marker) {
  const con = await until(
    () => openShell(stack, token, { vm: VM, offset: 'end' }).catch(() => null),
    30000,
    'an attached shell',
    200,
  );
  await con.run(cmd, marker);
  await con.close();
}

// The finished recordings of VM, newest first, once there are at least n.
async function finished(token, n, params = {}) {
  let got = [];
  await until(async () => {
    ({ recordings: got } = await api(stack, token, 'recording.list', { vm: VM, ...params }));
    return got.filter((r) => !r.active).length >= n;
  }, 10000, `${n} finished recordings`);
  return got.filter((r) => !r.active);
}

async function download(token, id) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return request(stack, `/api/v1/recording.download?id=${encodeURIComponent(id)}`, { headers });
}

let first;

test('a writer session is recorded: recording.list/get describe it, the .cast download plays in asciinema', async () => {
  const t0 = Date.now();
  await session(admin, 'echo rec-$((6*7))-done', 'rec-42-done');
  const [r] = await finished(admin, 1);
  first = r;
  assert.equal(r.vm, VM);
  assert.equal(r.dev, 'serial0');
  assert.equal(r.user, stack.adminUser);
  assert.equal(r.project, 'prec');
  assert.equal(r.input, false);
  assert.equal(r.part, 1);
  assert.ok(r.start >= t0 - 1000 && r.end >= r.start, JSON.stringify(r));
  assert.match(r.id, /^rec-\d+-[0-9a-f]{8}$/);
  assert.deepEqual(await api(stack, admin, 'recording.get', { id: r.id }), r);

  const res = await download(admin, r.id);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-disposition'], new RegExp(`${r.id}\\.cast`));
  assert.equal(Number(res.headers['content-length']), r.size);
  const file = path.join(tmp, `${r.id}.cast`);
  fs.writeFileSync(file, res.body);
  const header = JSON.parse(res.body.split('\n')[0]);
  assert.equal(header.version, 2);
  assert.equal(header.env.VMGATE_VM, VM);
  assert.ok(!res.body.split('\n').slice(1).some((l) => l.includes('"i"')), 'no input events without record_input');
  const played = asciinemaCat(file);
  assert.match(played, /rec-42-done/);
  // busybox redraws its line now and then (its ESC[6n after the prompt goes unanswered here), so
  // the echo of the command may not be in one piece from its first letter.
  assert.match(played, /rec-\$\(\(6\*7\)\)-done/, 'the echo of the typed command is in the output');

  // The reads are audited, with the recording's id (a download once its last byte went out,
  // which may be just after the client has it).
  const entries = await until(async () => {
    const q = await api(stack, admin, 'audit.query', { kind: 'api', user: stack.adminUser });
    return q.entries.some((e) => e.method === 'recording.download') && q.entries;
  }, 5000, 'the download audited');
  for (const m of ['recording.list', 'recording.get', 'recording.download'])
    assert.ok(entries.some((e) => e.method === m && e.result === 'ok'), `${m} audited`);
  assert.ok(entries.some((e) => e.method === 'recording.download' && e.detail.includes(r.id)));
});

test('record_input = 1: the writer\'s keystrokes are recorded as "i" events', async () => {
  await api(stack, admin, 'settings.set', { name: 'record_input', value: 1 });
  try {
    await sleep(300); // the gateway reads it at the settings.changed event
    const before = (await finished(admin, 1)).length;
    await session(admin, 'echo typed-$((2+3))', 'typed-5');
    const [r] = await finished(admin, before + 1);
    assert.equal(r.input, true);
    const body = (await download(admin, r.id)).body;
    const inputs = body.split('\n').slice(1).filter((l) => l.includes('"i"'));
    assert.ok(inputs.join('').includes('echo'), `input events: ${inputs.slice(0, 5).join(' ')}`);
  } finally {
    await api(stack, admin, 'settings.set', { name: 'record_input', value: 0 });
  }
});

test('permissions: the project sees its recordings, another project sees nothing, only administrators delete', async () => {
  const op = await login(stack, 'recop', 'pw-recop-secret');
  const other = await login(stack, 'stranger', 'pw-stranger-secret');
  const mine = await api(stack, op, 'recording.list', { vm: VM });
  assert.ok(mine.recordings.some((r) => r.id === first.id));
  assert.equal((await download(op, first.id)).status, 200);

  assert.deepEqual((await api(stack, other, 'recording.list', {})).recordings, []);
  assert.deepEqual((await api(stack, other, 'recording.list', { vm: VM })).recordings, []);
  await rejects(api(stack, other, 'recording.get', { id: first.id }), 'not_found', 404);
  const stolen = await download(other, first.id);
  assert.equal(stolen.status, 404);
  assert.doesNotMatch(stolen.body, /rec-42/);
  assert.equal((await download(null, first.id)).status, 401);

  await rejects(api(stack, op, 'recording.delete', { id: first.id }), 'forbidden', 403);
  assert.ok(fs.existsSync(path.join(recDir(), `${first.id}.cast`)));
  assert.deepEqual(await api(stack, admin, 'recording.delete', { id: first.id }), { id: first.id });
  assert.ok(!fs.existsSync(path.join(recDir(), `${first.id}.cast`)));
  await rejects(api(stack, admin, 'recording.get', { id: first.id }), 'not_found', 404);
  const { entries } = await api(stack, admin, 'audit.query', { kind: 'api' });
  assert.ok(entries.some((e) => e.method === 'recording.delete' && e.user === 'recop' && e.result === 'forbidden'));
  assert.ok(entries.some((e) => e.method === 'recording.delete' && e.result === 'ok'));
});

test('bad input: wrong types, unknown and malformed ids, a download without HTTP; nothing changes', async () => {
  const count = fs.readdirSync(recDir()).length;
  await rejects(api(stack, admin, 'recording.get', { id: 5 }), 'bad_request', 400);
  await rejects(api(stack, admin, 'recording.get', {}), 'bad_request', 400);
  await rejects(api(stack, admin, 'recording.list', { since: 'yesterday' }), 'bad_request', 400);
  await rejects(api(stack, admin, 'recording.list', { vm: '../x' }), 'bad_request', 400);
  await rejects(api(stack, admin, 'recording.list', { limit: 0 }), 'bad_request', 400);
  await rejects(api(stack, admin, 'recording.get', { id: 'rec-1-00000000' }), 'not_found', 404);
  await rejects(api(stack, admin, 'recording.delete', { id: '../../hostd.conf' }), 'not_found', 404);
  await rejects(api(stack, admin, 'recording.download', { id: 'rec-1-00000000' }), 'bad_request', 400);
  assert.equal((await download(admin, '../../hostd.conf')).status, 404);
  assert.equal((await download(admin, 'x'.repeat(200))).status, 400);
  // An index entry pointing at a path outside the directory is refused by hostd itself.
  stack.redis('hset', 'vg:rec:evil', 'vm', VM, 'host', stack.hosts[0].id, 'project', 'prec', 'start', '1');
  stack.redis('zadd', 'vg:recs', '1', 'evil');
  const evil = await download(admin, 'evil');
  assert.equal(evil.status, 400, evil.body);
  assert.match(evil.body, /not a recording id/);
  stack.redis('del', 'vg:rec:evil');
  stack.redis('zrem', 'vg:recs', 'evil');
  assert.equal(fs.readdirSync(recDir()).length, count);
});

test('limits: a file rotates at recording_max_bytes; recording_total_bytes and recording_keep_s delete the oldest', async () => {
  const conf = path.join(stack.dir, 'hostd.conf');
  const original = fs.readFileSync(conf, 'utf8');
  try {
    fs.writeFileSync(conf, `${original}recording_max_bytes = 4096\n`);
    await stack.restart('hostd');
    await waitHealthy(stack);
    const before = (await finished(admin, 0)).length;
    await session(admin, 'seq 1 2000 | tail -c 30000; echo seq-$((1+1))-end', 'seq-2-end');
    const all = await finished(admin, before + 2);
    const parts = all.slice(0, all.length - before);
    assert.ok(parts.length >= 2, `${parts.length} parts`);
    assert.ok(parts.every((r) => r.size <= 4096 + 20000), 'no part much past the limit');
    assert.deepEqual(new Set(parts.map((r) => r.part)).size, parts.length, 'parts are numbered');
    for (const r of parts.slice(0, 2)) {
      const file = path.join(tmp, `${r.id}.cast`);
      fs.writeFileSync(file, (await download(admin, r.id)).body);
      asciinemaCat(file); // each part is a whole recording
    }

    // Age: a file whose mtime is two days old goes at the next clean (hostd start).
    const oldest = all[all.length - 1];
    const old = new Date(Date.now() - 2 * 86400 * 1000);
    fs.utimesSync(path.join(recDir(), `${oldest.id}.cast`), old, old);
    fs.writeFileSync(conf, `${original}recording_keep_s = 86400\nrecording_total_bytes = 8192\nrecording_max_bytes = 4096\n`);
    await stack.restart('hostd');
    await waitHealthy(stack);
    await until(() => !fs.existsSync(path.join(recDir(), `${oldest.id}.cast`)), 10000, 'old file deleted');
    const sizes = fs.readdirSync(recDir()).map((f) => fs.statSync(path.join(recDir(), f)).size);
    assert.ok(sizes.reduce((a, b) => a + b, 0) <= 8192, `total ${sizes} within recording_total_bytes`);
    await until(async () => {
      const { recordings } = await api(stack, admin, 'recording.list', {});
      return recordings.length === sizes.length;
    }, 10000, 'the index follows the deletions');
    assert.match(stack.logs('hostd'), /older than recording_keep_s/);
    assert.match(stack.logs('hostd'), /recording_total_bytes reached/);
  } finally {
    fs.writeFileSync(conf, original);
    await stack.restart('hostd');
    await waitHealthy(stack);
  }
});

test('the index is rebuilt from the files after Redis loses it', async () => {
  const files = fs.readdirSync(recDir()).filter((f) => f.endsWith('.cast'));
  assert.ok(files.length >= 1);
  stack.redis('del', 'vg:recs');
  for (const f of files) stack.redis('del', `vg:rec:${f.slice(0, -5)}`);
  await stack.restart('hostd');
  await waitHealthy(stack);
  await until(async () => {
    const { recordings } = await api(stack, admin, 'recording.list', {});
    return recordings.length === files.length;
  }, 10000, 'index rebuilt');
  const { recordings } = await api(stack, admin, 'recording.list', {});
  assert.ok(recordings.every((r) => r.vm === VM && r.project === 'prec' && r.size > 0));
});
