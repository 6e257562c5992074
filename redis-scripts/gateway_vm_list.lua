-- gateway_vm_list.lua: every VM with its host's liveness and its consoles (gateway, method
-- vm.list). One script reads one consistent registry instead of a snapshot torn by a
-- concurrent hostd_sync.lua, in one round trip.
--
-- No arguments.
-- Returns {{name, uuid, host, state, host_up (0|1), {dev, ...} sorted}, ...}.
local out = {}
for _, n in ipairs(redis.call('SMEMBERS', 'vg:vms')) do
  local f = redis.call('HMGET', 'vg:vm:' .. n, 'uuid', 'host', 'state')
  local host = f[2] or ''
  local up = 0
  if host ~= '' then up = redis.call('EXISTS', 'vg:host:' .. host .. ':alive') end
  local cons = redis.call('HKEYS', 'vg:vm:' .. n .. ':consoles')
  table.sort(cons)
  out[#out + 1] = {n, f[1] or '', host, f[3] or 'unknown', up, cons}
end
return out
