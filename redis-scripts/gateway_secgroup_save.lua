-- gateway_secgroup_save.lua: a project's security groups (secgroup.create, secgroup.edit,
-- secgroup.delete, secgroup.list, secgroup.get) and the groups of one NIC (secgroup.assign).
--
-- ARGV[1] op: list, create, edit, delete, assign   ARGV[2] project
-- list: ARGV[3] name or ''       create/edit: ARGV[3] name, ARGV[4] description (edit: '' keeps;
-- ARGV[6] '1' when given), ARGV[5] rules JSON ('' keeps), ARGV[7] now (ms), ARGV[8] user
-- delete: ARGV[3] name           assign: ARGV[3] VM, ARGV[4] MAC, ARGV[5] groups JSON list
-- Returns {'ok', JSON} (list: {groups:[{name, description, rules, created_ms, created_by,
-- nics:[{vm, mac, ip}]}]} or one group), {'ok'}, or {'not_found'|'conflict', message}.
local op, project, name = ARGV[1], ARGV[2], ARGV[3]
local pkey = 'vg:project:' .. project
local set = pkey .. ':secgroups'
local function key(g) return 'vg:secgroup:' .. project .. ':' .. g end

local function project_nics()
  local out = {}
  for _, vm in ipairs(redis.call('SMEMBERS', pkey .. ':vms')) do
    local ok, spec = pcall(cjson.decode, redis.call('HGET', 'vg:vmdef:' .. vm, 'spec') or '{}')
    for _, n in ipairs(ok and type(spec.nics) == 'table' and spec.nics or {}) do
      if type(n.secgroups) == 'table' then
        out[#out + 1] = {vm = vm, mac = n.mac, ip = n.ip, groups = n.secgroups}
      end
    end
  end
  return out
end

local function group(g)
  local f = redis.call('HMGET', key(g), 'description', 'rules', 'created_ms', 'created_by')
  local members = {}
  for _, n in ipairs(project_nics()) do
    for _, x in ipairs(n.groups) do
      if x == g then members[#members + 1] = {vm = n.vm, mac = n.mac, ip = n.ip or ''} end
    end
  end
  return {name = g, description = f[1] or '', rules = cjson.decode(f[2] or '[]'),
          created_ms = tonumber(f[3] or '') or 0, created_by = f[4] or '', nics = members}
end

if redis.call('EXISTS', pkey) == 0 then
  return {'not_found', 'project ' .. project .. ' is not known'}
end

if op == 'list' then
  if name ~= '' then
    if redis.call('SISMEMBER', set, name) == 0 then
      return {'not_found', 'project ' .. project .. ' has no security group ' .. name}
    end
    return {'ok', cjson.encode(group(name))}
  end
  local names = redis.call('SMEMBERS', set)
  table.sort(names)
  local out = {}
  for _, g in ipairs(names) do out[#out + 1] = group(g) end
  return {'ok', cjson.encode({groups = out})}
end

-- Every remote_group a rule names must be a group of the project (or the group itself).
local function check_remotes(rules_json)
  for _, r in ipairs(cjson.decode(rules_json)) do
    if r.remote_group and r.remote_group ~= name and redis.call('SISMEMBER', set, r.remote_group) == 0 then
      return 'rules: remote_group ' .. r.remote_group .. ' is not a security group of project ' .. project
    end
  end
end

if op == 'create' then
  if redis.call('SISMEMBER', set, name) == 1 then
    return {'conflict', 'security group ' .. name .. ' exists in project ' .. project}
  end
  local bad = check_remotes(ARGV[5] ~= '' and ARGV[5] or '[]')
  if bad then return {'not_found', bad} end
  redis.call('SADD', set, name)
  redis.call('HSET', key(name), 'description', ARGV[4], 'rules', ARGV[5] ~= '' and ARGV[5] or '[]',
             'created_ms', ARGV[7], 'created_by', ARGV[8])
  return {'ok'}
end
if op == 'edit' then
  if redis.call('SISMEMBER', set, name) == 0 then
    return {'not_found', 'project ' .. project .. ' has no security group ' .. name}
  end
  if ARGV[5] ~= '' then
    local bad = check_remotes(ARGV[5])
    if bad then return {'not_found', bad} end
    redis.call('HSET', key(name), 'rules', ARGV[5])
  end
  if ARGV[6] == '1' then redis.call('HSET', key(name), 'description', ARGV[4]) end
  return {'ok'}
end
if op == 'delete' then
  if redis.call('SISMEMBER', set, name) == 0 then
    return {'not_found', 'project ' .. project .. ' has no security group ' .. name}
  end
  local users = {}
  for _, n in ipairs(project_nics()) do
    for _, x in ipairs(n.groups) do if x == name then users[#users + 1] = n.vm end end
  end
  for _, g in ipairs(redis.call('SMEMBERS', set)) do
    for _, r in ipairs(cjson.decode(redis.call('HGET', key(g), 'rules') or '[]')) do
      if r.remote_group == name and g ~= name then users[#users + 1] = 'group ' .. g end
    end
  end
  if #users > 0 then
    table.sort(users)
    return {'conflict', 'security group ' .. name .. ' is used by ' .. table.concat(users, ', ')}
  end
  redis.call('SREM', set, name)
  redis.call('DEL', key(name))
  return {'ok'}
end
-- assign
local vm, mac = ARGV[3], ARGV[4]
local dkey = 'vg:vmdef:' .. vm
local spec = cjson.decode(redis.call('HGET', dkey, 'spec') or '{}')
local groups = cjson.decode(ARGV[5])
for _, g in ipairs(groups) do
  if redis.call('SISMEMBER', set, g) == 0 then
    return {'not_found', 'project ' .. project .. ' has no security group ' .. g}
  end
end
for _, n in ipairs(type(spec.nics) == 'table' and spec.nics or {}) do
  if n.mac == mac then
    if type(n.secgroups) ~= 'table' then
      return {'conflict', 'NIC ' .. mac .. ' of VM ' .. vm .. ' has no secgroups list: give it ' ..
        'one with vm.edit (the domain must name its filter) before changing its groups'}
    end
    n.secgroups = groups
    -- cjson writes an empty table as {}: the spec's lists (docs/vmspec.md) stay lists
    local lists = {disks = true, nics = true, secgroups = true, order = true}
    local text = string.gsub(cjson.encode(spec), '"(%w+)":{}', function(k)
      if lists[k] then return '"' .. k .. '":[]' end
    end)
    redis.call('HSET', dkey, 'spec', text)
    return {'ok'}
  end
end
return {'not_found', 'VM ' .. vm .. ' has no NIC ' .. mac}
