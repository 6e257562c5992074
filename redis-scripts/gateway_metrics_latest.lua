-- gateway_metrics_latest.lua: the latest values of the VMs (or hosts) a caller may see, for a
-- list or a dashboard (gateway: metrics.latest and /metrics). A target without a round in the
-- last three intervals (stopped, host down) has no latest values and is left out.
--
-- ARGV[1] user, ARGV[2] '1' for an administrator (sees every VM)
-- ARGV[3] 'vm' or 'host'
-- ARGV[4] JSON array of names, or '' for every visible one
-- Returns {'ok', JSON {"targets": [{"name", "project"?, field = value...}, ...]}} sorted by name;
-- a named VM the caller cannot see is left out as if it had no values.
local user, admin, kind = ARGV[1], ARGV[2] == '1', ARGV[3]
local member = (admin or kind ~= 'vm') and {} or user_active_projects(user)
-- Only what was asked for or can be seen: the named targets, else a member's projects' VMs
-- (vg:project:<p>:vms), never the whole fleet for a caller who sees a few projects.
local names
if ARGV[4] ~= '' then
  names = cjson.decode(ARGV[4])
elseif kind ~= 'vm' or admin then
  names = redis.call('SMEMBERS', kind == 'vm' and 'vg:vms' or 'vg:hosts')
else
  local seen = {}
  names = {}
  for p in pairs(member) do
    for _, n in ipairs(redis.call('SMEMBERS', 'vg:project:' .. p .. ':vms')) do
      if not seen[n] then
        seen[n] = true
        names[#names + 1] = n
      end
    end
  end
end
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local project = kind == 'vm' and (redis.call('HGET', 'vg:vmdef:' .. n, 'project') or '') or nil
  if kind ~= 'vm' or admin or member[project] then
    local f = redis.call('HGETALL', 'vg:m:' .. kind .. ':' .. n .. ':latest')
    if #f > 0 then
      local o = {name = n, project = project}
      for i = 1, #f, 2 do
        o[f[i]] = tonumber(f[i + 1]) or f[i + 1]
      end
      out[#out + 1] = o
    end
  end
end
return {'ok', cjson.encode({targets = out})}
