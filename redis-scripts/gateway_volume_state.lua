-- gateway_volume_state.lua: what Redis knows of a volume beside libvirt (volume.*): the upload
-- in progress or cut short (vg:xfer:<pool>/<volume>), and the image it is.
--
-- ARGV[2] pool ARGV[3] volume, then by ARGV[1]:
-- 'start' ARGV[4] total bytes ARGV[5] offset ARGV[6] user ARGV[7] now ms: an upload begins.
--         {'conflict', msg} while another upload of it runs or when it is an image.
-- 'progress' ARGV[4] bytes ARGV[5] now ms: the upload has written ARGV[4] bytes.
-- 'end' ARGV[4] 'done' or 'cut' ARGV[5] bytes ARGV[6] now ms: the upload ended.
-- 'get': {'ok', JSON {"transfer": {state, bytes, total, user, started_ms, updated_ms} or
--         absent, "image": name or ''}}
-- 'modify': {'conflict', msg} when the volume is an image or an upload of it runs (delete,
--         resize), else {'ok'}.
-- 'list' (ARGV[3] ''): {'ok', JSON {"volumes": {volume: {transfer?, image?}}}} for the pool.
-- 'forget': the volume is gone; its transfer record goes too.
-- The running upload holds vg:xfer:<pool>/<volume>:lock (expires 60 s after its last progress,
-- so a gateway that died mid-upload does not block the volume for ever).
local op, pv = ARGV[1], ARGV[2] .. '/' .. ARGV[3]
local key, lock = 'vg:xfer:' .. pv, 'vg:xfer:' .. pv .. ':lock'
local image = redis.call('HGET', 'vg:images:byvolume', pv)
if op == 'start' or op == 'modify' then
  if image then
    return {'conflict', 'volume ' .. pv .. ' is image ' .. image .. '; delete the image first'}
  end
  if redis.call('EXISTS', lock) == 1 then
    return {'conflict', 'volume ' .. pv .. ' is being uploaded'}
  end
  if op == 'modify' then return {'ok'} end
  redis.call('SET', lock, ARGV[6], 'PX', 60000)
  redis.call('SADD', 'vg:xfers:' .. ARGV[2], ARGV[3])
  redis.call('HSET', key, 'state', 'running', 'bytes', ARGV[5], 'total', ARGV[4],
             'user', ARGV[6], 'started_ms', ARGV[7], 'updated_ms', ARGV[7])
  return {'ok'}
elseif op == 'progress' then
  redis.call('HSET', key, 'bytes', ARGV[4], 'updated_ms', ARGV[5])
  redis.call('PEXPIRE', lock, 60000)
  return {'ok'}
elseif op == 'end' then
  redis.call('HSET', key, 'state', ARGV[4], 'bytes', ARGV[5], 'updated_ms', ARGV[6])
  redis.call('DEL', lock)
  return {'ok'}
elseif op == 'get' then
  local out = {image = image or ''}
  if redis.call('EXISTS', key) == 1 then
    local f = redis.call('HMGET', key, 'state', 'bytes', 'total', 'user', 'started_ms', 'updated_ms')
    local state = f[1]
    if state == 'running' and redis.call('EXISTS', lock) == 0 then state = 'cut' end
    out.transfer = {state = state, bytes = tonumber(f[2]) or 0, total = tonumber(f[3]) or 0,
                    user = f[4] or '', started_ms = tonumber(f[5]) or 0,
                    updated_ms = tonumber(f[6]) or 0}
  end
  return {'ok', cjson.encode(out)}
elseif op == 'list' then
  -- every volume of the pool that has a transfer record or is an image: {volume: {...}}
  local out = {}
  for _, v in ipairs(redis.call('SMEMBERS', 'vg:xfers:' .. ARGV[2])) do
    local f = redis.call('HMGET', 'vg:xfer:' .. ARGV[2] .. '/' .. v, 'state', 'bytes', 'total')
    local state = f[1]
    if state == 'running' and redis.call('EXISTS', 'vg:xfer:' .. ARGV[2] .. '/' .. v .. ':lock') == 0 then
      state = 'cut'
    end
    out[v] = {transfer = {state = state, bytes = tonumber(f[2]) or 0, total = tonumber(f[3]) or 0}}
  end
  local all = redis.call('HGETALL', 'vg:images:byvolume')
  local prefix = ARGV[2] .. '/'
  for i = 1, #all, 2 do
    if all[i]:sub(1, #prefix) == prefix then
      local v = all[i]:sub(#prefix + 1)
      out[v] = out[v] or {}
      out[v].image = all[i + 1]
    end
  end
  return {'ok', cjson.encode({volumes = out})}
elseif op == 'forget' then
  redis.call('DEL', key, lock)
  redis.call('SREM', 'vg:xfers:' .. ARGV[2], ARGV[3])
  return {'ok'}
end
return {'bad_request', 'unknown operation ' .. tostring(op)}
