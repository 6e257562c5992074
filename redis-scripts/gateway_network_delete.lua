-- gateway_network_delete.lua: whether a network may go, and forgetting it (network.delete).
--
-- ARGV[1] op: check (refuses while a VM's spec names the network) or delete   ARGV[2] name
-- Returns {'ok'} or {'not_found'|'conflict', message}.
local op, name = ARGV[1], ARGV[2]
if redis.call('SISMEMBER', 'vg:networks', name) == 0 then
  return {'not_found', 'unknown network ' .. name}
end
if op == 'check' then
  local users = {}
  for _, p in ipairs(redis.call('SMEMBERS', 'vg:projects')) do
    for _, vm in ipairs(redis.call('SMEMBERS', 'vg:project:' .. p .. ':vms')) do
      local ok, spec = pcall(cjson.decode, redis.call('HGET', 'vg:vmdef:' .. vm, 'spec') or '{}')
      for _, n in ipairs(ok and type(spec.nics) == 'table' and spec.nics or {}) do
        if n.network == name then
          users[#users + 1] = vm
          break
        end
      end
    end
  end
  if #users > 0 then
    table.sort(users)
    return {'conflict', 'network ' .. name .. ' is used by VMs: ' .. table.concat(users, ', ')}
  end
  return {'ok'}
end
redis.call('SREM', 'vg:networks', name)
redis.call('DEL', 'vg:network:' .. name, 'vg:network:' .. name .. ':ips')
return {'ok'}
