-- gateway_hostgroup_list.lua: every host group with its members and the projects allowed to
-- use it (method hostgroup.list).
--
-- ARGV[1] group name, or "" for every group
-- Returns {'ok', JSON}: {"groups":[{name, description, created_ms, hosts, projects}, ...]} sorted
-- by name, or the one group; {'not_found', message} when ARGV[1] names no group.
local want = ARGV[1] or ''
local projects = redis.call('SMEMBERS', 'vg:projects')
table.sort(projects)

local function group(name)
  local f = redis.call('HMGET', 'vg:hostgroup:' .. name, 'description', 'created_ms')
  local hosts = redis.call('SMEMBERS', 'vg:hostgroup:' .. name .. ':hosts')
  table.sort(hosts)
  local users = {}
  for _, p in ipairs(projects) do
    if redis.call('SISMEMBER', 'vg:project:' .. p .. ':hostgroups', name) == 1 then
      users[#users + 1] = p
    end
  end
  return {name = name, description = f[1] or '', created_ms = tonumber(f[2] or '') or 0,
          hosts = hosts, projects = users}
end

if want ~= '' then
  if redis.call('SISMEMBER', 'vg:hostgroups', want) == 0 then
    return {'not_found', 'unknown host group ' .. want}
  end
  return {'ok', cjson.encode(group(want))}
end
local names = redis.call('SMEMBERS', 'vg:hostgroups')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  out[#out + 1] = group(n)
end
return {'ok', cjson.encode({groups = out})}
