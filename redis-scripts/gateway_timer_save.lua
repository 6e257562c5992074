-- gateway_timer_save.lua: a timer created or edited (timer.create, timer.edit).
--
-- ARGV[1] 'create' or 'edit', ARGV[2] the timer's name
-- ARGV[3] the whole timer as JSON (checked by the gateway: gateway/core/timersched.c)
-- ARGV[4] now, milliseconds since the epoch
-- Returns {'ok'}, or {'conflict', msg} (name taken), {'not_found', msg} (no such timer, VM or
-- environment). The timer's last_ms becomes now: occurrences before a change are never
-- "missed" runs.
local op, name, now = ARGV[1], ARGV[2], ARGV[4]
local t = cjson.decode(ARGV[3])
local exists = redis.call('HEXISTS', 'vg:timers', name) == 1
if op == 'create' and exists then
  return {'conflict', 'timer ' .. name .. ' exists'}
elseif op == 'edit' and not exists then
  return {'not_found', 'unknown timer ' .. name}
end
if t.vm and redis.call('EXISTS', 'vg:vm:' .. t.vm, 'vg:vmdef:' .. t.vm) == 0 then
  return {'not_found', 'unknown VM ' .. t.vm}
end
if t.env and redis.call('EXISTS', 'vg:env:' .. t.env) == 0 then
  return {'not_found', 'unknown environment ' .. t.env}
end
redis.call('HSET', 'vg:timers', name, ARGV[3])
redis.call('HSET', 'vg:timer:' .. name, 'last_ms', now)
return {'ok'}
