-- gateway_hostgroup_delete.lua: deletes a host group that nothing uses (hostgroup.delete).
--
-- ARGV[1] group name
-- Returns {'ok'}, {'not_found', message}, or {'conflict', message} naming the project that may
-- use the group or the VM whose placement names it.
local name = ARGV[1]
if redis.call('SISMEMBER', 'vg:hostgroups', name) == 0 then
  return {'not_found', 'unknown host group ' .. name}
end
local projects = redis.call('SMEMBERS', 'vg:projects')
table.sort(projects)
for _, p in ipairs(projects) do
  if redis.call('SISMEMBER', 'vg:project:' .. p .. ':hostgroups', name) == 1 then
    return {'conflict', 'host group ' .. name .. ' is used by project ' .. p}
  end
end
for _, p in ipairs(projects) do
  for _, vm in ipairs(redis.call('SMEMBERS', 'vg:project:' .. p .. ':vms')) do
    local spec = redis.call('HGET', 'vg:vmdef:' .. vm, 'spec')
    if spec then
      local ok, s = pcall(cjson.decode, spec)
      if ok and type(s) == 'table' and type(s.placement) == 'table' and
          s.placement.group == name then
        return {'conflict', 'host group ' .. name .. ' is in the placement of VM ' .. vm}
      end
    end
  end
end
redis.call('DEL', 'vg:hostgroup:' .. name, 'vg:hostgroup:' .. name .. ':hosts')
redis.call('SREM', 'vg:hostgroups', name)
return {'ok'}
