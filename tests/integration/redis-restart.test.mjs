// A Redis restart (docs/redis.md "Connections"): gateway and hostd reconnect by themselves
// within the capped backoff, hostd rebuilds its part of the registry, the scripts that call the
// shared prelude answer again (loaded anew on the new connection), and events published after
// the restart reach the API WebSockets that subscribed before it (the gateway subscribed again).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './lib/stack.mjs';
import { api, apiWs, login } from './lib/client.mjs';
import { makeUser, putVmInProject } from './lib/tenancy.mjs';
import { sleep, until } from './lib/wait.mjs';

const VM = 'vgt-d-rr1';
let stack;
let admin;

before(async () => {
  stack = await startStack({ vms: [VM], prefix: 'vgt-d-rr-' });
  admin = await login(stack);
  await api(stack, admin, 'project.create', { name: 'prr' });
  await putVmInProject(stack, admin, VM, 'prr');
  const pw = await makeUser(stack, admin, 'vrr', 'viewer');
  await api(stack, admin, 'project.member.set', { project: 'prr', user: 'vrr', role: 'viewer' });
  stack.viewerPassword = pw;
});

after(async () => {
  await stack?.stop();
});

test('after a Redis restart the registry, the prelude scripts and the event subscriptions all come back', { timeout: 180000 }, async () => {
  const viewer = await login(stack, 'vrr', stack.viewerPassword);
  const ws = await apiWs(stack, viewer);
  assert.deepEqual(await ws.call('events.subscribe'), {});

  await stack.restart('redis');
  // hostd re-registers itself (the restarted Redis kept its AOF, so this also proves the new
  // connection's sync ran), and vm.list, env.list and the viewer's event scope run scripts
  // that call user_active_projects from the prelude.
  const t0 = Date.now();
  await until(async () => {
    try {
      const { vms } = await api(stack, viewer, 'vm.list');
      return vms.some((v) => v.name === VM && v.project === 'prr');
    } catch {
      return false; // unavailable while the gateway reconnects
    }
  }, 10000, 'vm.list answers for a project member after the restart');
  assert.ok(Date.now() - t0 < 10000);
  assert.ok((await api(stack, viewer, 'env.list')).envs);
  assert.equal(stack.redis('exists', `vg:host:${stack.hostId}:alive`), '1');

  // hostd publishes, the gateway's new pub/sub connection hears it, the viewer gets it.
  const subscribed = () => (stack.logs('gateway').match(/registry pub\/sub: connected/g) || []).length;
  await until(() => subscribed() >= 2, 5000, 'the gateway\'s pub/sub connection back');
  await sleep(200); // its SUBSCRIBE is on the wire right behind AUTH
  stack.virsh('suspend', VM);
  const t1 = Date.now(); // once libvirt made the change: virsh's own time is not vmgate's
  const seen = await until(
    () => ws.events.find((e) => e.event === 'vm.state' && e.data.vm === VM && e.data.state === 'paused'),
    3000,
    'vm.state paused at the subscriber after the Redis restart',
  );
  assert.equal(seen.data.host, stack.hostId);
  assert.ok(Date.now() - t1 < 3000);
  stack.virsh('resume', VM);
  ws.close();
});
