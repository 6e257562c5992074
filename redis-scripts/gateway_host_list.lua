-- gateway_host_list.lua: hosts as host.list and host.get show them: registry facts, load,
-- liveness, maintenance, limits, host groups and VM counts, read in one consistent round trip.
--
-- ARGV[1] host id, or "" for every host
-- ARGV[2] now, milliseconds since the epoch (the gateway's clock; Redis' clock when absent)
-- Returns {'ok', JSON}: {"hosts":[host, ...]} sorted by id, or the one host object;
-- {'not_found', message} when ARGV[1] names no host.
-- A host is up while its last heartbeat (last_heartbeat_ms) is younger than
-- heartbeat_interval_ms times vg:settings host_dead_after (default 3); a host without those
-- fields is judged by its alive key. gateway_host_watch.lua applies the same rule.
local want = ARGV[1] or ''
local now = tonumber(ARGV[2] or '')
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local dead_after = tonumber(redis.call('HGET', 'vg:settings', 'host_dead_after') or '') or 3

local groups = redis.call('SMEMBERS', 'vg:hostgroups')
table.sort(groups)

local function num(v)
  return tonumber(v or '') or 0
end

local function host(id)
  local key = 'vg:host:' .. id
  local f = redis.call('HMGET', key, 'link', 'mgmt_addr', 'cpus', 'mem_mib', 'disk_mib', 'cpu_pct',
                       'mem_pct', 'net_mbps', 'heartbeat_ms', 'heartbeat_interval_ms',
                       'maintenance', 'max_vcpus', 'max_vm_memory_mib', 'version', 'libvirt_uri',
                       'console_dir', 'last_heartbeat_ms')
  local interval, last = num(f[10]), num(f[17])
  local up
  if interval > 0 and last > 0 then
    up = now - last <= interval * dead_after
  else
    up = redis.call('EXISTS', key .. ':alive') == 1
  end
  local mine = {}
  for _, g in ipairs(groups) do
    if redis.call('SISMEMBER', 'vg:hostgroup:' .. g .. ':hosts', id) == 1 then
      mine[#mine + 1] = g
    end
  end
  local vms, running, vcpus, mem = 0, 0, 0, 0
  for _, vm in ipairs(redis.call('SMEMBERS', key .. ':vms')) do
    local v = redis.call('HMGET', 'vg:vm:' .. vm, 'state', 'vcpus', 'memory_mib')
    vms = vms + 1
    if v[1] == 'running' or v[1] == 'paused' then
      running = running + 1
      vcpus = vcpus + num(v[2])
      mem = mem + num(v[3])
    end
  end
  return {
    id = id, link = f[1] or '', mgmt_addr = f[2] or '', up = up,
    maintenance = f[11] == '1', cpus = num(f[3]), mem_mib = num(f[4]), disk_mib = num(f[5]),
    cpu_pct = num(f[6]), mem_pct = num(f[7]), net_mbps = num(f[8]),
    heartbeat_ms = num(f[9]), heartbeat_interval_ms = interval, last_heartbeat_ms = last,
    max_vcpus = num(f[12]), max_vm_memory_mib = num(f[13]),
    version = f[14] or '', libvirt_uri = f[15] or '', console_dir = f[16] or '',
    groups = mine, vms = vms, vms_running = running, vcpus_used = vcpus, memory_mib_used = mem,
  }
end

if want ~= '' then
  if redis.call('SISMEMBER', 'vg:hosts', want) == 0 then
    return {'not_found', 'unknown host ' .. want}
  end
  return {'ok', cjson.encode(host(want))}
end
local ids = redis.call('SMEMBERS', 'vg:hosts')
table.sort(ids)
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = host(id)
end
return {'ok', cjson.encode({hosts = out})}
