-- gateway_project_may_use.lua: whether a project may use a storage pool or a network (gateway,
-- vm.cdrom; vm.create and vm.edit check inside gateway_vm_reserve.lua).
--
-- ARGV[1] project   ARGV[2] pools or networks   ARGV[3] the pool's or network's name
-- Returns {'ok'} when the project's set is empty (everything allowed) or holds the name, else
-- {'forbidden', message}.
local key = 'vg:project:' .. ARGV[1] .. ':' .. ARGV[2]
if redis.call('SCARD', key) == 0 or redis.call('SISMEMBER', key, ARGV[3]) == 1 then
  return {'ok'}
end
local what = ARGV[2] == 'pools' and 'storage pool' or 'network'
return {'forbidden', 'project ' .. ARGV[1] .. ' may not use ' .. what .. ' ' .. ARGV[3]}
