-- gateway_env_save.lua: creates or edits an environment (env.create, env.edit). Members are VMs
-- of the environment's own project, each in at most one environment; vg:vmdef:<vm> fields env
-- and role follow the membership. Publishes env.changed {env, project, action}.
--
-- ARGV[1] 'create' or 'edit'
-- ARGV[2] environment name
-- ARGV[3] project (create; for edit the environment's own is used)
-- ARGV[4] '1' when a description is given, ARGV[5] the description
-- ARGV[6] JSON object {vm: role} replacing the members, or '' to keep them
-- ARGV[7] now, milliseconds since the epoch
-- Returns {'ok'}, {'conflict', message} (name taken, a VM of another project or environment),
-- {'not_found', message} (unknown environment or VM). Nothing changes on a refusal.
local op, name, now = ARGV[1], ARGV[2], ARGV[7]
local key = 'vg:env:' .. name
local exists = redis.call('EXISTS', key) == 1
if op == 'create' and exists then
  return {'conflict', 'environment ' .. name .. ' exists'}
end
if op == 'edit' and not exists then
  return {'not_found', 'unknown environment ' .. name}
end
local project = ARGV[3]
if op == 'edit' then
  project = redis.call('HGET', key, 'project')
end

local members
if ARGV[6] ~= '' then
  members = cjson.decode(ARGV[6])
  for vm, _ in pairs(members) do
    local def = redis.call('HMGET', 'vg:vmdef:' .. vm, 'project', 'env')
    if not def[1] then
      if redis.call('EXISTS', 'vg:vm:' .. vm) == 1 then
        return {'conflict', 'VM ' .. vm .. ' belongs to no project (an administrator adopts it first)'}
      end
      return {'not_found', 'unknown VM ' .. vm}
    end
    if def[1] ~= project then
      return {'conflict', 'VM ' .. vm .. ' belongs to project ' .. def[1] .. ', not ' .. project}
    end
    if def[2] and def[2] ~= '' and def[2] ~= name and redis.call('EXISTS', 'vg:env:' .. def[2]) == 1 then
      return {'conflict', 'VM ' .. vm .. ' is in environment ' .. def[2]}
    end
  end
end

if op == 'create' then
  redis.call('SADD', 'vg:envs', name)
  redis.call('HSET', key, 'name', name, 'project', project, 'description', '', 'created_ms', now)
end
if ARGV[4] == '1' then
  redis.call('HSET', key, 'description', ARGV[5])
end
if members then
  for _, vm in ipairs(redis.call('HKEYS', key .. ':vms')) do
    if members[vm] == nil and redis.call('HGET', 'vg:vmdef:' .. vm, 'env') == name then
      redis.call('HDEL', 'vg:vmdef:' .. vm, 'env', 'role')
    end
  end
  redis.call('DEL', key .. ':vms')
  for vm, role in pairs(members) do
    redis.call('HSET', key .. ':vms', vm, role)
    redis.call('HSET', 'vg:vmdef:' .. vm, 'env', name, 'role', role)
  end
end
redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'env.changed', env = name,
                                                project = project, action = op == 'create' and 'created' or 'edited',
                                                ts = tonumber(now)}))
return {'ok'}
