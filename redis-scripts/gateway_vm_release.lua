-- gateway_vm_release.lua: forgets a VM's definition and gives its share of the quota and its
-- fixed addresses back
-- (gateway: vm.delete, and undoing gateway_vm_reserve.lua when hostd refused the definition).
--
-- ARGV[1] VM name
-- Returns the project the VM belonged to, or false when it had no vmdef.
local vm = ARGV[1]
local dkey = 'vg:vmdef:' .. vm
local d = redis.call('HMGET', dkey, 'project', 'vcpus', 'memory_mib', 'disk_mib', 'snapshots',
                     'env')
if not d[1] then
  return false
end
local pkey = 'vg:project:' .. d[1]
local give = {instances = 1, vcpus = tonumber(d[2]) or 0, memory_mib = tonumber(d[3]) or 0,
              disk_mib = tonumber(d[4]) or 0, snapshots = tonumber(d[5]) or 0}
for k, n in pairs(give) do
  if n ~= 0 then redis.call('HINCRBY', pkey .. ':usage', k, -n) end
end
release_addresses(vm, redis.call('HGET', dkey, 'spec'))
redis.call('SREM', pkey .. ':vms', vm)
redis.call('ZREM', pkey .. ':vms:byname', vm)
if d[6] and d[6] ~= '' then
  redis.call('HDEL', 'vg:env:' .. d[6] .. ':vms', vm)
end
redis.call('DEL', dkey)
return d[1]
