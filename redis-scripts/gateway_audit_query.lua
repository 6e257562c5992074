-- gateway_audit_query.lua: one page of the audit trail (gateway, methods audit.query and
-- audit.export). Filtering here rather than in the gateway keeps pages full: the script reads
-- the stream in batches until the page is full, the range ends or max_scan entries were read.
--
-- ARGV[1] from (ms, '' = the beginning), ARGV[2] to (ms, inclusive, '' = the end): compared
--         with each entry's ts
-- ARGV[3..7] exact filters kind, user, vm, addr, result ('' = any; result 'error' = not ok)
-- ARGV[8] cursor: the id of the last entry of the previous page ('' = first page)
-- ARGV[9] page size, ARGV[10] order 'asc' or 'desc', ARGV[11] max_scan
-- Returns {'ok', next_cursor ('' when the range is exhausted), {{id, {field, value, ...}}, ...}}.
local from, to = ARGV[1], ARGV[2]
local want = {kind = ARGV[3], user = ARGV[4], vm = ARGV[5], addr = ARGV[6], result = ARGV[7]}
local cursor, limit, asc = ARGV[8], tonumber(ARGV[9]), ARGV[10] ~= 'desc'
local max_scan = tonumber(ARGV[11])
local BATCH = 500

-- The time of an entry is its ts field (the gateway's clock). Stream ids carry Redis's clock,
-- a few ms later; the id range is widened by SLACK ms and ts decides.
local SLACK = 60000
local lo = from ~= '' and string.format('%d', math.max(0, tonumber(from) - SLACK)) or '-'
local hi = to ~= '' and string.format('%d', tonumber(to) + SLACK) or '+'
local ts_from, ts_to = tonumber(from ~= '' and from or '0'), tonumber(to ~= '' and to or '1e18')
if cursor ~= '' then
  if asc then lo = '(' .. cursor else hi = '(' .. cursor end
end

local function matches(fields)
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  local ts = tonumber(f.ts or '0') or 0
  if ts < ts_from or ts > ts_to then return false end
  for k, v in pairs(want) do
    if v ~= '' then
      local have = f[k] or ''
      if k == 'result' and v == 'error' then
        if have == 'ok' then return false end
      elseif have ~= v then
        return false
      end
    end
  end
  return true
end

local out, scanned, last = {}, 0, ''
while true do
  local batch
  if asc then
    batch = redis.call('XRANGE', 'vg:audit', lo, hi, 'COUNT', BATCH)
  else
    batch = redis.call('XREVRANGE', 'vg:audit', hi, lo, 'COUNT', BATCH)
  end
  for _, e in ipairs(batch) do
    scanned = scanned + 1
    last = e[1]
    if matches(e[2]) then
      out[#out + 1] = e
      if #out >= limit then return {'ok', last, out} end
    end
    if scanned >= max_scan then return {'ok', last, out} end
  end
  if #batch < BATCH then return {'ok', '', out} end
  if asc then lo = '(' .. last else hi = '(' .. last end
end
