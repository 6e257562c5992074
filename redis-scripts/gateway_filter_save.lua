-- gateway_filter_save.lua: the network filters administrators define (filter.create,
-- filter.delete, filter.list) and the live hosts they go to.
--
-- ARGV[1] op: list, plan (create/delete: the hosts), create, delete   ARGV[2] name
-- create: ARGV[3] spec JSON, ARGV[4] now (ms), ARGV[5] user
-- Returns {'ok', JSON} (list: {filters:[{name, spec, created_ms, created_by}], hosts};
-- plan: {hosts}), {'ok'}, or {'conflict'|'not_found', message}.
local op, name = ARGV[1], ARGV[2]
local function live_hosts()
  local out = {}
  for _, h in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
    if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 1 then out[#out + 1] = h end
  end
  table.sort(out)
  return out
end
if op == 'list' then
  local names = redis.call('SMEMBERS', 'vg:filters')
  table.sort(names)
  local out = {}
  for _, n in ipairs(names) do
    local f = redis.call('HMGET', 'vg:filter:' .. n, 'spec', 'created_ms', 'created_by')
    out[#out + 1] = {name = n, spec = cjson.decode(f[1] or '{}'),
                     created_ms = tonumber(f[2] or '') or 0, created_by = f[3] or ''}
  end
  return {'ok', cjson.encode({filters = out, hosts = live_hosts()})}
end
local known = redis.call('SISMEMBER', 'vg:filters', name) == 1
if op == 'plan' then
  if ARGV[3] == 'delete' and not known then return {'not_found', 'unknown filter ' .. name} end
  return {'ok', cjson.encode({hosts = live_hosts(), known = known})}
end
if op == 'create' then
  redis.call('SADD', 'vg:filters', name)
  redis.call('HSET', 'vg:filter:' .. name, 'spec', ARGV[3], 'created_ms', ARGV[4],
             'created_by', ARGV[5])
  return {'ok'}
end
redis.call('SREM', 'vg:filters', name)
redis.call('DEL', 'vg:filter:' .. name)
return {'ok'}
