-- gateway_pool_save.lua: the registry side of pool.create and pool.delete (gateway).
--
-- ARGV[1] 'claim': takes the name before any host is asked. ARGV[2] pool, ARGV[3] type,
--         ARGV[4] spec JSON, ARGV[5] host or '', ARGV[6] group or '', ARGV[7] now ms.
--         Returns {'ok', JSON array of the hosts to define it on}; {'conflict', msg} for a name
--         taken; {'not_found', msg} for an unknown host or group; {'unavailable', msg} when a
--         host is down or the group is empty.
-- ARGV[1] 'ready' ARGV[2] pool: every host has it. Returns {'ok'}.
-- ARGV[1] 'drop' ARGV[2] pool: forgets it (a failed create, a finished delete). Returns {'ok'}.
-- ARGV[1] 'in_use' ARGV[2] pool: {'conflict', msg} while an image lives in it, else {'ok'}.
local op, name = ARGV[1], ARGV[2]
local key = 'vg:pool:' .. name
if op == 'claim' then
  if redis.call('SISMEMBER', 'vg:pools', name) == 1 then
    return {'conflict', 'pool ' .. name .. ' exists'}
  end
  local hosts
  if ARGV[5] ~= '' then
    if redis.call('SISMEMBER', 'vg:hosts', ARGV[5]) == 0 then
      return {'not_found', 'unknown host ' .. ARGV[5]}
    end
    hosts = {ARGV[5]}
  else
    if redis.call('SISMEMBER', 'vg:hostgroups', ARGV[6]) == 0 then
      return {'not_found', 'unknown host group ' .. ARGV[6]}
    end
    hosts = redis.call('SMEMBERS', 'vg:hostgroup:' .. ARGV[6] .. ':hosts')
    table.sort(hosts)
    if #hosts == 0 then
      return {'unavailable', 'host group ' .. ARGV[6] .. ' has no hosts'}
    end
  end
  for _, h in ipairs(hosts) do
    if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 0 then
      return {'unavailable', 'host ' .. h .. ' is down'}
    end
  end
  redis.call('SADD', 'vg:pools', name)
  redis.call('HSET', key, 'name', name, 'type', ARGV[3], 'spec', ARGV[4],
             'hosts', cjson.encode(hosts), 'group', ARGV[6], 'state', 'creating',
             'created_ms', ARGV[7])
  return {'ok', cjson.encode(hosts)}
elseif op == 'ready' then
  redis.call('HSET', key, 'state', 'ready')
  return {'ok'}
elseif op == 'drop' then
  redis.call('SREM', 'vg:pools', name)
  redis.call('DEL', key)
  return {'ok'}
elseif op == 'in_use' then
  for _, img in ipairs(redis.call('SMEMBERS', 'vg:images')) do
    if redis.call('HGET', 'vg:image:' .. img, 'pool') == name then
      return {'conflict', 'pool ' .. name .. ' holds image ' .. img}
    end
  end
  return {'ok'}
end
return {'bad_request', 'unknown operation ' .. tostring(op)}
