-- gateway_network_save.lua: creates or changes a network's record (network.create, network.edit)
-- once every host has defined it; `plan` checks a create beforehand and names the hosts.
--
-- ARGV[1] op: plan, create or edit   ARGV[2] name   ARGV[3] spec JSON   ARGV[4] kind
-- ARGV[5] host   ARGV[6] group (one of the two)   ARGV[7] user   ARGV[8] now (ms)
-- Returns {'ok', JSON {hosts}} (plan: the hosts to define it on), {'ok'} (create, edit), or
-- {'conflict'|'not_found'|'unavailable'|'bad_request', message}.
local op, name, spec, kind, host, group = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = 'vg:network:' .. name
local exists = redis.call('SISMEMBER', 'vg:networks', name) == 1

if op == 'edit' then
  if not exists then return {'not_found', 'unknown network ' .. name} end
  redis.call('HSET', key, 'spec', spec, 'kind', kind)
  return {'ok'}
end
if exists then return {'conflict', 'network ' .. name .. ' exists'} end
local hosts
if host ~= '' then
  if redis.call('SISMEMBER', 'vg:hosts', host) == 0 then
    return {'not_found', 'unknown host ' .. host}
  end
  hosts = {host}
else
  if redis.call('SISMEMBER', 'vg:hostgroups', group) == 0 then
    return {'not_found', 'unknown host group ' .. group}
  end
  hosts = redis.call('SMEMBERS', 'vg:hostgroup:' .. group .. ':hosts')
  if #hosts == 0 then return {'bad_request', 'host group ' .. group .. ' has no hosts'} end
end
table.sort(hosts)
for _, h in ipairs(hosts) do
  if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 0 then
    return {'unavailable', 'host ' .. h .. ' is down'}
  end
end
if op == 'plan' then return {'ok', cjson.encode({hosts = hosts})} end
redis.call('SADD', 'vg:networks', name)
redis.call('HSET', key, 'name', name, 'kind', kind, 'spec', spec, 'host', host, 'group', group,
           'created_by', ARGV[7], 'created_ms', ARGV[8])
return {'ok'}
