-- gateway_host_watch.lua: declares hosts down (gateway/hostwatch.c, every 500 ms on every
-- gateway). A host whose last heartbeat (last_heartbeat_ms, written by hostd_sync.lua) is older
-- than its heartbeat interval (heartbeat_interval_ms) times vg:settings host_dead_after (default
-- 3) is down; a host without those fields is down when its alive key has expired. The first
-- gateway to notice sets vg:host:<id>:downmark (SET NX) and publishes host.down once; the mark
-- goes when the host heartbeats again (hostd itself publishes host.up). vg:hosts:down names the
-- marked hosts, so the alert evaluation (gateway_alert_eval.lua) reads only those.
--
-- A call reads only the hosts past their deadline in vg:hosts:deadline (hostd_sync.lua writes
-- it at every heartbeat) and the hosts marked down: at 1,000 hosts a few instead of all (each
-- run held Redis 6-9 ms, and a placement behind it). A full pass (ARGV[2] 'all', the gateway's
-- first call and every 10 s) reads every host: hosts without the heartbeat fields, and
-- deadlines written under an earlier host_dead_after.
--
-- ARGV[1] now, milliseconds since the epoch (the gateway's clock)
-- ARGV[2] 'all' for a full pass, else ''
-- Returns the ids of the hosts this call declared down.
local now = tonumber(ARGV[1])
local dead_after = host_dead_after()
local ids
if ARGV[2] == 'all' then
  ids = redis.call('SMEMBERS', 'vg:hosts')
else
  ids = {}
  local seen = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'vg:hosts:deadline', '-inf', '(' .. now)) do
    -- a host no longer registered is no longer watched
    if redis.call('SISMEMBER', 'vg:hosts', id) == 1 then
      ids[#ids + 1] = id
      seen[id] = true
    else
      redis.call('ZREM', 'vg:hosts:deadline', id)
    end
  end
  for _, id in ipairs(redis.call('SMEMBERS', 'vg:hosts:down')) do
    if not seen[id] then ids[#ids + 1] = id end
  end
end
local declared = {}
for _, id in ipairs(ids) do
  local key = 'vg:host:' .. id
  local f = redis.call('HMGET', key, 'last_heartbeat_ms', 'heartbeat_interval_ms')
  local last, interval = tonumber(f[1] or '') or 0, tonumber(f[2] or '') or 0
  local down
  if interval > 0 and last > 0 then
    down = now - last > interval * dead_after
  else
    down = redis.call('EXISTS', key .. ':alive') == 0
  end
  if down then
    if redis.call('SET', key .. ':downmark', tostring(now), 'NX') then
      redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'host.down', host = id, ts = now,
                                                      last_heartbeat_ms = last}))
      declared[#declared + 1] = id
    end
    redis.call('SADD', 'vg:hosts:down', id)
  elseif redis.call('DEL', key .. ':downmark') == 1 then
    redis.call('SREM', 'vg:hosts:down', id)
  end
end
return declared
