-- gateway_bootstrap.lua: creates user admin while Redis holds no user (gateway, on every Redis
-- connection when admin_password_file is set). Checking and creating in one step lets several
-- gateways start at once and still create admin exactly once, and never overwrite a user.
--
-- ARGV[1] argon2id hash of the admin password
-- ARGV[2] now, milliseconds since the epoch
-- Returns 1 when admin was created, 0 when users already existed.
if redis.call('SCARD', 'vg:users') > 0 then return 0 end
redis.call('HSET', 'vg:user:admin', 'name', 'admin', 'role', 'admin', 'pwhash', ARGV[1],
           'frozen', '0', 'created_ms', ARGV[2])
redis.call('SADD', 'vg:users', 'admin')
return 1
