-- gateway_timer_claim.lua: one gateway takes one occurrence of a timer (gateway/backend/timers.c).
-- Every gateway looks for due occurrences; SET NX on the occurrence's claim key lets exactly
-- one of them run it, however many look at once.
--
-- ARGV[1] timer, ARGV[2] the occurrence (ms), ARGV[3] now (ms), ARGV[4] grace (ms): an
-- occurrence claimed later than this after it fell due was missed (every gateway was down)
-- ARGV[5] sha256 of a fresh token, ARGV[6] its session's lifetime (s)
-- Returns {'run', owner} (a session of the timer's owner now exists under ARGV[5]: the run is
-- an ordinary API call of that user), {'skip'} (missed, and the timer skips missed runs), or
-- {'no'} (gone, paused, already run or claimed).
local name, occ, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HGET', 'vg:timers', name)
if not v then
  return {'no'}
end
local t = cjson.decode(v)
local state = 'vg:timer:' .. name
if t.paused or occ <= (tonumber(redis.call('HGET', state, 'last_ms')) or 0) then
  return {'no'}
end
if not redis.call('SET', 'vg:timer:claim:' .. name .. ':' .. ARGV[2], now, 'NX', 'EX', 604800) then
  return {'no'}
end
redis.call('HSET', state, 'last_ms', ARGV[2])
if now - occ > tonumber(ARGV[4]) and t.missed ~= 'run' then
  redis.call('HSET', state, 'last_result', 'skipped', 'last_run_ms', ARGV[3])
  return {'skip'}
end
local session = 'vg:session:' .. ARGV[5]
redis.call('HSET', session, 'user', t.owner, 'created_ms', ARGV[3], 'addr', 'timer:' .. name)
redis.call('EXPIRE', session, tonumber(ARGV[6]))
redis.call('SADD', 'vg:user:' .. t.owner .. ':sessions', ARGV[5])
return {'run', t.owner}
