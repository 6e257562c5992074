-- gateway_env_list.lua: the environments a user may see (method env.list), or one environment
-- with its VMs' registry state (env.get, and the batch actions and env.status that act on it).
--
-- ARGV[1] environment name, or "" for the list
-- ARGV[2] user name, ARGV[3] '1' for an administrator (the list: every environment)
-- Returns {'ok', JSON}: {"envs":[{name, project, description, created_ms, vms:{vm:role}}]}
-- sorted by name, or for one environment {name, project, description, created_ms,
-- vms:[{vm, role, host, state}]} sorted by VM (host "" and state "undefined" when no host
-- holds the VM); {'not_found', message} for an unknown environment.
local want, user, admin = ARGV[1] or '', ARGV[2] or '', ARGV[3] == '1'

local function head(name)
  local f = redis.call('HMGET', 'vg:env:' .. name, 'project', 'description', 'created_ms')
  return {name = name, project = f[1] or '', description = f[2] or '',
          created_ms = tonumber(f[3] or '') or 0}
end

if want ~= '' then
  if redis.call('EXISTS', 'vg:env:' .. want) == 0 then
    return {'not_found', 'unknown environment ' .. want}
  end
  local e = head(want)
  local roles = redis.call('HGETALL', 'vg:env:' .. want .. ':vms')
  local vms = {}
  for i = 1, #roles, 2 do
    local vm = roles[i]
    local f = redis.call('HMGET', 'vg:vm:' .. vm, 'host', 'state')
    local host = f[1] or redis.call('HGET', 'vg:vmdef:' .. vm, 'host') or ''
    vms[#vms + 1] = {vm = vm, role = roles[i + 1], host = host, state = f[2] or 'undefined'}
  end
  table.sort(vms, function(a, b) return a.vm < b.vm end)
  e.vms = vms
  return {'ok', cjson.encode(e)}
end

local member = admin and {} or user_active_projects(user)
local names = redis.call('SMEMBERS', 'vg:envs')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local e = head(n)
  if admin or member[e.project] then
    local roles = redis.call('HGETALL', 'vg:env:' .. n .. ':vms')
    local vms = {}
    for i = 1, #roles, 2 do
      vms[roles[i]] = roles[i + 1]
    end
    e.vms = vms
    out[#out + 1] = e
  end
end
return {'ok', cjson.encode({envs = out})}
