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
-- A hostd whose VM list is the one it last sent sends no list at all (ARGV[3] ''), only the
-- digest this script answered for it (ARGV[6]): the VM names come from vg:host:<id>:vms, and
-- decoding and hashing 15 KB of JSON per heartbeat is saved. When the record no longer matches
-- that digest, the answer is '' and hostd sends its list at once.
--
-- ARGV[1] host id
-- ARGV[2] JSON object: the vg:host:<id> hash fields
-- ARGV[3] JSON array of {name, uuid, state, vcpus, memory_mib, autostart (0/1),
--         consoles = {dev = socket path}}, or '' (unchanged since the sync that answered ARGV[6])
-- ARGV[4] alive TTL in milliseconds
-- ARGV[5] now, milliseconds since the epoch
-- ARGV[6] with ARGV[3] '': the digest of the list, as a previous sync answered it
-- Returns the digest of the VM list now on record, or '' when a list-less heartbeat found the
-- record changed (hostd then sends its list).
local id = ARGV[1]
local host = cjson.decode(ARGV[2])
local ttl = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
local hkey = 'vg:host:' .. id

local function event(kind, fields)
  fields.type = kind
  fields.ts = now
  redis.call('PUBLISH', 'vg:events', cjson.encode(fields))
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
-- When this host is declared down unless it heartbeats again: the host watch reads only the
-- hosts past theirs (gateway_host_watch.lua), not every host twice a second.
local interval = tonumber(host.heartbeat_interval_ms or '')
if interval and interval > 0 then
  redis.call('ZADD', 'vg:hosts:deadline', now + interval * host_dead_after(), id)
end
local was_alive = redis.call('SET', hkey .. ':alive', '1', 'PX', ttl, 'GET')
if not was_alive then
  event('host.up', {host = id})
end

-- Whether every VM of names still names this host.
local function all_here(names)
  for _, name in ipairs(names) do
    if redis.call('HGET', 'vg:vm:' .. name, 'host') ~= id then return false end
  end
  return true
end

if ARGV[3] == '' then
  local digest = ARGV[6] or ''
  if digest ~= '' and redis.call('HGET', hkey, 'vms_digest') == digest and
      all_here(redis.call('SMEMBERS', hkey .. ':vms')) then
    return digest
  end
  return ''
end

local vms = cjson.decode(ARGV[3])
-- 'v2': the layout of the VM hashes (with devs); a record of another layout is rewritten once.
local digest = redis.sha1hex('v2\n' .. tostring(host.started_ms or '') .. '\n' .. ARGV[3])
local names = {}
for i, vm in ipairs(vms) do names[i] = vm.name end
if redis.call('HGET', hkey, 'vms_digest') == digest and all_here(names) then
  return digest
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
    -- The host the VM leaves must not take its list for unchanged at its next heartbeat.
    if cur[1] then redis.call('HDEL', 'vg:host:' .. cur[1], 'vms_digest') end
    event('vm.added', {vm = vm.name, host = id, state = vm.state})
  elseif cur[2] ~= vm.state then
    event('vm.state', {vm = vm.name, host = id, state = vm.state})
  end
  if cur[1] ~= id or cur[2] ~= vm.state or cur[3] ~= vm.uuid then
    redis.call('HSET', vkey, 'updated_ms', tostring(now))
  end
  local ckey = vkey .. ':consoles'
  redis.call('DEL', ckey)
  local cargs, devs = {}, {}
  for dev, path in pairs(vm.consoles) do
    cargs[#cargs + 1] = dev
    cargs[#cargs + 1] = path
    devs[#devs + 1] = dev
  end
  if #cargs > 0 then
    redis.call('HSET', ckey, unpack(cargs))
  end
  -- The device names again, sorted, in the VM's own hash: a vm.list row is then two reads.
  table.sort(devs)
  redis.call('HSET', vkey, 'name', vm.name, 'uuid', vm.uuid, 'host', id, 'state', vm.state,
             'vcpus', tostring(vm.vcpus or 0), 'memory_mib', tostring(vm.memory_mib or 0),
             'autostart', tostring(vm.autostart or 0), 'devs', table.concat(devs, ','))
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
return digest
