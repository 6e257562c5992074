-- gateway_login.lua: the first step of a login (gateway, method login). Checks the failed-login
-- counters and reads the user in one step, so a user past the limit is refused before the
-- gateway spends an argon2 verification on the password.
--
-- ARGV[1] user name
-- ARGV[2] client address
-- ARGV[3] failures allowed per user name
-- ARGV[4] failures allowed per client address
-- Returns {1} when either limit is reached, else {0, pwhash, role, frozen} ('' for a field or
-- a user that does not exist).
local f = tonumber(redis.call('GET', 'vg:loginfail:user:' .. ARGV[1]) or '0')
local a = tonumber(redis.call('GET', 'vg:loginfail:addr:' .. ARGV[2]) or '0')
if f >= tonumber(ARGV[3]) or a >= tonumber(ARGV[4]) then return {1} end
local u = redis.call('HMGET', 'vg:user:' .. ARGV[1], 'pwhash', 'role', 'frozen')
return {0, u[1] or '', u[2] or '', u[3] or ''}
