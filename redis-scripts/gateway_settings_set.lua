-- gateway_settings_set.lua: one runtime setting changed (settings.set; the gateway checked the
-- name and range against gateway/core/settings.c).
--
-- ARGV[1] the setting, ARGV[2] its value ('' removes it: back to the default), ARGV[3] now (ms)
-- Returns {'ok', previous value or ''}. Publishes settings.changed {name, value} on vg:events,
-- which every gateway (and events.subscribe client) hears, and on vg:hostd, the channel every
-- hostd listens to, so the change applies without a restart.
local name, value = ARGV[1], ARGV[2]
local was = redis.call('HGET', 'vg:settings', name) or ''
if value == '' then
  redis.call('HDEL', 'vg:settings', name)
else
  redis.call('HSET', 'vg:settings', name, value)
end
local event = cjson.encode({type = 'settings.changed', name = name,
                            value = tonumber(value) or cjson.null, ts = tonumber(ARGV[3])})
redis.call('PUBLISH', 'vg:events', event)
redis.call('PUBLISH', 'vg:hostd', event)
return {'ok', was}
