-- gateway_project_change.lua: creates, edits, deletes, activates or deactivates a project
-- (gateway, methods project.create, project.edit, project.delete, project.activate,
-- project.deactivate). Each check and its change are one step, so a VM created while the
-- project is being deleted either blocks the delete or is refused by its own script.
--
-- ARGV[1] action: create, edit, delete, activate or deactivate
-- ARGV[2] project name
-- create, edit: ARGV[3] JSON object of the changes:
--   {description?, quotas?{instances, vcpus, memory_mib, disk_mib, images, snapshots} (-1 =
--    unlimited), hostgroups?[], pools?[], networks?[]}; create: ARGV[4] now (ms)
-- Members lose access on deactivate: PUBLISH vg:sessions user:<member> closes their consoles.
-- Returns {'ok'} or {code, message}.
local action, name = ARGV[1], ARGV[2]
local key = 'vg:project:' .. name
local exists = redis.call('EXISTS', key) == 1
local QUOTAS = {'instances', 'vcpus', 'memory_mib', 'disk_mib', 'images', 'snapshots'}

local function apply(ch)
  if ch.description ~= nil then redis.call('HSET', key, 'description', ch.description) end
  if type(ch.quotas) == 'table' then
    for _, q in ipairs(QUOTAS) do
      if ch.quotas[q] ~= nil then
        redis.call('HSET', key, 'q_' .. q, string.format('%d', ch.quotas[q]))
      end
    end
  end
  for _, set in ipairs({'hostgroups', 'pools', 'networks'}) do
    if type(ch[set]) == 'table' then
      redis.call('DEL', key .. ':' .. set)
      for _, v in ipairs(ch[set]) do redis.call('SADD', key .. ':' .. set, v) end
    end
  end
end

local function check_hostgroups(ch)
  if type(ch.hostgroups) ~= 'table' then return nil end
  for _, g in ipairs(ch.hostgroups) do
    if redis.call('SISMEMBER', 'vg:hostgroups', g) == 0 then
      return {'not_found', 'no host group named ' .. g}
    end
  end
  return nil
end

if action == 'create' then
  if exists then return {'conflict', 'project ' .. name .. ' already exists'} end
  local ch = cjson.decode(ARGV[3])
  local bad = check_hostgroups(ch)
  if bad then return bad end
  redis.call('HSET', key, 'name', name, 'description', '', 'active', '1', 'created_ms', ARGV[4])
  for _, q in ipairs(QUOTAS) do redis.call('HSET', key, 'q_' .. q, '-1') end
  apply(ch)
  for _, q in ipairs(QUOTAS) do redis.call('HSETNX', key .. ':usage', q, '0') end
  redis.call('SADD', 'vg:projects', name)
  return {'ok'}
end

if not exists then return {'not_found', 'no project named ' .. name} end

if action == 'edit' then
  local ch = cjson.decode(ARGV[3])
  local bad = check_hostgroups(ch)
  if bad then return bad end
  apply(ch)
elseif action == 'delete' then
  local vms = redis.call('SMEMBERS', key .. ':vms')
  if #vms == 0 then
    -- VMs given a project outside the API (an adoption in progress) count as well.
    for _, vm in ipairs(redis.call('SMEMBERS', 'vg:vms')) do
      if redis.call('HGET', 'vg:vmdef:' .. vm, 'project') == name then vms[#vms + 1] = vm end
    end
  end
  if #vms > 0 then
    return {'conflict', 'project ' .. name .. ' still has ' .. #vms .. ' VM(s), e.g. ' .. vms[1]}
  end
  for _, e in ipairs(redis.call('SMEMBERS', 'vg:envs')) do
    if redis.call('HGET', 'vg:env:' .. e, 'project') == name then
      return {'conflict', 'project ' .. name .. ' still has environment ' .. e}
    end
  end
  for _, u in ipairs(redis.call('HKEYS', key .. ':members')) do
    redis.call('SREM', 'vg:user:' .. u .. ':projects', name)
  end
  redis.call('DEL', key, key .. ':members', key .. ':usage', key .. ':vms', key .. ':vms:byname',
             key .. ':hostgroups', key .. ':pools', key .. ':networks')
  redis.call('SREM', 'vg:projects', name)
elseif action == 'activate' or action == 'deactivate' then
  local want = action == 'activate' and '1' or '0'
  if (redis.call('HGET', key, 'active') or '1') == want then
    return {'conflict', 'project ' .. name .. ' is already ' .. action .. 'd'}
  end
  redis.call('HSET', key, 'active', want)
  if want == '0' then
    for _, u in ipairs(redis.call('HKEYS', key .. ':members')) do
      redis.call('PUBLISH', 'vg:sessions', 'user:' .. u)
    end
  end
else
  return {'bad_request', 'unknown action ' .. action}
end
return {'ok'}
