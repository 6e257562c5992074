-- gateway_image_save.lua: the image library (image.create, image.edit, image.delete) with the
-- `images` quota: a project's image count is checked and changed in the same step that adds or
-- removes the image, so concurrent creates can never pass the quota together.
--
-- ARGV[1] 'create' ARGV[2] image ARGV[3] pool ARGV[4] volume ARGV[5] kind (iso|template)
--         ARGV[6] os ARGV[7] description ARGV[8] project ('' = public) ARGV[9] bytes
--         ARGV[10] format ARGV[11] user ARGV[12] now ms
--         → {'ok'}; {'conflict', msg} (name taken, the volume is an image already or its upload
--         is not complete); {'not_found', msg} (project); {'quota_exceeded', msg}
-- ARGV[1] 'edit' ARGV[2] image ARGV[3] '1' when os is given, ARGV[4] os, ARGV[5] '1' when a
--         description is given, ARGV[6] description → {'ok'}; {'not_found', msg}
-- ARGV[1] 'delete' ARGV[2] image → {'ok'}; {'not_found', msg}
-- Usage: vg:project:<p>:usage images (count) and image_bytes.
local op, name = ARGV[1], ARGV[2]
local key = 'vg:image:' .. name
local exists = redis.call('SISMEMBER', 'vg:images', name) == 1
if op == 'create' then
  local pool, vol, project, bytes = ARGV[3], ARGV[4], ARGV[8], tonumber(ARGV[9]) or 0
  local pv = pool .. '/' .. vol
  if exists then return {'conflict', 'image ' .. name .. ' exists'} end
  local other = redis.call('HGET', 'vg:images:byvolume', pv)
  if other then return {'conflict', 'volume ' .. pv .. ' is image ' .. other .. ' already'} end
  local xfer = redis.call('HGET', 'vg:xfer:' .. pv, 'state')
  if xfer and xfer ~= 'done' then
    return {'conflict', 'volume ' .. pv .. ' is not usable: its upload is ' .. xfer}
  end
  if project ~= '' then
    local pkey = 'vg:project:' .. project
    if redis.call('EXISTS', pkey) == 0 then return {'not_found', 'unknown project ' .. project} end
    local q = tonumber(redis.call('HGET', pkey, 'q_images'))
    local used = tonumber(redis.call('HGET', pkey .. ':usage', 'images')) or 0
    if q and q >= 0 and used + 1 > q then
      return {'quota_exceeded', 'project ' .. project .. ': images ' .. used .. ' of ' .. q .. ' used'}
    end
    redis.call('HINCRBY', pkey .. ':usage', 'images', 1)
    redis.call('HINCRBY', pkey .. ':usage', 'image_bytes', bytes)
  end
  redis.call('SADD', 'vg:images', name)
  redis.call('HSET', 'vg:images:byvolume', pv, name)
  redis.call('HSET', key, 'name', name, 'pool', pool, 'volume', vol, 'kind', ARGV[5], 'os', ARGV[6],
             'description', ARGV[7], 'project', project, 'bytes', tostring(bytes),
             'format', ARGV[10], 'created_by', ARGV[11], 'created_ms', ARGV[12])
  return {'ok'}
end
if not exists then return {'not_found', 'unknown image ' .. name} end
if op == 'edit' then
  if ARGV[3] == '1' then redis.call('HSET', key, 'os', ARGV[4]) end
  if ARGV[5] == '1' then redis.call('HSET', key, 'description', ARGV[6]) end
  return {'ok'}
elseif op == 'delete' then
  local f = redis.call('HMGET', key, 'pool', 'volume', 'project', 'bytes')
  if f[3] and f[3] ~= '' then
    local ukey = 'vg:project:' .. f[3] .. ':usage'
    if redis.call('EXISTS', ukey) == 1 then
      redis.call('HINCRBY', ukey, 'images', -1)
      redis.call('HINCRBY', ukey, 'image_bytes', -(tonumber(f[4]) or 0))
    end
  end
  redis.call('HDEL', 'vg:images:byvolume', (f[1] or '') .. '/' .. (f[2] or ''))
  redis.call('SREM', 'vg:images', name)
  redis.call('DEL', key)
  return {'ok'}
end
return {'bad_request', 'unknown operation ' .. tostring(op)}
