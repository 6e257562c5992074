-- gateway_consoles.lua: the consoles of one VM (gateway, method console.ticket). Telling "no
-- such VM" from "no consoles" needs two reads that must see the same registry.
--
-- ARGV[1] VM name
-- Returns nil when the VM is not known, else its console devices, sorted.
if redis.call('EXISTS', 'vg:vm:' .. ARGV[1]) == 0 then return false end
local c = redis.call('HKEYS', 'vg:vm:' .. ARGV[1] .. ':consoles')
table.sort(c)
return c
