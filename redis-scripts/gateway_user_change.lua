-- gateway_user_change.lua: edits, freezes, unfreezes or deletes a user (gateway, methods
-- user.edit, user.password, user.freeze, user.unfreeze, user.delete). The last-administrator
-- rule, the change and the end of the user's access happen in one step, so two administrators
-- demoting each other at once cannot leave the platform without one.
--
-- ARGV[1] action: edit, password, freeze, unfreeze or delete
-- ARGV[2] user name
-- password (the user's own change): ARGV[3] new argon2id password hash
-- edit: ARGV[3] new role or '', ARGV[4] '1' to set the description, ARGV[5] description,
--       ARGV[6] new argon2id password hash or ''
-- Access ends (sessions deleted, PUBLISH vg:sessions user:<name> so every gateway closes the
-- user's consoles and API WebSockets) on freeze, delete and a password set by edit; a lower role
-- only publishes (the sessions stay, the dispatcher re-reads the role on every call).
-- Returns {'ok', old_role} or {code, message}.
local action, name = ARGV[1], ARGV[2]
local key = 'vg:user:' .. name
local u = redis.call('HMGET', key, 'role', 'frozen')
if not u[1] then
  return {'not_found', 'no user named ' .. name}
end
local role, frozen = u[1], u[2] == '1'

local level = {viewer = 0, operator = 1, admin = 2}

-- Would the platform be left without an administrator who can log in?
local function last_admin()
  if role ~= 'admin' or frozen then return false end
  for _, n in ipairs(redis.call('SMEMBERS', 'vg:users')) do
    if n ~= name then
      local f = redis.call('HMGET', 'vg:user:' .. n, 'role', 'frozen')
      if f[1] == 'admin' and f[2] ~= '1' then return false end
    end
  end
  return true
end

local function end_sessions()
  local skey = key .. ':sessions'
  for _, h in ipairs(redis.call('SMEMBERS', skey)) do
    redis.call('DEL', 'vg:session:' .. h)
  end
  redis.call('DEL', skey)
end

local function publish()
  redis.call('PUBLISH', 'vg:sessions', 'user:' .. name)
end

if action == 'freeze' then
  if frozen then return {'conflict', 'user ' .. name .. ' is already frozen'} end
  if last_admin() then
    return {'conflict', 'user ' .. name .. ' is the last active administrator'}
  end
  redis.call('HSET', key, 'frozen', '1')
  end_sessions()
  publish()
  redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'user.frozen', user = name}))
elseif action == 'unfreeze' then
  if not frozen then return {'conflict', 'user ' .. name .. ' is not frozen'} end
  redis.call('HSET', key, 'frozen', '0')
elseif action == 'delete' then
  if last_admin() then
    return {'conflict', 'user ' .. name .. ' is the last active administrator'}
  end
  for _, p in ipairs(redis.call('SMEMBERS', key .. ':projects')) do
    redis.call('HDEL', 'vg:project:' .. p .. ':members', name)
  end
  end_sessions()
  redis.call('DEL', key, key .. ':projects')
  redis.call('SREM', 'vg:users', name)
  publish()
elseif action == 'password' then
  redis.call('HSET', key, 'pwhash', ARGV[3])
elseif action == 'edit' then
  local new_role, pwhash = ARGV[3], ARGV[6]
  if new_role ~= '' and new_role ~= role and role == 'admin' and last_admin() then
    return {'conflict', 'user ' .. name .. ' is the last active administrator'}
  end
  if new_role ~= '' then redis.call('HSET', key, 'role', new_role) end
  if ARGV[4] == '1' then redis.call('HSET', key, 'description', ARGV[5]) end
  if pwhash ~= '' then
    redis.call('HSET', key, 'pwhash', pwhash)
    end_sessions()
    publish()
  elseif new_role ~= '' and level[new_role] < level[role] then
    publish()
  end
else
  return {'bad_request', 'unknown action ' .. action}
end
return {'ok', role}
