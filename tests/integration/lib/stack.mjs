// A private vmgate stack for one test file: its own directory under /tmp, Redis, hostd, gateway,
// libvirtd (so no other hostd on the machine touches its VMs, nor its hostd theirs) and TCG test
// VMs, started by tools/up.sh --detach exactly as an operator's stack is.
//
//   const stack = await startStack({ vms: ['vgt-a'] });
//   ... stack.url, stack.redis('smembers', 'vg:vms'), await stack.restart('hostd') ...
//   await stack.stop(); // throws if a daemon log shows a sanitizer error
//
// hosts: 2 adds a second host (its own private libvirtd, hostd 'hostd2' with host id
// `<hostname>-2`, console directory consoles2/); stack.hosts describes them all, the test VMs
// boot on hosts[0]. Every libvirtd of the stack has the storage pool stack.pool (one directory,
// stack.poolDir, shared by the hosts, holding base.qcow2 and tools.iso) and the isolated network
// stack.network.
//
// sentinel: true makes Redis highly available (tools/up.sh VG_SENTINEL=1): the master on
// stack.redisPort, a replica on stack.replicaPort and three Sentinels on stack.sentinelPorts,
// which gateway and hostd ask for the master; stack.redisAt(port, ...) runs redis-cli against
// any of them (stack.redis always asks the first master's port).
//
// Environment: VG_BUILD_DIR (default <repo>/build) picks the daemons, VG_GUEST_DIR (default
// <repo>/.stack/guest) the shared test guest, VG_KEEP_STACK=1 keeps the directory after stop().
// VM names in tests start with `vgt-`.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const UP = path.join(REPO, 'tools/up.sh');
const DOWN = path.join(REPO, 'tools/down.sh');
const GUEST_XML = path.join(REPO, 'tools/guest-xml.sh');
const SANITIZER = /ERROR: AddressSanitizer|runtime error:/;

// Stacks not stopped yet: torn down synchronously if the test process ends early, so no VM or
// daemon outlives it.
const live = new Set();
function downSync(env) {
  try {
    execFileSync(DOWN, { env, stdio: 'ignore', timeout: 60000 });
  } catch {
    // Best effort while exiting; the stack's own stop() reports errors.
  }
}
process.on('exit', () => live.forEach((s) => downSync(s.env)));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => process.exit(128 + os.constants.signals[sig]));
}

