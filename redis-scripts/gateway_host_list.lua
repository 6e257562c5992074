-- gateway_host_list.lua: every host with its liveness (gateway, method host.list). One
-- consistent read of the registry in one round trip.
--
-- No arguments.
-- Returns {{id, link, mgmt_addr, cpus, mem_mib, heartbeat_ms, up (0|1)}, ...}.
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
  local f = redis.call('HMGET', 'vg:host:' .. id, 'link', 'mgmt_addr', 'cpus', 'mem_mib',
                       'heartbeat_ms')
  out[#out + 1] = {id, f[1] or '', f[2] or '', f[3] or '0', f[4] or '0', f[5] or '0',
                   redis.call('EXISTS', 'vg:host:' .. id .. ':alive')}
end
return out
