-- hostd_sync.lua: re-asserts one host's whole part of the registry atomically (hostd, every
-- heartbeat and on every change). A registry lost with Redis is therefore rebuilt within one
-- heartbeat, and readers never see a half-written host.
--
-- The VMs are rewritten only when something may differ: their JSON is not the one of this
-- hostd's last full sync (vms_digest in vg:host:<id>, over started_ms too, so a restarted hostd
-- rewrites everything once), or one of their hashes no longer names this host (deleted,
-- flushed, claimed by another host). Rewriting them all is ~9 commands per
-- VM, 2.4 ms of Redis for 100 VMs: at 1,000 such hosts every 2 s, more than one Redis can run
-- (docs/performance.md "1,000 hosts"); the check is one HGET per VM.
--
-- ARGV[1] host id
-- ARGV[2] JSON object: the vg:host:<id> hash fields
-- ARGV[3] JSON array of {name, uuid, state, vcpus, memory_mib, autostart (0/1),
--         consoles = {dev = socket path}}
-- ARGV[4] alive TTL in milliseconds
-- ARGV[5] now, milliseconds since the epoch
-- Returns the number of events published on vg:events.
local id = ARGV[1]
local host = cjson.decode(ARGV[2])
local vms = cjson.decode(ARGV[3])
local ttl = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local hkey = 'vg:host:' .. id
local published = 0

local function event(kind, fields)
  fields.type = kind
  fields.ts = now
  redis.call('PUBLISH', 'vg:events', cjson.encode(fields))
  published = published + 1
end

redis.call('SADD', 'vg:hosts', id)
local hargs = {}
for k, v in pairs(host) do
  hargs[#hargs + 1] = k
  hargs[#hargs + 1] = tostring(v)
end
if #hargs > 0 then
  redis.call('HSET', hkey, unpack(hargs))
end
redis.call('HSET', hkey, 'last_heartbeat_ms', tostring(now))
local was_alive = redis.call('SET', hkey .. ':alive', '1', 'PX', ttl, 'GET')
if not was_alive then
  event('host.up', {host = id})
end

local digest = redis.sha1hex(tostring(host.started_ms or '') .. '\n' .. ARGV[3])
local same = redis.call('HGET', hkey, 'vms_digest') == digest
for _, vm in ipairs(vms) do
  if not same then break end
  same = redis.call('HGET', 'vg:vm:' .. vm.name, 'host') == id
end
if same then
  return published
end

local previous = redis.call('SMEMBERS', hkey .. ':vms')
local keep = {}
-- What the active VMs take (gateway_place.lua reads these instead of every VM's hash; the
-- states are its `active` ones).
local active = {running = true, paused = true, blocked = true, pmsuspended = true}
local alloc_vcpus, alloc_mib = 0, 0
for _, vm in ipairs(vms) do
  local vkey = 'vg:vm:' .. vm.name
  keep[vm.name] = true
  if active[vm.state] then
    alloc_vcpus = alloc_vcpus + (tonumber(vm.vcpus) or 0)
    alloc_mib = alloc_mib + (tonumber(vm.memory_mib) or 0)
  end
  local cur = redis.call('HMGET', vkey, 'host', 'state', 'uuid')
  if cur[1] ~= id then
    event('vm.added', {vm = vm.name, host = id, state = vm.state})
  elseif cur[2] ~= vm.state then
    event('vm.state', {vm = vm.name, host = id, state = vm.state})
  end
  if cur[1] ~= id or cur[2] ~= vm.state or cur[3] ~= vm.uuid then
    redis.call('HSET', vkey, 'updated_ms', tostring(now))
  end
  redis.call('HSET', vkey, 'name', vm.name, 'uuid', vm.uuid, 'host', id, 'state', vm.state,
             'vcpus', tostring(vm.vcpus or 0), 'memory_mib', tostring(vm.memory_mib or 0),
             'autostart', tostring(vm.autostart or 0))
  local ckey = vkey .. ':consoles'
  redis.call('DEL', ckey)
  local cargs = {}
  for dev, path in pairs(vm.consoles) do
    cargs[#cargs + 1] = dev
    cargs[#cargs + 1] = path
  end
  if #cargs > 0 then
    redis.call('HSET', ckey, unpack(cargs))
  end
  redis.call('SADD', 'vg:vms', vm.name)
  redis.call('SADD', hkey .. ':vms', vm.name)
  redis.call('ZADD', 'vg:vms:byname', 0, vm.name)
  redis.call('ZADD', hkey .. ':vms:byname', 0, vm.name)
end

for _, name in ipairs(previous) do
  if not keep[name] then
    redis.call('SREM', hkey .. ':vms', name)
    redis.call('ZREM', hkey .. ':vms:byname', name)
    -- Only forget the VM if no other host claimed it meanwhile (migration).
    if redis.call('HGET', 'vg:vm:' .. name, 'host') == id then
      redis.call('DEL', 'vg:vm:' .. name, 'vg:vm:' .. name .. ':consoles')
      redis.call('SREM', 'vg:vms', name)
      redis.call('ZREM', 'vg:vms:byname', name)
      event('vm.removed', {vm = name, host = id})
    end
  end
end
redis.call('HSET', hkey, 'vms_digest', digest, 'alloc_vcpus', tostring(alloc_vcpus),
           'alloc_memory_mib', tostring(alloc_mib))
return published
