-- gateway_vm_reserve.lua: claims a VM name and its share of the project's quota in one step
-- (gateway: vm.create, vm.clone, vm.edit, vm.adopt), so concurrent requests can never exceed a
-- quota or take one name twice. gateway_vm_release.lua undoes it.
--
-- ARGV[1] mode: create (new name), edit (vmdef exists: reserve the difference), adopt (the
--         registry knows the VM, no vmdef yet)
-- ARGV[2] VM name
-- ARGV[3] project (create, adopt; edit keeps the VM's own)
-- ARGV[4] vCPUs   ARGV[5] memory MiB   ARGV[6] disk MiB
-- ARGV[7] spec JSON (defaults filled)
-- ARGV[8] host the VM is defined on
-- ARGV[9] user   ARGV[10] now (ms)   ARGV[11] description
-- Returns {''} on success, else {code, message} with code quota_exceeded ("project p1:
-- instances 5 of 5 used"), forbidden (a storage pool or network the project may not use),
-- conflict (also: a fixed address another VM holds), bad_request (a fixed address in a network
-- vmgate does not manage) or not_found.
local mode, vm, project = ARGV[1], ARGV[2], ARGV[3]
local want = {vcpus = tonumber(ARGV[4]), memory_mib = tonumber(ARGV[5]),
              disk_mib = tonumber(ARGV[6])}
local dkey = 'vg:vmdef:' .. vm

local old = {instances = 0, vcpus = 0, memory_mib = 0, disk_mib = 0}
if mode == 'create' then
  if redis.call('EXISTS', dkey) == 1 or redis.call('EXISTS', 'vg:vm:' .. vm) == 1 then
    return {'conflict', 'VM name ' .. vm .. ' is taken'}
  end
elseif mode == 'adopt' then
  if redis.call('EXISTS', 'vg:vm:' .. vm) == 0 then
    return {'not_found', 'VM ' .. vm .. ' is not known'}
  end
  if redis.call('EXISTS', dkey) == 1 then
    return {'conflict', 'VM ' .. vm .. ' already belongs to project ' ..
      (redis.call('HGET', dkey, 'project') or '')}
  end
else
  local d = redis.call('HMGET', dkey, 'project', 'vcpus', 'memory_mib', 'disk_mib')
  if not d[1] then
    return {'not_found', 'VM ' .. vm .. ' has no definition'}
  end
  project = d[1]
  old = {instances = 1, vcpus = tonumber(d[2]) or 0, memory_mib = tonumber(d[3]) or 0,
         disk_mib = tonumber(d[4]) or 0}
end
local pkey = 'vg:project:' .. project
if redis.call('EXISTS', pkey) == 0 then
  return {'not_found', 'project ' .. project .. ' is not known'}
end

-- The storage pools and networks the spec names must be ones the project may use (an empty set
-- allows all). An adopted VM's spec names none.
local function may_use(set, name)
  local key = pkey .. ':' .. set
  return redis.call('SCARD', key) == 0 or redis.call('SISMEMBER', key, name) == 1
end
local spec = cjson.decode(ARGV[7])
local pools = {}
for _, d in ipairs(type(spec.disks) == 'table' and spec.disks or {}) do
  pools[#pools + 1] = d.pool or string.match(d.image or d.volume or '', '^([^/]+)/')
end
if type(spec.cdrom) == 'table' and type(spec.cdrom.media) == 'string' then
  pools[#pools + 1] = string.match(spec.cdrom.media, '^([^/]+)/')
end
for _, pool in ipairs(pools) do
  if not may_use('pools', pool) then
    return {'forbidden', 'project ' .. project .. ' may not use storage pool ' .. pool}
  end
end
for _, n in ipairs(type(spec.nics) == 'table' and spec.nics or {}) do
  if type(n.network) == 'string' and not may_use('networks', n.network) then
    return {'forbidden', 'project ' .. project .. ' may not use network ' .. n.network}
  end
end

-- Fixed addresses (IPAM): each one belongs to one VM per network, and only in the networks vmgate
-- manages, which turn them into static DHCP leases. Checked before anything changes.
local claims = {}
for _, n in ipairs(type(spec.nics) == 'table' and spec.nics or {}) do
  if type(n.ip) == 'string' and type(n.network) == 'string' then
    if redis.call('SISMEMBER', 'vg:networks', n.network) == 0 then
      return {'bad_request', 'network ' .. n.network .. ' is not managed by vmgate (network.create):' ..
        ' a NIC cannot ask for a fixed address in it'}
    end
    local owner = redis.call('HGET', 'vg:network:' .. n.network .. ':ips', n.ip)
    local by = owner and string.match(owner, '^(%S+)')
    if by and by ~= vm then
      return {'conflict', 'address ' .. n.ip .. ' in network ' .. n.network ..
        ' is taken by VM ' .. by}
    end
    claims[#claims + 1] = {n.network, n.ip, vm .. ' ' .. (n.mac or '')}
  end
end

want.instances = 1
local order = {'instances', 'vcpus', 'memory_mib', 'disk_mib'}
local usage = redis.call('HMGET', pkey .. ':usage', unpack(order))
local quota = redis.call('HMGET', pkey, 'q_instances', 'q_vcpus', 'q_memory_mib', 'q_disk_mib')
for i, k in ipairs(order) do
  local delta = want[k] - old[k]
  local q = tonumber(quota[i])
  local used = tonumber(usage[i]) or 0
  if delta > 0 and q and q >= 0 and used + delta > q then
    local msg = 'project ' .. project .. ': ' .. k .. ' ' .. used .. ' of ' .. q .. ' used'
    if k ~= 'instances' then msg = msg .. ', ' .. vm .. ' needs ' .. delta .. ' more' end
    return {'quota_exceeded', msg}
  end
end
for _, k in ipairs(order) do
  local delta = want[k] - old[k]
  if delta ~= 0 then redis.call('HINCRBY', pkey .. ':usage', k, delta) end
end

local fields = {'spec', ARGV[7], 'vcpus', ARGV[4], 'memory_mib', ARGV[5], 'disk_mib', ARGV[6],
                'host', ARGV[8], 'description', ARGV[11]}
if mode ~= 'edit' then
  for _, f in ipairs({'name', vm, 'project', project, 'created_by', ARGV[9],
                      'created_ms', ARGV[10], 'snapshots', '0'}) do
    fields[#fields + 1] = f
  end
  if mode == 'adopt' then
    -- Its spec is only what the registry told (name, vCPUs, memory): never redefine from it.
    fields[#fields + 1] = 'adopted'
    fields[#fields + 1] = '1'
  end
  redis.call('SADD', pkey .. ':vms', vm)
  redis.call('ZADD', pkey .. ':vms:byname', 0, vm)
end
if mode == 'edit' then
  release_addresses(vm, redis.call('HGET', dkey, 'spec'))
end
for _, c in ipairs(claims) do
  redis.call('HSET', 'vg:network:' .. c[1] .. ':ips', c[2], c[3])
end
redis.call('HSET', dkey, unpack(fields))
return {''}
