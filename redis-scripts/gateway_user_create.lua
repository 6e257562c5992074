-- gateway_user_create.lua: a new user (gateway, method user.create). Checking the name and
-- creating the user in one step keeps two concurrent creations from overwriting each other.
--
-- ARGV[1] name, ARGV[2] role, ARGV[3] argon2id hash of the password, ARGV[4] description,
-- ARGV[5] now (ms)
-- Returns {'ok'} or {'conflict', message}.
local name = ARGV[1]
local key = 'vg:user:' .. name
if redis.call('EXISTS', key) == 1 then
  return {'conflict', 'user ' .. name .. ' already exists'}
end
redis.call('HSET', key, 'name', name, 'role', ARGV[2], 'pwhash', ARGV[3], 'frozen', '0',
           'created_ms', ARGV[5], 'description', ARGV[4])
redis.call('SADD', 'vg:users', name)
return {'ok'}
