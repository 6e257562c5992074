-- gateway_secret_save.lua: the registry of libvirt secrets (secret.set, secret.list,
-- secret.delete). The value is never stored here: only hostd's libvirt holds it.
--
-- ARGV[1] 'set' ARGV[2] secret ARGV[3] description ARGV[4] hosts JSON ARGV[5] now ms → {'ok'}
-- ARGV[1] 'list' ARGV[2] secret or '' → {'ok', JSON {"secrets":[{name, description, hosts,
--         created_ms, updated_ms}…]}} or the one secret; {'not_found', msg}
-- ARGV[1] 'delete' ARGV[2] secret → {'ok'}; {'conflict', msg} while a pool's spec names it;
--         {'not_found', msg}
local op, name = ARGV[1], ARGV[2]
local key = 'vg:secret:' .. name
local function one(n)
  local f = redis.call('HMGET', 'vg:secret:' .. n, 'description', 'hosts', 'created_ms', 'updated_ms')
  return {name = n, description = f[1] or '', hosts = cjson.decode(f[2] or '[]'),
          created_ms = tonumber(f[3] or '') or 0, updated_ms = tonumber(f[4] or '') or 0}
end
if op == 'set' then
  if redis.call('SADD', 'vg:secrets', name) == 1 then
    redis.call('HSET', key, 'name', name, 'created_ms', ARGV[5])
  end
  redis.call('HSET', key, 'description', ARGV[3], 'hosts', ARGV[4], 'updated_ms', ARGV[5])
  return {'ok'}
end
local exists = name ~= '' and redis.call('SISMEMBER', 'vg:secrets', name) == 1
if op == 'list' then
  if name ~= '' then
    if not exists then return {'not_found', 'unknown secret ' .. name} end
    return {'ok', cjson.encode(one(name))}
  end
  local names = redis.call('SMEMBERS', 'vg:secrets')
  table.sort(names)
  local out = {}
  for _, n in ipairs(names) do out[#out + 1] = one(n) end
  return {'ok', cjson.encode({secrets = out})}
elseif op == 'delete' then
  if not exists then return {'not_found', 'unknown secret ' .. name} end
  for _, p in ipairs(redis.call('SMEMBERS', 'vg:pools')) do
    local spec = cjson.decode(redis.call('HGET', 'vg:pool:' .. p, 'spec') or '{}')
    local auth = type(spec.source) == 'table' and spec.source.auth
    if type(auth) == 'table' and auth.secret == name then
      return {'conflict', 'secret ' .. name .. ' is used by pool ' .. p}
    end
  end
  redis.call('SREM', 'vg:secrets', name)
  redis.call('DEL', key)
  return {'ok'}
end
return {'bad_request', 'unknown operation ' .. tostring(op)}
