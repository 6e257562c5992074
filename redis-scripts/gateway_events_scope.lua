-- gateway_events_scope.lua: what a subscriber of vg:events may hear of (gateway/net/evscope.c,
-- once per user and gateway at the first events.subscribe, after a project.member or user.*
-- event naming the user, and 60 s after the last read): the user's role, the active projects
-- they belong to, and those projects' VMs and environments.
--
-- ARGV[1] user name
-- Returns {'ok', JSON {role, projects:{p:true}, vms:{vm:true}, envs:{env:true}}};
-- role is "" when the user no longer exists.
local user = ARGV[1]
local role = redis.call('HGET', 'vg:user:' .. user, 'role') or ''
local projects, vms, envs = {}, {}, {}
if role ~= '' and role ~= 'admin' then
  projects = user_active_projects(user)
  for p in pairs(projects) do
    for _, vm in ipairs(redis.call('SMEMBERS', 'vg:project:' .. p .. ':vms')) do
      vms[vm] = true
    end
  end
  for _, e in ipairs(redis.call('SMEMBERS', 'vg:envs')) do
    local p = redis.call('HGET', 'vg:env:' .. e, 'project')
    if p and projects[p] then
      envs[e] = true
    end
  end
end
return {'ok', cjson.encode({role = role, projects = projects, vms = vms, envs = envs})}
