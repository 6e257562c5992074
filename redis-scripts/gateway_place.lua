-- gateway_place.lua: picks the host a VM runs on (gateway: vm.create, vm.clone, vm.start,
-- vm.migrate). One consistent read of hosts, groups and what runs where.
--
-- ARGV[1] project ('' = no host group restriction: administrators' explicit choices)
-- ARGV[2] vCPUs of the VM
-- ARGV[3] memory MiB of the VM
-- ARGV[4] host the VM must go to ('' = any)
-- ARGV[5] host group the VM must go to ('' = any)
-- ARGV[6] VM being placed: not counted where it already runs ('' = a new VM)
-- A host fits when it is up (alive key), not in maintenance, in a group the project may use
-- (vg:project:<p>:hostgroups, empty = any) and has room: the vCPUs and memory of the VMs
-- running there plus this one stay within max_vcpus (default cpus x 4) and max_vm_memory_mib
-- (default mem_mib - 512). Of those, the least loaded wins: lowest share of its memory
-- allocated, then lowest cpu_pct, then name. What runs on a host is its alloc_vcpus and
-- alloc_memory_mib (hostd_sync.lua sums them at each change), less the VM being placed when it
-- runs there; a host written before those fields existed has its VMs' hashes read one by one.
-- Reading every VM of the fleet took 0.45 s at 1,000 hosts x 100 VMs (performance.md).
-- Returns {1, host} or {0, "no host fits: h1 in maintenance; h2 needs 128 MiB more memory"}.
local project, vcpus, mem = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local want_host, want_group, self = ARGV[4], ARGV[5], ARGV[6]

local candidates
if want_host ~= '' then
  if redis.call('SISMEMBER', 'vg:hosts', want_host) == 0 then
    return {0, 'no host fits: host ' .. want_host .. ' is not known'}
  end
  candidates = {want_host}
elseif want_group ~= '' then
  if redis.call('SISMEMBER', 'vg:hostgroups', want_group) == 0 then
    return {0, 'no host fits: host group ' .. want_group .. ' is not known'}
  end
  candidates = redis.call('SMEMBERS', 'vg:hostgroup:' .. want_group .. ':hosts')
else
  candidates = redis.call('SMEMBERS', 'vg:hosts')
end
table.sort(candidates)
if #candidates == 0 then
  return {0, 'no host fits: there are no hosts'}
end

-- Hosts the project may use: members of its groups; nil = every host.
local allowed = nil
if project ~= '' then
  local groups = redis.call('SMEMBERS', 'vg:project:' .. project .. ':hostgroups')
  if #groups > 0 then
    allowed = {}
    for _, g in ipairs(groups) do
      for _, h in ipairs(redis.call('SMEMBERS', 'vg:hostgroup:' .. g .. ':hosts')) do
        allowed[h] = true
      end
    end
  end
end

local active = {running = true, paused = true, blocked = true, pmsuspended = true}
-- The vCPUs and memory a VM takes when it is active, else 0, 0.
local function takes(vm)
  local v = redis.call('HMGET', 'vg:vm:' .. vm, 'state', 'vcpus', 'memory_mib')
  if not active[v[1] or ''] then return 0, 0 end
  local c, m = tonumber(v[2]), tonumber(v[3])
  if not c or not m then
    local d = redis.call('HMGET', 'vg:vmdef:' .. vm, 'vcpus', 'memory_mib')
    c, m = c or tonumber(d[1]) or 0, m or tonumber(d[2]) or 0
  end
  return c, m
end

local reasons, best, best_key = {}, nil, nil
for _, h in ipairs(candidates) do
  local f = redis.call('HMGET', 'vg:host:' .. h, 'cpus', 'mem_mib', 'maintenance', 'max_vcpus',
                       'max_vm_memory_mib', 'cpu_pct', 'alloc_vcpus', 'alloc_memory_mib')
  local cpus, hmem = tonumber(f[1]) or 0, tonumber(f[2]) or 0
  local max_cpu = tonumber(f[4]) or 0
  if max_cpu <= 0 then max_cpu = cpus * 4 end
  local max_mem = tonumber(f[5]) or 0
  if max_mem <= 0 then max_mem = hmem - 512 end
  if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 0 then
    reasons[#reasons + 1] = h .. ' is down'
  elseif f[3] == '1' then
    reasons[#reasons + 1] = h .. ' in maintenance'
  elseif allowed and not allowed[h] then
    reasons[#reasons + 1] = h .. ' is in no host group project ' .. project .. ' may use'
  else
    local used_cpu, used_mem = 0, 0
    local ac, am = tonumber(f[7]), tonumber(f[8])
    if ac and am then
      used_cpu, used_mem = ac, am
      if self ~= '' and redis.call('SISMEMBER', 'vg:host:' .. h .. ':vms', self) == 1 then
        local c, m = takes(self)
        used_cpu, used_mem = used_cpu - c, used_mem - m
      end
    else
      for _, vm in ipairs(redis.call('SMEMBERS', 'vg:host:' .. h .. ':vms')) do
        if vm ~= self then
          local c, m = takes(vm)
          used_cpu, used_mem = used_cpu + c, used_mem + m
        end
      end
    end
    local short = {}
    if used_mem + mem > max_mem then
      short[#short + 1] = (used_mem + mem - max_mem) .. ' MiB more memory'
    end
    if used_cpu + vcpus > max_cpu then
      short[#short + 1] = (used_cpu + vcpus - max_cpu) .. ' more vCPUs'
    end
    if #short > 0 then
      reasons[#reasons + 1] = h .. ' needs ' .. table.concat(short, ' and ')
    else
      local frac = 1
      if max_mem > 0 then frac = used_mem / max_mem end
      local key = {frac, tonumber(f[6]) or 0, h}
      if not best_key or key[1] < best_key[1] or
          (key[1] == best_key[1] and (key[2] < best_key[2] or
            (key[2] == best_key[2] and key[3] < best_key[3]))) then
        best, best_key = h, key
      end
    end
  end
end
if best then
  return {1, best}
end
return {0, 'no host fits: ' .. table.concat(reasons, '; ')}
