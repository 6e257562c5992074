-- gateway_snapshot_count.lua: keeps a project's snapshot usage exact (gateway: snapshot.create
-- reserves one before hostd takes it, snapshot.delete and failures set the true count after).
--
-- ARGV[1] VM name
-- ARGV[2] 'add' (reserve ARGV[3] more, checked against q_snapshots) or 'set' (the VM now has
--         ARGV[3] snapshots, as hostd listed them)
-- ARGV[3] count
-- Returns {''} or {'quota_exceeded', "project p1: snapshots 10 of 10 used"}. VMs of no project
-- count against nothing.
local vm, mode, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
local dkey = 'vg:vmdef:' .. vm
local d = redis.call('HMGET', dkey, 'project', 'snapshots')
if not d[1] then
  return {''}
end
local pkey = 'vg:project:' .. d[1]
local have = tonumber(d[2]) or 0
local delta = n
if mode == 'set' then delta = n - have end
if delta > 0 and mode == 'add' then
  local q = tonumber(redis.call('HGET', pkey, 'q_snapshots'))
  local used = tonumber(redis.call('HGET', pkey .. ':usage', 'snapshots')) or 0
  if q and q >= 0 and used + delta > q then
    return {'quota_exceeded', 'project ' .. d[1] .. ': snapshots ' .. used .. ' of ' .. q .. ' used'}
  end
end
if delta ~= 0 then
  redis.call('HINCRBY', pkey .. ':usage', 'snapshots', delta)
  redis.call('HSET', dkey, 'snapshots', tostring(have + delta))
end
return {''}
