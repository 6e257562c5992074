-- gateway_timer_list.lua: the timers with their state (timer.list, and every gateway's timer
-- tick: gateway/backend/timers.c).
--
-- ARGV[1] a timer's name, or '' for all
-- Returns {'ok', JSON {"timers": [timer + last_ms, last_run_ms, last_result, runs]}} by name,
-- or {'not_found', msg}.
local names = {}
if ARGV[1] ~= '' then
  if redis.call('HEXISTS', 'vg:timers', ARGV[1]) == 0 then
    return {'not_found', 'unknown timer ' .. ARGV[1]}
  end
  names = {ARGV[1]}
else
  names = redis.call('HKEYS', 'vg:timers')
  table.sort(names)
end
local out = {}
for _, n in ipairs(names) do
  local t = cjson.decode(redis.call('HGET', 'vg:timers', n))
  local s = redis.call('HMGET', 'vg:timer:' .. n, 'last_ms', 'last_run_ms', 'last_result', 'runs')
  t.last_ms = tonumber(s[1]) or 0
  t.last_run_ms = tonumber(s[2]) or 0
  t.last_result = s[3] or ''
  t.runs = tonumber(s[4]) or 0
  out[#out + 1] = t
end
return {'ok', cjson.encode({timers = out})}
