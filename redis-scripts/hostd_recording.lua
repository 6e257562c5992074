-- hostd_recording.lua: the index of console recordings (hostd/recording/recorder.c; docs/redis.md
-- "Recordings"). vg:rec:<id> is a hash describing one asciicast file on its host; vg:recs is the
-- sorted set of every id by start time (ms), which recording.list walks.
--
-- ARGV[1] 'put': ARGV[2..12] id, vm, dev, user, host, start_ms, end_ms, size, input (0|1),
--         part, active (0|1). The VM's project is copied from vg:vmdef:<vm> the first time, so
--         the recording stays with the project it was made in.
-- ARGV[1] 'del': ARGV[2] id.
-- ARGV[1] 'prune': ARGV[2] host, ARGV[3] JSON array of the ids whose files exist on that host;
--         the host's other entries go.
-- Returns {'ok'}.
local op = ARGV[1]
local function drop(id)
  redis.call('DEL', 'vg:rec:' .. id)
  redis.call('ZREM', 'vg:recs', id)
end
if op == 'put' then
  local id = ARGV[2]
  local key = 'vg:rec:' .. id
  if redis.call('HEXISTS', key, 'project') == 0 then
    redis.call('HSET', key, 'project', redis.call('HGET', 'vg:vmdef:' .. ARGV[3], 'project') or '')
  end
  redis.call('HSET', key, 'id', id, 'vm', ARGV[3], 'dev', ARGV[4], 'user', ARGV[5],
             'host', ARGV[6], 'start', ARGV[7], 'end', ARGV[8], 'size', ARGV[9],
             'input', ARGV[10], 'part', ARGV[11], 'active', ARGV[12])
  redis.call('ZADD', 'vg:recs', tonumber(ARGV[7]), id)
elseif op == 'del' then
  drop(ARGV[2])
elseif op == 'prune' then
  local keep = {}
  for _, id in ipairs(cjson.decode(ARGV[3])) do keep[id] = true end
  for _, id in ipairs(redis.call('ZRANGE', 'vg:recs', 0, -1)) do
    if not keep[id] and redis.call('HGET', 'vg:rec:' .. id, 'host') == ARGV[2] then drop(id) end
  end
end
return {'ok'}
