-- gateway_alert_list.lua: the alerts a caller may see (alert.list). Alerts about a VM are
-- visible to administrators and the members of the VM's project (active projects), alerts about
-- a host to every session, as host.list shows hosts.
--
-- ARGV[1] user, ARGV[2] '1' for an administrator, ARGV[3] how many transitions of the log
-- Returns {'ok', JSON {"alerts": [{id, rule, kind, target, project, state, since_ms, fired_ms,
-- value, detail}, ...] by since_ms, "recent": [{type, alert, id, kind, target, project, ts,
-- value, detail}, ...] newest first}}; absent values are null.
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
    alerts[#alerts + 1] = {id = a.id, rule = a.rule, kind = a.kind, target = a.target,
                           project = a.project, state = a.state,
                           since_ms = tonumber(a.since_ms),
                           fired_ms = tonumber(a.fired_ms or '') or cjson.null,
                           value = tonumber(a.value) or cjson.null,
                           detail = a.detail ~= '' and a.detail or cjson.null}
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
      recent[#recent + 1] = {type = ev.type, alert = ev.alert, id = ev.id, kind = ev.target,
                             target = ev[ev.target], project = ev.project or '', ts = ev.ts,
                             value = ev.value or cjson.null, detail = ev.detail or cjson.null}
    end
  end
  if #page < 200 then break end
  cursor = '(' .. page[#page][1]
end
return {'ok', cjson.encode({alerts = alerts, recent = recent})}
