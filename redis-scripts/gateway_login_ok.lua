-- gateway_login_ok.lua: a login whose password matched (gateway, method login; also for a
-- frozen user, who is then refused). gateway_login.lua charged the attempt as a failure; a
-- success resets the user name's counter and takes back its own charge from the address's
-- (other attempts from that address keep theirs).
--
-- ARGV[1] user name
-- ARGV[2] client address
-- Returns 0.
redis.call('DEL', 'vg:loginfail:user:' .. ARGV[1])
local akey = 'vg:loginfail:addr:' .. ARGV[2]
-- A counter that expired meanwhile is not brought back (DECR would make it -1 without expiry).
local a = tonumber(redis.call('GET', akey) or '0')
if a > 1 then
  redis.call('DECR', akey)
elseif a == 1 then
  redis.call('DEL', akey)
end
return 0
