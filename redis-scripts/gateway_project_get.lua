-- gateway_project_get.lua: projects as the API shows them (gateway, methods project.list,
-- project.get and project.usage), with quotas and usage side by side, in one consistent read.
--
-- ARGV[1] a project name (the caller was authorized for it), or '' for a list
-- ARGV[2] the caller; ARGV[3] '1' when the caller is an administrator (a list shows every
--         project to administrators, to others the projects they are members of)
-- Returns {'ok', {{name, description, active, created_ms, {quota...}, {usage...},
-- {user, role, ...}, {hostgroups}, {pools}, {networks}, {vms}, my_role}, ...}} with quota and
-- usage in the order instances vcpus memory_mib disk_mib images snapshots, or
-- {'not_found', message}.
local QUOTAS = {'instances', 'vcpus', 'memory_mib', 'disk_mib', 'images', 'snapshots'}
local names, user, admin = {}, ARGV[2], ARGV[3] == '1'
local single = ARGV[1] ~= ''
if single then
  if redis.call('EXISTS', 'vg:project:' .. ARGV[1]) == 0 then
    return {'not_found', 'no project named ' .. ARGV[1]}
  end
  names = {ARGV[1]}
elseif admin then
  names = redis.call('SMEMBERS', 'vg:projects')
else
  names = redis.call('SMEMBERS', 'vg:user:' .. user .. ':projects')
end
table.sort(names)

local function sorted(key)
  local s = redis.call('SMEMBERS', key)
  table.sort(s)
  return s
end

local out = {}
for _, p in ipairs(names) do
  local key = 'vg:project:' .. p
  local f = redis.call('HMGET', key, 'description', 'active', 'created_ms')
  local role = admin and 'admin' or redis.call('HGET', key .. ':members', user)
  if single and not role then role = '' end
  -- A deactivated project is closed to its members (gateway/authz.c): lists leave it out.
  if not admin and not single and f[2] == '0' then role = nil end
  if role and redis.call('EXISTS', key) == 1 then
    local quota, usage = {}, {}
    for i, q in ipairs(QUOTAS) do
      quota[i] = redis.call('HGET', key, 'q_' .. q) or '-1'
      usage[i] = redis.call('HGET', key .. ':usage', q) or '0'
    end
    local members = {}
    local m = redis.call('HGETALL', key .. ':members')
    local order = {}
    for i = 1, #m, 2 do order[#order + 1] = i end
    table.sort(order, function(a, b) return m[a] < m[b] end)
    for _, i in ipairs(order) do
      members[#members + 1] = m[i]
      members[#members + 1] = m[i + 1]
    end
    out[#out + 1] = {p, f[1] or '', f[2] or '1', f[3] or '0', quota, usage, members,
                     sorted(key .. ':hostgroups'), sorted(key .. ':pools'),
                     sorted(key .. ':networks'), sorted(key .. ':vms'), role}
  end
end
return {'ok', out}
