-- gateway_authz.lua: everything the gateway needs to authorize one API call, in one round trip
-- (gateway/api.c; the decision itself is gateway/authz.c). Renews the session's idle expiry.
-- Scope ticket redeems a console ticket (gateway/console.c, gateway/ticket.c): the ticket is
-- taken and the facts of its session and VM are read in the same step, so a ticket is worth
-- exactly what its session and its user's roles are worth at the moment it is used.
--
-- ARGV[1] sha256 of the session token (scope ticket: of the console ticket)
-- ARGV[2] scope: self, any, admin, project, vm, env or ticket
-- ARGV[3] target name (project, VM or environment; "" for the other scopes and ticket)
-- ARGV[4] session idle TTL in seconds
-- Returns {} when the session is unknown or its user is gone (scope ticket: also when the
-- ticket is unknown, used or expired; it is deleted either way), else
-- {user, role, frozen, target_exists, project, member_role, project_active}, and for scope
-- ticket the ticket's JSON as an eighth element (its VM is the target, scope vm).
local session = 'vg:session:' .. ARGV[1]
local scope, target = ARGV[2], ARGV[3]
local ticket
if scope == 'ticket' then
  ticket = redis.call('GETDEL', 'vg:ticket:' .. ARGV[1])
  if not ticket then
    return {}
  end
  local ok, t = pcall(cjson.decode, ticket)
  if not ok or type(t) ~= 'table' or type(t.session) ~= 'string' or type(t.vm) ~= 'string' then
    return {}
  end
  session, scope, target = 'vg:session:' .. t.session, 'vm', t.vm
end
local user = redis.call('HGET', session, 'user')
if not user then
  return {}
end
local u = redis.call('HMGET', 'vg:user:' .. user, 'role', 'frozen')
if not u[1] then
  return {}
end
redis.call('EXPIRE', session, tonumber(ARGV[4]))

local exists, project = 0, ''
if scope == 'vm' then
  if redis.call('EXISTS', 'vg:vm:' .. target, 'vg:vmdef:' .. target) > 0 then
    exists = 1
    project = redis.call('HGET', 'vg:vmdef:' .. target, 'project') or ''
  end
elseif scope == 'env' then
  project = redis.call('HGET', 'vg:env:' .. target, 'project')
  if project then
    exists = 1
  else
    project = ''
  end
elseif scope == 'project' then
  if redis.call('EXISTS', 'vg:project:' .. target) == 1 then
    exists = 1
    project = target
  end
end

local member, active = '', '0'
if project ~= '' then
  member = redis.call('HGET', 'vg:project:' .. project .. ':members', user) or ''
  active = redis.call('HGET', 'vg:project:' .. project, 'active') or '1'
end
-- ticket is nil outside scope ticket, which ends the list after seven elements.
return {user, u[1], u[2] or '0', tostring(exists), project, member, active, ticket}
