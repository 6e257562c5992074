-- gateway_hostgroup_save.lua: creates or edits a host group (hostgroup.create, hostgroup.edit).
--
-- ARGV[1] 'create' or 'edit'
-- ARGV[2] group name
-- ARGV[3] '1' when a description is given, ARGV[4] the description
-- ARGV[5] JSON array of member host ids (replaces the members), or '' to keep them
-- ARGV[6] now, milliseconds since the epoch
-- Returns {'ok'}, {'conflict', message} (create: name taken), {'not_found', message} (edit:
-- unknown group; a member that is no registered host). Nothing changes on a refusal.
local op, name = ARGV[1], ARGV[2]
local key = 'vg:hostgroup:' .. name
local exists = redis.call('SISMEMBER', 'vg:hostgroups', name) == 1
if op == 'create' and exists then
  return {'conflict', 'host group ' .. name .. ' exists'}
end
if op == 'edit' and not exists then
  return {'not_found', 'unknown host group ' .. name}
end
local hosts
if ARGV[5] ~= '' then
  hosts = cjson.decode(ARGV[5])
  for _, h in ipairs(hosts) do
    if redis.call('SISMEMBER', 'vg:hosts', h) == 0 then
      return {'not_found', 'unknown host ' .. h}
    end
  end
end
if op == 'create' then
  redis.call('SADD', 'vg:hostgroups', name)
  redis.call('HSET', key, 'name', name, 'description', '', 'created_ms', ARGV[6])
end
if ARGV[3] == '1' then
  redis.call('HSET', key, 'description', ARGV[4])
end
if hosts then
  redis.call('DEL', key .. ':hosts')
  if #hosts > 0 then
    redis.call('SADD', key .. ':hosts', unpack(hosts))
  end
end
return {'ok'}
