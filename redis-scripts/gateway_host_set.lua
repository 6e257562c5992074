-- gateway_host_set.lua: an administrator's settings of one host (method host.set).
--
-- ARGV[1] host id
-- ARGV[2] maintenance: '1', '0' or '' (unchanged)
-- ARGV[3] max_vcpus, ARGV[4] max_vm_memory_mib: whole numbers (0 = the host's capacity) or ''
-- ARGV[5] now, milliseconds since the epoch
-- Returns {'ok'} or {'not_found', message}. A change of maintenance publishes
-- host.maintenance {host, maintenance} on vg:events.
local id = ARGV[1]
local key = 'vg:host:' .. id
if redis.call('SISMEMBER', 'vg:hosts', id) == 0 then
  return {'not_found', 'unknown host ' .. id}
end
if ARGV[2] ~= '' then
  local was = redis.call('HGET', key, 'maintenance') or '0'
  redis.call('HSET', key, 'maintenance', ARGV[2])
  if was ~= ARGV[2] then
    redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'host.maintenance', host = id,
                                                    maintenance = ARGV[2] == '1',
                                                    ts = tonumber(ARGV[5])}))
  end
end
if ARGV[3] ~= '' then
  redis.call('HSET', key, 'max_vcpus', ARGV[3])
end
if ARGV[4] ~= '' then
  redis.call('HSET', key, 'max_vm_memory_mib', ARGV[4])
end
return {'ok'}
