-- gateway_audit_purge.lua: deletes the audit entries older than a date and records the purge
-- (gateway, method audit.purge). Purge records are kept, whatever their age, so the trail
-- always shows who purged what and when.
--
-- ARGV[1] before (ms): entries with an earlier time are deleted, except kind purge
-- ARGV[2] user, ARGV[3] client address, ARGV[4] now (ms)
-- Returns {'ok', deleted, id of the purge record}.
local BATCH = 1000
local lo, hi = '-', '(' .. ARGV[1] .. '-0'
local deleted = 0
while true do
  local batch = redis.call('XRANGE', 'vg:audit', lo, hi, 'COUNT', BATCH)
  for _, e in ipairs(batch) do
    local kind = ''
    for i = 1, #e[2], 2 do
      if e[2][i] == 'kind' then kind = e[2][i + 1] end
    end
    if kind ~= 'purge' then deleted = deleted + redis.call('XDEL', 'vg:audit', e[1]) end
  end
  if #batch < BATCH then break end
  lo = '(' .. batch[#batch][1]
end
local id = redis.call('XADD', 'vg:audit', '*', 'ts', ARGV[4], 'kind', 'purge', 'user', ARGV[2],
                      'addr', ARGV[3], 'method', 'audit.purge', 'vm', '', 'project', '', 'result',
                      'ok', 'detail',
                      'deleted ' .. deleted .. ' entries before ' .. ARGV[1])
return {'ok', deleted, id}
