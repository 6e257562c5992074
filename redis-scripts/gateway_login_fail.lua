-- gateway_login_fail.lua: counts one failed login (gateway, method login). INCR and the EXPIRE
-- of the first failure go together, so a counter never outlives its window and concurrent
-- gateways never lose a count.
--
-- ARGV[1] user name
-- ARGV[2] client address
-- ARGV[3] window in seconds, counted from the first failure
-- Returns 0.
for _, k in ipairs({'vg:loginfail:user:' .. ARGV[1], 'vg:loginfail:addr:' .. ARGV[2]}) do
  if redis.call('INCR', k) == 1 then redis.call('EXPIRE', k, ARGV[3]) end
end
return 0
