-- gateway_image_list.lua: the images a caller may see (image.list, image.get): administrators
-- every image, anyone else the public ones and those of the projects they act in.
--
-- ARGV[1] caller   ARGV[2] '1' for an administrator   ARGV[3] image, or '' for every image
-- Returns {'ok', JSON} {"images":[{name, pool, volume, kind, os, description, project, bytes,
-- format, created_by, created_ms}…]} sorted by name, or the one image; {'not_found', msg} for
-- an image that does not exist or that the caller may not see (the same answer).
local user, admin, want = ARGV[1], ARGV[2] == '1', ARGV[3] or ''
local mine = admin and {} or user_active_projects(user)
local function visible(p)
  return admin or p == '' or mine[p]
end
local function one(n)
  local f = redis.call('HMGET', 'vg:image:' .. n, 'pool', 'volume', 'kind', 'os', 'description',
                       'project', 'bytes', 'format', 'created_by', 'created_ms')
  return {name = n, pool = f[1] or '', volume = f[2] or '', kind = f[3] or '', os = f[4] or '',
          description = f[5] or '', project = f[6] or '', bytes = tonumber(f[7] or '') or 0,
          format = f[8] or '', created_by = f[9] or '', created_ms = tonumber(f[10] or '') or 0}
end
if want ~= '' then
  if redis.call('SISMEMBER', 'vg:images', want) == 0 then
    return {'not_found', 'unknown image ' .. want}
  end
  local img = one(want)
  if not visible(img.project) then return {'not_found', 'unknown image ' .. want} end
  return {'ok', cjson.encode(img)}
end
local names = redis.call('SMEMBERS', 'vg:images')
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local img = one(n)
  if visible(img.project) then out[#out + 1] = img end
end
return {'ok', cjson.encode({images = out})}
