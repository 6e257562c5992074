-- gateway_login.lua: the first step of a login (gateway, method login). Checks the failed-login
-- counters, charges the attempt to them and reads the user, in one step: N logins in parallel
-- can never get more attempts past the check than the limit allows (a check and a later count
-- in two steps let them all pass before the first failure was counted), and a user past the
-- limit is refused before the gateway spends an argon2 verification on the password.
--
-- Every attempt that passes counts as a failure until gateway_login_ok.lua says it succeeded.
-- The first charge of a window sets its expiry, so a counter never outlives its window.
--
-- ARGV[1] user name
-- ARGV[2] client address
-- ARGV[3] failures allowed per user name
-- ARGV[4] failures allowed per client address
-- ARGV[5] window in seconds, counted from the first charge
-- Returns {1} when either limit is reached (nothing charged), else {0, pwhash, role, frozen}
-- ('' for a field or a user that does not exist).
local ukey = 'vg:loginfail:user:' .. ARGV[1]
local akey = 'vg:loginfail:addr:' .. ARGV[2]
local f = tonumber(redis.call('GET', ukey) or '0')
local a = tonumber(redis.call('GET', akey) or '0')
if f >= tonumber(ARGV[3]) or a >= tonumber(ARGV[4]) then return {1} end
for _, k in ipairs({ukey, akey}) do
  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[5]) end
end
local u = redis.call('HMGET', 'vg:user:' .. ARGV[1], 'pwhash', 'role', 'frozen')
return {0, u[1] or '', u[2] or '', u[3] or ''}
