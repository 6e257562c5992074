// Storage through the API (issue 14; docs/api.md "Storage pools", "Volumes", "Images",
// "Secrets"; docs/storage.md): a dir pool and an fs pool on a loop device created, started,
// filled, refreshed, stopped and deleted; volumes created, resized, cloned, uploaded and
// downloaded over HTTP with the same sha256; a cut upload leaves a volume that is not usable;
// a volume a running VM uses is not deleted; the images quota holds under 20 concurrent
// creates; bad pool specs change nothing on the host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startStack } from './lib/stack.mjs';
import { api, login } from './lib/client.mjs';
import { refused, until } from './lib/wait.mjs';

let stack;
let token;
const A = (m, p) => api(stack, token, m, p);
const poolNames = async () => (await A('pool.list')).pools.map((p) => p.name);
const libvirtPools = () => stack.virsh('pool-list', '--all', '--name').split('\n').map((s) => s.trim()).filter(Boolean);

// Streams body (a Buffer) to volume.upload; abortAt cuts the connection after that many bytes.
function upload(pool, volume, body, { abortAt, offset } = {}) {
  const q = new URLSearchParams({ pool, volume });
  if (offset !== undefined) q.set('offset', String(offset));
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(`/api/v1/volume.upload?${q}`, stack.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-length': body.length, 'content-type': 'application/octet-stream' },
      ca: fs.readFileSync(stack.caFile),
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }));
    });
    req.on('error', (e) => (abortAt !== undefined ? resolve({ aborted: true }) : reject(e)));
    const step = 1 << 20;
    let off = 0;
    const pump = () => {
      while (off < body.length) {
        if (abortAt !== undefined && off >= abortAt) {
          setTimeout(() => req.destroy(), 200);
          return;
        }
        const ok = req.write(body.subarray(off, Math.min(off + step, body.length)));
        off += step;
        if (!ok) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

function download(pool, volume) {
  const q = new URLSearchParams({ pool, volume });
  return new Promise((resolve, reject) => {
    https.get(new URL(`/api/v1/volume.download?${q}`, stack.url), {
      headers: { authorization: `Bearer ${token}` }, ca: fs.readFileSync(stack.caFile), agent: false,
    }, (res) => {
      const h = crypto.createHash('sha256');
      let n = 0;
      res.on('data', (c) => { h.update(c); n += c.length; });
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, sha: h.digest('hex'), type: res.headers['content-type'] }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

before(async () => {
  stack = await startStack({ vms: [], prefix: 'vgt-storage-' });
  token = await login(stack);
});

after(async () => {
  await stack?.stop();
});

test('a dir pool is created, filled, refreshed, stopped and deleted through the API', async () => {
  const target = path.join(stack.dir, 'pools', 'd1');
  const p = await A('pool.create', { pool: 'd1', host: stack.hostId, spec: { type: 'dir', target } });
  assert.equal(p.name, 'd1');
  assert.equal(p.type, 'dir');
  assert.equal(p.managed, true);
  assert.equal(p.hosts[0].state, 'running');
  assert.ok(p.capacity > 0 && p.available > 0);
  assert.ok(fs.existsSync(target));
  assert.ok((await poolNames()).includes('d1'));

  const v1 = await A('volume.create', { pool: 'd1', volume: 'v1.qcow2', size_mib: 16 });
  assert.equal(v1.format, 'qcow2');
  assert.equal(v1.capacity, 16 << 20);
  assert.equal(v1.usable, true);
  const r = await A('volume.resize', { pool: 'd1', volume: 'v1.qcow2', size_mib: 32 });
  assert.equal(r.capacity, 32 << 20);
  const c = await A('volume.clone', { pool: 'd1', volume: 'v1.qcow2', name: 'v2.qcow2' });
  assert.equal(c.capacity, 32 << 20);
  const ov = await A('volume.create', { pool: 'd1', volume: 'ov.qcow2', backing: 'd1/v1.qcow2' });
  assert.equal(ov.backing, path.join(target, 'v1.qcow2'));
  // a file put there behind libvirt's back shows after a refresh
  fs.writeFileSync(path.join(target, 'side.raw'), Buffer.alloc(4096));
  await A('pool.refresh', { pool: 'd1' });
  const names = (await A('volume.list', { pool: 'd1' })).volumes.map((v) => v.name).sort();
  assert.deepEqual(names, ['ov.qcow2', 'side.raw', 'v1.qcow2', 'v2.qcow2']);

  await refused(A('pool.delete', { pool: 'd1' }), 'conflict', /holds 4 volumes/);
  for (const v of names) await A('volume.delete', { pool: 'd1', volume: v });
  const stopped = await A('pool.stop', { pool: 'd1' });
  assert.equal(stopped.hosts[0].state, 'inactive');
  assert.equal((await A('pool.start', { pool: 'd1' })).hosts[0].state, 'running');
  await A('pool.delete', { pool: 'd1' });
  assert.ok(!(await poolNames()).includes('d1'));
  assert.ok(!libvirtPools().includes('d1'));
  assert.ok(!fs.existsSync(target), 'the empty directory goes with the pool');
});

test('bad pool specs are refused with a clear error and change nothing on the host', async () => {
  const before = libvirtPools();
  const bad = [
    [{ type: 'rbd', target: '/x' }, 'bad_request', /spec.type must be one of/],
    [{ type: 'dir', target: 'pools/rel' }, 'bad_request', /absolute path/],
    [{ type: 'dir', target: `${stack.dir}/pools/../escape` }, 'bad_request', /absolute path/],
    [{ type: 'dir', target: '/etc/vmgate-pool' }, 'forbidden', /outside this host's pool_roots/],
    [{ type: 'fs', target: `${stack.dir}/pools/f`, source: { device: '/etc/passwd' } }, 'bad_request', /below \/dev\//],
    [{ type: 'netfs', target: `${stack.dir}/pools/n`, source: { host: 'nfs.example', dir: 'x' } }, 'bad_request', /spec.source.dir/],
    [{ type: 'iscsi-direct', source: { host: '127.0.0.1', iqn: 'not an iqn', initiator: 'iqn.2024-01.org.x:h' } }, 'bad_request', /spec.source.iqn/],
    [{ type: 'iscsi-direct', source: { host: '127.0.0.1', port: 70000, iqn: 'iqn.2024-01.org.x:t', initiator: 'iqn.2024-01.org.x:h' } }, 'bad_request', /spec.source.port/],
    [{ type: 'iscsi-direct', source: { host: '127.0.0.1', iqn: 'iqn.2024-01.org.x:t', initiator: 'iqn.2024-01.org.x:h', auth: { username: 'u', secret: '../s' } } }, 'bad_request', /spec.source.auth.secret/],
  ];
  for (const [spec, code, re] of bad) {
    await refused(A('pool.create', { pool: 'bad1', host: stack.hostId, spec }), code, re);
  }
  await refused(A('pool.create', { pool: 'bad1', spec: { type: 'dir', target: '/x' } }), 'bad_request', /exactly one of host, group/);
  await refused(A('volume.create', { pool: stack.pool, volume: 'z', size_mib: 0 }), 'bad_request', /size_mib/);
  await refused(A('volume.create', { pool: stack.pool, volume: 'z', size_mib: 1 << 30 }), 'bad_request', /size_mib/);
  await refused(A('volume.create', { pool: stack.pool, volume: '../z', size_mib: 1 }), 'bad_request', /volume/);
  await refused(A('volume.create', { pool: stack.pool, volume: 'z', size_mib: -5 }), 'bad_request', /size_mib/);
  await refused(A('volume.resize', { pool: stack.pool, volume: 'base.qcow2', size_mib: 0 }), 'bad_request', /size_mib/);
  await refused(A('volume.resize', { pool: stack.pool, volume: 'base.qcow2', size_mib: 1e12 }), 'bad_request', /size_mib/);
  await refused(A('pool.create', { pool: '../up', host: stack.hostId, spec: { type: 'dir', target: `${stack.dir}/pools/up` } }), 'bad_request', /pool/);
  assert.equal((await A('volume.get', { pool: stack.pool, volume: 'base.qcow2' })).capacity, 64 << 20);
  assert.equal((await A('volume.list', { pool: stack.pool })).volumes.some((v) => v.name === 'z'), false);
  assert.deepEqual(libvirtPools(), before);
  assert.equal(stack.redis('exists', 'vg:pool:bad1'), '0');
});

test('an fs pool on a loop device with ext4 is created, used, stopped and deleted', async (t) => {
  const img = path.join(stack.dir, 'fs1.img');
  let dev;
  try {
    execFileSync('truncate', ['-s', '64M', img]);
    execFileSync('mkfs.ext4', ['-q', '-F', img]);
    dev = execFileSync('losetup', ['--find', '--show', img], { encoding: 'utf8' }).trim();
  } catch (e) {
    t.skip(`no loop device here: ${e.message}`);
    return;
  }
  try {
    const target = path.join(stack.dir, 'pools', 'fs1');
    const p = await A('pool.create', { pool: 'fs1', host: stack.hostId, spec: { type: 'fs', target, source: { device: dev, format: 'ext4' } } });
    assert.equal(p.type, 'fs');
    assert.equal(p.hosts[0].state, 'running');
    // the loop device's filesystem is mounted there (in libvirtd's mount namespace): its size
    assert.ok(p.capacity > 50 << 20 && p.capacity < 70 << 20, `capacity ${p.capacity} is the loop device's`);
    await A('volume.create', { pool: 'fs1', volume: 'a.raw', size_mib: 8, format: 'raw' });
    const names = (await A('volume.list', { pool: 'fs1' })).volumes.map((v) => v.name);
    assert.ok(names.includes('a.raw'), names.join());
    // a file written on the mounted filesystem behind libvirt's back (in libvirtd's mount
    // namespace, where the mount is) shows after a refresh
    const libvirtd = fs.readFileSync(path.join(stack.dir, 'libvirt', 'libvirtd.pid'), 'utf8').trim();
    execFileSync('nsenter', ['-t', libvirtd, '-m', '--', 'truncate', '-s', '1M', path.join(target, 'side.raw')]);
    assert.ok(!fs.existsSync(path.join(target, 'side.raw')), 'not in the test\'s namespace');
    assert.equal((await A('pool.refresh', { pool: 'fs1' })).hosts[0].volumes, 3, 'a.raw, side.raw, lost+found');
    const after = (await A('volume.list', { pool: 'fs1' })).volumes.map((v) => v.name).sort();
    assert.ok(after.includes('side.raw'), after.join());
    await refused(A('pool.delete', { pool: 'fs1' }), 'conflict', /holds 2 volumes;/);
    for (const v of ['a.raw', 'side.raw']) await A('volume.delete', { pool: 'fs1', volume: v });
    assert.equal((await A('pool.stop', { pool: 'fs1' })).hosts[0].state, 'inactive');
    await A('pool.delete', { pool: 'fs1' });
    assert.ok(!libvirtPools().includes('fs1'));
  } finally {
    try { execFileSync('losetup', ['-d', dev]); } catch {}
  }
});

test('upload and download round trip with the same sha256; a cut upload is not usable', async () => {
  const size = 24 << 20;
  const data = crypto.randomBytes(size);
  const want = crypto.createHash('sha256').update(data).digest('hex');
  const up = await upload(stack.pool, 'up1.raw', data);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.bytes, size);
  const v = await A('volume.get', { pool: stack.pool, volume: 'up1.raw' });
  assert.equal(v.capacity, size);
  assert.equal(v.usable, true);
  assert.equal(v.transfer.state, 'done');
  const down = await download(stack.pool, 'up1.raw');
  assert.equal(down.status, 200);
  assert.equal(down.type, 'application/octet-stream');
  assert.equal(down.bytes, size);
  assert.equal(down.sha, want);

  // cut halfway: the volume is there but not usable, and no image can be made of it
  const cut = await upload(stack.pool, 'up2.raw', data, { abortAt: size / 2 });
  assert.ok(cut.aborted || cut.status >= 400);
  await until(async () => (await A('volume.get', { pool: stack.pool, volume: 'up2.raw' })).transfer?.state === 'cut', 10000, 'cut upload recorded');
  const half = await A('volume.get', { pool: stack.pool, volume: 'up2.raw' });
  assert.equal(half.usable, false);
  assert.ok(half.transfer.bytes < size);
  await refused(A('image.create', { image: 'half', pool: stack.pool, volume: 'up2.raw', kind: 'iso' }), 'conflict', /not usable/);
  // restarting it completes it
  const again = await upload(stack.pool, 'up2.raw', data);
  assert.equal(again.status, 200);
  assert.equal((await A('volume.get', { pool: stack.pool, volume: 'up2.raw' })).usable, true);
  assert.equal((await download(stack.pool, 'up2.raw')).sha, want);

  // the JSON API cannot carry a stream; a refused upload is answered, not left hanging
  await refused(A('volume.upload', { pool: stack.pool, volume: 'up3.raw' }), 'bad_request', /streams the volume over HTTP/);
  const refusedUp = await upload('nopool', 'x.raw', data.subarray(0, 3 << 20));
  assert.equal(refusedUp.status, 404);
  assert.equal(refusedUp.body.error.code, 'not_found');
  for (const offset of [-1, 'abc', 2 ** 60]) {
    const r = await upload(stack.pool, 'up1.raw', data.subarray(0, 1 << 20), { offset });
    assert.equal(r.status, 400, `offset ${offset}`);
    assert.equal(r.body.error.code, 'bad_request');
    assert.match(r.body.error.message, /offset/);
  }
  assert.equal((await download(stack.pool, 'up1.raw')).sha, want, 'a refused upload changes nothing');
  const missing = await download(stack.pool, 'nothere.raw');
  assert.equal(missing.status, 404);
  for (const n of ['up1.raw', 'up2.raw']) await A('volume.delete', { pool: stack.pool, volume: n });
});

test('the images quota holds: 20 concurrent creates against a quota of 5 give exactly 5', async () => {
  await A('project.create', { name: 'pimg', quotas: { images: 5 } });
  for (let i = 0; i < 20; i++) await A('volume.create', { pool: stack.pool, volume: `img${i}.raw`, size_mib: 1, format: 'raw' });
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => A('image.create', { image: `i${i}`, pool: stack.pool, volume: `img${i}.raw`, kind: 'template', project: 'pimg' })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  assert.equal(ok, 5);
  for (const r of results.filter((r) => r.status === 'rejected')) assert.equal(r.reason.code, 'quota_exceeded');
  assert.equal(stack.redis('hget', 'vg:project:pimg:usage', 'images'), '5');
  assert.equal(stack.redis('hget', 'vg:project:pimg:usage', 'image_bytes'), String(5 << 20));
  const listed = (await A('image.list')).images.filter((i) => i.project === 'pimg');
  assert.equal(listed.length, 5);
  // an image's volume is not deleted behind the library's back
  await refused(A('volume.delete', { pool: stack.pool, volume: listed[0].volume }), 'conflict', /is image/);
  await A('image.delete', { image: listed[0].name, delete_volume: true });
  assert.equal(stack.redis('hget', 'vg:project:pimg:usage', 'images'), '4');
  await A('image.create', { image: 'public1', pool: stack.pool, volume: 'img19.raw', kind: 'iso', os: 'test' });
  assert.equal((await A('image.get', { image: 'public1' })).project, '');
});

test('a volume in use by a running VM is not deleted or resized (conflict)', async () => {
  await A('volume.create', { pool: stack.pool, volume: 'busy.qcow2', size_mib: 8 });
  const vm = 'vgt-storage-busy';
  await A('project.create', { name: 'pbusy' });
  await A('vm.create', {
    project: 'pbusy',
    spec: {
      name: vm,
      memory_mib: 128,
      kernel: { kernel: `${stack.env.VG_GUEST_DIR}/vmlinuz`, initrd: `${stack.env.VG_GUEST_DIR}/initrd.gz`, cmdline: 'console=ttyS0 quiet' },
      disks: [{ volume: `${stack.pool}/busy.qcow2` }],
    },
  });
  await until(() => stack.redis('hget', `vg:vm:${vm}`, 'state') === 'shutoff', 30000, 'VM defined');
  await A('vm.start', { vm });
  await until(() => stack.redis('hget', `vg:vm:${vm}`, 'state') === 'running', 30000, 'VM running');
  await refused(A('volume.delete', { pool: stack.pool, volume: 'busy.qcow2' }), 'conflict', /in use by running VM/);
  await refused(A('volume.resize', { pool: stack.pool, volume: 'busy.qcow2', size_mib: 4 }), 'conflict', /in use by running VM/);
  assert.equal((await A('volume.get', { pool: stack.pool, volume: 'busy.qcow2' })).capacity, 8 << 20);
});

test('secrets are set, listed without their value and deleted', async () => {
  const s = await A('secret.set', { secret: 'chap1', value: 'very secret chap', description: 'tgt CHAP' });
  assert.equal(s.name, 'chap1');
  assert.equal(JSON.stringify(s).includes('very secret'), false);
  const list = await A('secret.list');
  assert.deepEqual(list.secrets.map((x) => x.name), ['chap1']);
  assert.equal(JSON.stringify(list).includes('very secret'), false);
  assert.match(stack.virsh('secret-list'), /iscsi\s+chap1/);
  assert.equal(fs.readFileSync(path.join(stack.dir, 'log', 'gateway.log'), 'utf8').includes('very secret'), false);
  await A('secret.delete', { secret: 'chap1' });
  assert.doesNotMatch(stack.virsh('secret-list'), /chap1/);
});
