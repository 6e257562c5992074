-- gateway_timer_change.lua: a timer paused, resumed or deleted (timer.pause, timer.delete).
--
-- ARGV[1] 'pause', 'resume' or 'delete', ARGV[2] the timer's name, ARGV[3] now (ms)
-- Returns {'ok'} or {'not_found', msg}. Resuming sets last_ms to now, so what fell due while
-- the timer was paused is not run as "missed".
local op, name = ARGV[1], ARGV[2]
local v = redis.call('HGET', 'vg:timers', name)
if not v then
  return {'not_found', 'unknown timer ' .. name}
end
if op == 'delete' then
  redis.call('HDEL', 'vg:timers', name)
  redis.call('DEL', 'vg:timer:' .. name)
  return {'ok'}
end
local t = cjson.decode(v)
t.paused = op == 'pause'
redis.call('HSET', 'vg:timers', name, cjson.encode(t))
if op == 'resume' then
  redis.call('HSET', 'vg:timer:' .. name, 'last_ms', ARGV[3])
end
return {'ok'}
