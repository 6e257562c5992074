-- gateway_project_member.lua: sets or removes a user's membership in a project (gateway,
-- methods project.member.set and project.member.remove), keeping the membership hash and the
-- user's reverse index vg:user:<u>:projects (which vm.list reads) in step.
--
-- ARGV[1] project, ARGV[2] user, ARGV[3] role (operator or viewer), or '' to remove
-- A removal or a lower role ends the user's access at once: PUBLISH vg:sessions user:<u>.
-- Returns {'ok', previous role or ''} or {code, message}.
local project, user, role = ARGV[1], ARGV[2], ARGV[3]
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
  return {'ok', old}
end
redis.call('HSET', members, user, role)
redis.call('SADD', 'vg:user:' .. user .. ':projects', project)
if old == 'operator' and role == 'viewer' then
  redis.call('PUBLISH', 'vg:sessions', 'user:' .. user)
end
return {'ok', old}
