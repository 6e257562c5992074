-- gateway_env_delete.lua: deletes an environment (env.delete); its VMs stay, without env and
-- role in vg:vmdef:<vm>. Publishes env.changed {env, project, action = "deleted"}.
--
-- ARGV[1] environment name
-- ARGV[2] now, milliseconds since the epoch
-- Returns {'ok'} or {'not_found', message}.
local name = ARGV[1]
local key = 'vg:env:' .. name
local project = redis.call('HGET', key, 'project')
if not project then
  return {'not_found', 'unknown environment ' .. name}
end
for _, vm in ipairs(redis.call('HKEYS', key .. ':vms')) do
  if redis.call('HGET', 'vg:vmdef:' .. vm, 'env') == name then
    redis.call('HDEL', 'vg:vmdef:' .. vm, 'env', 'role')
  end
end
redis.call('DEL', key, key .. ':vms')
redis.call('SREM', 'vg:envs', name)
redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'env.changed', env = name,
                                                project = project, action = 'deleted',
                                                ts = tonumber(ARGV[2])}))
return {'ok'}
