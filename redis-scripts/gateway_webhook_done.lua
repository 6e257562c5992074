-- gateway_webhook_done.lua: the outcome of one delivery attempt (gateway/backend/webhook.c).
-- Delivered (a 2xx answer): the delivery is gone. Failed: it is due again after a backoff of
-- 1 s doubling per attempt up to 5 min; after webhook_max_attempts (vg:settings, default 10) it
-- is dropped and the audit trail says so.
--
-- ARGV[1] delivery id; ARGV[2] '1' delivered, '0' failed; ARGV[3] now (ms); ARGV[4] the result
-- in words ("HTTP 200", "connection refused", ...)
-- Returns 1 when the delivery is finished (delivered or dropped), 0 when it will be retried.
local id, ok, now, what = ARGV[1], ARGV[2] == '1', tonumber(ARGV[3]), ARGV[4]
local dkey = 'vg:webhook:d:' .. id
local d = redis.call('HMGET', dkey, 'webhook', 'attempts')
if not d[1] then
  redis.call('ZREM', 'vg:webhook:queue', id)
  return 1
end
local skey = 'vg:webhook:status:' .. d[1]
local exists = redis.call('HEXISTS', 'vg:webhooks', d[1]) == 1
if exists then
  redis.call('HSET', skey, 'last_ms', tostring(now), 'last_result', what)
end
if ok then
  if exists then redis.call('HINCRBY', skey, 'delivered', 1) end
  redis.call('DEL', dkey)
  redis.call('ZREM', 'vg:webhook:queue', id)
  return 1
end
if exists then redis.call('HINCRBY', skey, 'failed', 1) end
local attempts = tonumber(d[2]) or 1
local max = tonumber(redis.call('HGET', 'vg:settings', 'webhook_max_attempts') or '') or 10
if attempts >= max or not exists then
  redis.call('DEL', dkey)
  redis.call('ZREM', 'vg:webhook:queue', id)
  if exists then
    redis.call('XADD', 'vg:audit', '*', 'ts', tostring(now), 'kind', 'alert', 'user', '',
               'addr', '', 'method', 'webhook.dropped', 'vm', '', 'project', '', 'result',
               'unavailable', 'detail', 'webhook=' .. d[1] .. ' delivery=' .. id .. ' after ' ..
               attempts .. ' attempts: ' .. what)
  end
  return 1
end
redis.call('ZADD', 'vg:webhook:queue', now + math.min(1000 * 2 ^ (attempts - 1), 300000), id)
return 0
