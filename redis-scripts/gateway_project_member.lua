-- gateway_project_member.lua: sets or removes a user's membership in a project (gateway,
-- methods project.member.set and project.member.remove), keeping the membership hash and the
-- user's reverse index vg:user:<u>:projects (which vm.list reads) in step.
--
-- ARGV[1] project, ARGV[2] user, ARGV[3] role (operator or viewer), or '' to remove
-- A removal or a lower role ends the user's access at once: PUBLISH vg:sessions user:<u>.
-- Every change is announced on vg:events as project.member {project, user, role ('' removed)},
-- so subscribers' event filters follow at once.
-- Returns {'ok', previous role or ''} or {code, message}.
local project, user, role = ARGV[1], ARGV[2], ARGV[3]
local function announce()
  local t = redis.call('TIME')
  redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'project.member', project = project,
    user = user, role = role, ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)}))
end
local members = 'vg:project:' .. project .. ':members'
if redis.call('EXISTS', 'vg:project:' .. project) == 0 then
  return {'not_found', 'no project named ' .. project}
end
if redis.call('EXISTS', 'vg:user:' .. user) == 0 then
  return {'not_found', 'no user named ' .. user}
end
local old = redis.call('HGET', members, user) or ''
if role == '' then
  if old == '' then
    return {'not_found', 'user ' .. user .. ' is not a member of project ' .. project}
  end
  redis.call('HDEL', members, user)
  redis.call('SREM', 'vg:user:' .. user .. ':projects', project)
  redis.call('PUBLISH', 'vg:sessions', 'user:' .. user)
  announce()
  return {'ok', old}
end
redis.call('HSET', members, user, role)
redis.call('SADD', 'vg:user:' .. user .. ':projects', project)
if old == 'operator' and role == 'viewer' then
  redis.call('PUBLISH', 'vg:sessions', 'user:' .. user)
end
announce()
return {'ok', old}
