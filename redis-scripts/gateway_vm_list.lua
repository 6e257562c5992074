-- gateway_vm_list.lua: the VMs a user may see, with their host's liveness, their consoles and
-- their project (gateway, method vm.list). One script reads one consistent registry instead of
-- a snapshot torn by a concurrent hostd_sync.lua, in one round trip.
--
-- ARGV[1] user name
-- ARGV[2] '1' when the user is an administrator (sees every VM, also those of no project)
-- Returns {{name, uuid, host, state, host_up (0|1), {dev, ...} sorted, project}, ...}.
local user, admin = ARGV[1], ARGV[2] == '1'
local member = admin and {} or user_active_projects(user)
local names = redis.call('SMEMBERS', 'vg:vms')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local project = redis.call('HGET', 'vg:vmdef:' .. n, 'project') or ''
  if admin or member[project] then
    local f = redis.call('HMGET', 'vg:vm:' .. n, 'uuid', 'host', 'state')
    local host = f[2] or ''
    local up = 0
    if host ~= '' then up = redis.call('EXISTS', 'vg:host:' .. host .. ':alive') end
    local cons = redis.call('HKEYS', 'vg:vm:' .. n .. ':consoles')
    table.sort(cons)
    out[#out + 1] = {n, f[1] or '', host, f[3] or 'unknown', up, cons, project}
  end
end
return out
