-- gateway_webhook_claim.lua: takes the webhook deliveries that are due (gateway/backend/
-- webhook.c, every second on every gateway). A claimed delivery's time moves lease_ms ahead, so
-- no other gateway takes it while this one sends it; only a gateway that dies meanwhile lets it
-- go to another after the lease. A delivery whose webhook was deleted is dropped.
--
-- ARGV[1] now, milliseconds since the epoch; ARGV[2] lease_ms; ARGV[3] at most this many
-- Returns {id, url, secret, body, attempt, ...}: five strings per delivery.
local now, lease, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'vg:webhook:queue', '-inf', now, 'LIMIT', 0, max)) do
  local d = redis.call('HMGET', 'vg:webhook:d:' .. id, 'webhook', 'body')
  local w = d[1] and redis.call('HGET', 'vg:webhooks', d[1])
  if not w then
    redis.call('ZREM', 'vg:webhook:queue', id)
    redis.call('DEL', 'vg:webhook:d:' .. id)
  else
    w = cjson.decode(w)
    local attempt = redis.call('HINCRBY', 'vg:webhook:d:' .. id, 'attempts', 1)
    redis.call('ZADD', 'vg:webhook:queue', now + lease, id)
    out[#out + 1] = id
    out[#out + 1] = w.url
    out[#out + 1] = w.secret
    out[#out + 1] = d[2]
    out[#out + 1] = tostring(attempt)
  end
end
return out