// Free loopback ports, held open together so that no two of them are the same.
async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve(srv));
    })),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function sh(file, args, env) {
  try {
    return await run(file, args, { env, maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed (exit ${e.code}):\n${e.stdout}${e.stderr}`);
  }
}

// vms: domain names to define and boot (may be empty); prefix: name prefix of the stack
// directory under the system temp dir.
export async function startStack({ vms = ['vgt-a'], prefix = 'vgt-stack-', hosts = 1, sentinel = false } = {}) {
  if (hosts !== 1 && hosts !== 2) throw new Error(`a stack has 1 or 2 hosts, not ${hosts}`);
  for (const vm of vms) {
    if (!/^vgt-[A-Za-z0-9_.-]+$/.test(vm)) throw new Error(`test VM names start with vgt-: ${vm}`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755); // qemu (libvirt-qemu) must reach dir/consoles
  const [httpPort, linkPort, redisPort, linkPort2, metricsPort, metricsPort2, replicaPort, ...sentinelPorts] =
    await freePorts(sentinel ? 10 : 6);
  const hostId = os.hostname();
  const env = {
    ...process.env,
    VG_STACK_DIR: dir,
    VG_SKIP_SETUP: '1',
    VG_BUILD_DIR: process.env.VG_BUILD_DIR || path.join(REPO, 'build'),
    VG_GUEST_DIR: process.env.VG_GUEST_DIR || path.join(REPO, '.stack/guest'),
    VG_HTTP_BIND: '127.0.0.1',
    VG_HTTP_PORT: String(httpPort),
    VG_LINK_PORT: String(linkPort),
    VG_REDIS_PORT: String(redisPort),
    VG_HOST_ID: hostId,
    VG_DEMO_VMS: vms.join(' '),
    VG_LIBVIRT: 'private',
    VG_HOSTS: String(hosts),
    VG_LINK_PORT2: String(linkPort2),
    VG_METRICS_PORT: String(metricsPort),
    VG_METRICS_PORT2: String(metricsPort2),
    ...(sentinel && {
      VG_SENTINEL: '1',
      VG_REDIS_REPLICA_PORT: String(replicaPort),
      VG_SENTINEL_PORTS: sentinelPorts.join(' '),
    }),
  };
  const virshAt = (uri) => (...args) =>
    execFileSync('virsh', ['-c', uri, ...args.map(String)], { encoding: 'utf8' });
  // Host n > 1 has directories suffixed with n: libvirt2/, consoles2/ (tools/up.sh).
  const hostList = [
    [hostId, '', linkPort, metricsPort],
    [`${hostId}-2`, '2', linkPort2, metricsPort2],
  ]
    .slice(0, hosts)
    .map(([id, n, port, mport]) => {
      const libvirtUri = `qemu:///system?socket=${dir}/libvirt${n}/sock/libvirt-sock`;
      const consolesDir = path.join(dir, `consoles${n}`);
      return { id, libvirtUri, consolesDir, linkPort: port, metricsPort: mport, virsh: virshAt(libvirtUri) };
    });
  const daemons = hosts === 2 ? ['hostd', 'hostd2', 'gateway'] : ['hostd', 'gateway'];
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
  const stack = {
    dir,
    env,
    url: `https://127.0.0.1:${httpPort}`,
    httpPort,
    linkPort,
    redisPort,
    replicaPort: sentinel ? replicaPort : undefined,
    sentinelPorts: sentinel ? sentinelPorts : [],
    redisPassword: undefined,
    adminUser: 'admin',
    adminPassword: undefined,
    caFile: path.join(dir, 'certs/ca.pem'),
    vms: [...vms],
    hostId,
    libvirtUri: hostList[0].libvirtUri,
    hosts: hostList,
    pool: 'vmgate',
    poolDir: path.join(dir, 'pool'),
    network: 'vmgate',

    // redis-cli against the stack's Redis; returns its stdout without the final newline.
    redis(...args) {
      return stack.redisAt(redisPort, ...args);
    },

    // Every key but the metric series (vg:m:*, written by hostd's rounds on their own clock, a new
    // bucket key each minute), sorted: what a request that must change nothing leaves as it was.
    stateKeys() {
      return stack
        .redis('--scan')
        .split('\n')
        .filter((k) => k && !k.startsWith('vg:m:'))
        .sort();
    },

    // redis-cli against the Redis or Sentinel on port (they share the password).
    redisAt(port, ...args) {
      return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)], {
        env: { ...process.env, REDISCLI_AUTH: stack.redisPassword },
        encoding: 'utf8',
      }).replace(/\n$/, '');
    },

    // virsh against hosts[0]; stack.hosts[i].virsh for the others.
    virsh: hostList[0].virsh,

    // Stops hostd, hostd2, gateway or redis by pid and starts it again with the same
    // configuration.
    async restart(component) {
      await sh(UP, ['--restart', component], env);
    },

    // Defines and starts one more test VM; returns once libvirt started it, before hostd
    // registers it.
    async addVm(name) {
      if (!/^vgt-[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`test VM names start with vgt-: ${name}`);
      await sh(UP, ['--add-vm', name], env);
      stack.vms.push(name);
    },

    // A VM spec (docs/vmspec.md) that boots the test guest; extra adds or replaces members.
    guestSpec(name, extra = {}) {
      const guest = env.VG_GUEST_DIR;
      return {
        name,
        vcpus: 1,
        memory_mib: 128,
        kernel: { kernel: `${guest}/vmlinuz`, initrd: `${guest}/initrd.gz`, cmdline: 'console=ttyS0 quiet sysrq_always_enabled' },
        ...extra,
      };
    },

    // The domain XML of a VM booting the test guest, made by tools/guest-xml.sh from a VM spec
    // with hostd's generator. spec: more members of the spec (disks, nics ...); disks: the file
    // of each spec disk, 'FORMAT:FILE', in order.
    guestXml(name, consolesDir, { spec = {}, disks = [] } = {}) {
      const members = JSON.stringify(spec).slice(1, -1);
      const args = [...(members ? ['--spec', members] : []), ...disks.flatMap((d) => ['--disk', d])];
      return execFileSync(GUEST_XML, [...args, name, consolesDir], { env, encoding: 'utf8' });
    },

    // Console socket of a VM's device: 'com' (serial0) or 'hvc' (the virtio console).
    socket(vm, kind = 'com') {
      return path.join(dir, 'consoles', `${kind}-${vm}.sock`);
    },

    logs(component) {
      try {
        return fs.readFileSync(path.join(dir, 'log', `${component}.log`), 'utf8');
      } catch {
        return '';
      }
    },

    // Tears the stack down, then fails if a daemon log holds a sanitizer report.
    async stop() {
      if (!live.delete(stack)) return;
      await sh(DOWN, [], env);
      const bad = daemons
        .map((c) => [c, stack.logs(c).split('\n').filter((l) => SANITIZER.test(l))])
        .filter(([, lines]) => lines.length);
      if (bad.length) {
        throw new Error(
          `sanitizer errors (stack kept in ${dir}):\n` +
            bad.map(([c, lines]) => `${c}.log: ${lines.slice(0, 5).join('\n  ')}`).join('\n'),
        );
      }
      if (process.env.VG_KEEP_STACK !== '1') fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(stack);
  try {
    await sh(UP, ['--detach'], env);
    stack.redisPassword = read('redis/password');
    stack.adminPassword = read('admin-password');
  } catch (e) {
    const logs = daemons.map((c) => `--- ${c}.log\n${stack.logs(c).slice(-3000)}`).join('\n');
    live.delete(stack);
    downSync(env);
    throw new Error(`${e.message}\n${logs}\n(stack directory kept: ${dir})`);
  }
  return stack;
}
