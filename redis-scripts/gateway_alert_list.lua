-- gateway_alert_list.lua: the alerts a caller may see (alert.list). Alerts about a VM are
-- visible to administrators and the members of the VM's project (active projects), alerts about
-- a host to every session, as host.list shows hosts.
--
-- ARGV[1] user, ARGV[2] '1' for an administrator, ARGV[3] how many transitions of the log
-- Returns {'ok', JSON {"alerts": [active alert, ...] by since_ms, "recent": [transition, ...]
-- newest first}}.
local admin, limit = ARGV[2] == '1', tonumber(ARGV[3])
local member = admin and {} or user_active_projects(ARGV[1])
local function visible(kind, project)
  return admin or kind ~= 'vm' or (project ~= nil and project ~= '' and member[project])
end
local alerts = {}
for _, id in ipairs(redis.call('SMEMBERS', 'vg:alerts')) do
  local f = redis.call('HGETALL', 'vg:alert:' .. id)
  local a = {}
  for i = 1, #f, 2 do
    a[f[i]] = f[i + 1]
  end
  if a.id and visible(a.kind, a.project) then
    a.since_ms = tonumber(a.since_ms)
    a.fired_ms = tonumber(a.fired_ms)
    a.value = tonumber(a.value)
    alerts[#alerts + 1] = a
  end
end
table.sort(alerts, function(x, y)
  if x.since_ms ~= y.since_ms then return x.since_ms < y.since_ms end
  return x.id < y.id
end)
local recent = {}
local cursor = '+'
while #recent < limit do
  local page = redis.call('XREVRANGE', 'vg:alerts:log', cursor, '-', 'COUNT', 200)
  for _, e in ipairs(page) do
    local ev = cjson.decode(e[2][2])
    if #recent < limit and visible(ev.target, ev.project) then
      recent[#recent + 1] = ev
    end
  end
  if #page < 200 then break end
  cursor = '(' .. page[#page][1]
end
return {'ok', cjson.encode({alerts = alerts, recent = recent})}
