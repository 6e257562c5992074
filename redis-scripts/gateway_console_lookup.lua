-- gateway_console_lookup.lua: where a console lives (gateway, opening /ws/console). The VM's
-- host, the console, the host's link URL and its liveness are read together so the gateway
-- never dials the link of a host the VM has just left.
--
-- ARGV[1] VM name
-- ARGV[2] console device
-- Returns {0} when the VM is not known, {1} when it has no such console, else
-- {2, host, link, alive (0|1)}.
local host = redis.call('HGET', 'vg:vm:' .. ARGV[1], 'host')
if not host then return {0} end
if redis.call('HEXISTS', 'vg:vm:' .. ARGV[1] .. ':consoles', ARGV[2]) == 0 then
  return {1}
end
local link = redis.call('HGET', 'vg:host:' .. host, 'link') or ''
return {2, host, link, redis.call('EXISTS', 'vg:host:' .. host .. ':alive')}
