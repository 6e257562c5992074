-- gateway_webhook.lua: the webhooks of vg:webhooks (webhook.*). The secret is stored for
-- signing and never read back.
--
-- ARGV[1] 'list', 'create' or 'delete'
-- ARGV[2] the webhook's name (create, delete)
-- ARGV[3] create: JSON {name, url, secret, alerts}
-- ARGV[4] now, milliseconds since the epoch
-- Returns {'ok', JSON}: list {"webhooks": [{name, url, alerts, created_ms, delivered, failed,
-- pending, last_ms, last_result}]} by name, create the webhook without its secret, delete {};
-- or {'conflict', msg}, {'not_found', msg}.
local op, name, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local function public(w)
  local s = redis.call('HMGET', 'vg:webhook:status:' .. w.name, 'delivered', 'failed',
                       'last_ms', 'last_result')
  return {name = w.name, url = w.url, alerts = w.alerts, created_ms = w.created_ms,
          delivered = tonumber(s[1]) or 0, failed = tonumber(s[2]) or 0,
          last_ms = tonumber(s[3] or '') or cjson.null, last_result = s[4] or cjson.null}
end
if op == 'list' then
  local out = {}
  for _, v in ipairs(redis.call('HVALS', 'vg:webhooks')) do
    out[#out + 1] = public(cjson.decode(v))
  end
  table.sort(out, function(x, y) return x.name < y.name end)
  return {'ok', cjson.encode({webhooks = out})}
elseif op == 'create' then
  local w = cjson.decode(ARGV[3])
  w.created_ms = now
  if redis.call('HSETNX', 'vg:webhooks', name, cjson.encode(w)) == 0 then
    return {'conflict', 'webhook ' .. name .. ' exists'}
  end
  redis.call('DEL', 'vg:webhook:status:' .. name)
  return {'ok', cjson.encode(public(w))}
end
if redis.call('HDEL', 'vg:webhooks', name) == 0 then
  return {'not_found', 'unknown webhook ' .. name}
end
-- Its queued deliveries are dropped when a gateway claims them (gateway_webhook_claim.lua).
redis.call('DEL', 'vg:webhook:status:' .. name)
return {'ok', '{}'}
