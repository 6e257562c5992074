-- gateway_recording.lua: the console recordings a user may see (gateway, methods recording.*;
-- the index is written by hostd_recording.lua, docs/redis.md "Recordings"). A recording belongs
-- to the project its VM had when it was made: administrators see all, others those of the
-- projects they are active members of.
--
-- ARGV[1] user name, ARGV[2] '1' for an administrator, ARGV[3] op:
--   'list': ARGV[4] vm or '', ARGV[5] user or '', ARGV[6] since ms, ARGV[7] until ms,
--           ARGV[8] limit. Returns {'ok', json, ...}, newest first.
--   'get':  ARGV[4] id. Returns {'ok', json}, or {'not_found', message} also when the
--           recording exists but the user may not see it (its existence is not told).
-- json: {id, vm, dev, user, host, project, start, end, size, input, part, active}.
local user, admin, op = ARGV[1], ARGV[2] == '1', ARGV[3]
local member = admin and {} or user_active_projects(user)

local function load(id)
  local f = redis.call('HMGET', 'vg:rec:' .. id, 'vm', 'dev', 'user', 'host', 'project',
                       'start', 'end', 'size', 'input', 'part', 'active')
  if not f[1] then return nil end
  if not admin and not member[f[5] or ''] then return nil end
  return {id = id, vm = f[1], dev = f[2] or '', user = f[3] or '', host = f[4] or '',
          project = f[5] or '', start = tonumber(f[6]) or 0, ['end'] = tonumber(f[7]) or 0,
          size = tonumber(f[8]) or 0, input = f[9] == '1', part = tonumber(f[10]) or 1,
          active = f[11] == '1'}
end

if op == 'get' then
  local r = load(ARGV[4])
  if not r then return {'not_found', 'no recording ' .. ARGV[4]} end
  return {'ok', cjson.encode(r)}
end

local vm, who, limit = ARGV[4], ARGV[5], tonumber(ARGV[8])
local out = {'ok'}
for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', 'vg:recs', ARGV[7], ARGV[6])) do
  local r = load(id)
  if r and (vm == '' or r.vm == vm) and (who == '' or r.user == who) then
    out[#out + 1] = cjson.encode(r)
    if #out > limit then break end
  end
end
return out
