-- gateway_pool_hosts.lua: the pools vmgate created and the hosts that are up (gateway: every
-- pool.*, volume.* and image.create call starts here to learn which hosts to ask).
--
-- ARGV[1] pool name, or '' for every pool
-- Returns {'ok', JSON} {"alive":[host…], "pools":[{name, type, spec, hosts, group, state,
-- created_ms}…]} with hosts sorted; "pools" holds just ARGV[1]'s record when it names a
-- registered pool, and nothing for a pool vmgate did not create (the stack's own, say).
local want = ARGV[1] or ''
local alive = {}
for _, h in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
  if redis.call('EXISTS', 'vg:host:' .. h .. ':alive') == 1 then
    alive[#alive + 1] = h
  end
end
table.sort(alive)
local function pool(name)
  local f = redis.call('HMGET', 'vg:pool:' .. name, 'type', 'spec', 'hosts', 'group', 'state',
                       'created_ms')
  return {name = name, type = f[1] or '', spec = cjson.decode(f[2] or '{}'),
          hosts = cjson.decode(f[3] or '[]'), group = f[4] or '', state = f[5] or '',
          created_ms = tonumber(f[6] or '') or 0}
end
local names = want ~= '' and {want} or redis.call('SMEMBERS', 'vg:pools')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  if redis.call('SISMEMBER', 'vg:pools', n) == 1 then
    out[#out + 1] = pool(n)
  end
end
return {'ok', cjson.encode({alive = alive, pools = out})}
