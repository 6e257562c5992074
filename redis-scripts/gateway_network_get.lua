-- gateway_network_get.lua: the networks vmgate manages, with the hosts each one lives on and
-- the fixed addresses handed out in it (network.list, network.get and every network method
-- that needs the hosts).
--
-- ARGV[1] network name, or "" for every network
-- Returns {'ok', JSON}: {"networks":[...]} sorted by name, or the one network:
-- {name, kind, spec, host, group, created_by, created_ms, hosts, down, addresses:[{ip, vm, mac}]}
-- (hosts: where it is defined: the host, or the group's members; down: those not alive);
-- {'not_found', message} when ARGV[1] names no network.
local want = ARGV[1] or ''

local function network(name)
  local key = 'vg:network:' .. name
  local f = redis.call('HMGET', key, 'kind', 'spec', 'host', 'group', 'created_by', 'created_ms')
  local hosts = {}
  if f[3] and f[3] ~= '' then
    hosts = {f[3]}
  elseif f[4] and f[4] ~= '' then
    hosts = redis.call('SMEMBERS', 'vg:hostgroup:' .. f[4] .. ':hosts')
  end
  table.sort(hosts)
  local down = {}
  for _, h in ipairs(hosts) do
    if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 0 then down[#down + 1] = h end
  end
  local addrs = {}
  local ips = redis.call('HGETALL', key .. ':ips')
  for i = 1, #ips, 2 do
    local vm, mac = string.match(ips[i + 1], '^(%S+) (%S+)$')
    addrs[#addrs + 1] = {ip = ips[i], vm = vm or '', mac = mac or ''}
  end
  table.sort(addrs, function(a, b) return a.ip < b.ip end)
  return {name = name, kind = f[1] or '', spec = cjson.decode(f[2] or '{}'), host = f[3] or '',
          group = f[4] or '', created_by = f[5] or '', created_ms = tonumber(f[6] or '') or 0,
          hosts = hosts, down = down, addresses = addrs}
end

if want ~= '' then
  if redis.call('SISMEMBER', 'vg:networks', want) == 0 then
    return {'not_found', 'unknown network ' .. want}
  end
  return {'ok', cjson.encode(network(want))}
end
local names = redis.call('SMEMBERS', 'vg:networks')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  out[#out + 1] = network(n)
end
return {'ok', cjson.encode({networks = out})}
