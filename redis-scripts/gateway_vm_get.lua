-- gateway_vm_get.lua: everything the gateway knows about one VM, in one consistent read
-- (gateway: vm.get and every method that acts on a VM's host).
--
-- ARGV[1] VM name
-- Returns {vmdef fields (HGETALL, {} when unassigned), registry fields (HGETALL of vg:vm:<vm>,
-- {} when no host reports it), host (registry's, else vmdef's), host up (0|1),
-- {console devices sorted}}.
local vm = ARGV[1]
local def = redis.call('HGETALL', 'vg:vmdef:' .. vm)
local reg = redis.call('HGETALL', 'vg:vm:' .. vm)
local host = redis.call('HGET', 'vg:vm:' .. vm, 'host') or
  redis.call('HGET', 'vg:vmdef:' .. vm, 'host') or ''
local up = 0
if host ~= '' then
  up = redis.call('EXISTS', 'vg:host:' .. host .. ':alive')
end
local cons = redis.call('HKEYS', 'vg:vm:' .. vm .. ':consoles')
table.sort(cons)
return {def, reg, host, up, cons}
