-- gateway_metrics_query.lua: a target's history (gateway, metrics.query). The tier is the
-- coarsest whose step fits the asked step and whose retention still covers `from` (the finest
-- covering tier when no step is asked). The script reads the tier's records of the range and
-- answers them as they are stored; the gateway (gateway/core/metcodec.c) decodes them and
-- combines a finer tier's points into the asked step (min of mins, mean of means, max of
-- maxes): 7 days at 1-minute steps are 121,000 values, ~0.3 s of Lua, ~2 ms of C.
--
-- ARGV[1] user, ARGV[2] '1' for an administrator (sees every VM)
-- ARGV[3] 'vm' or 'host', ARGV[4] its name
-- ARGV[5] series, comma-separated ('' for all: cpu,mem,disk,net)
-- ARGV[6] from, ARGV[7] to (milliseconds since the epoch), ARGV[8] step in seconds or ''
-- ARGV[9] now (milliseconds since the epoch)
-- Returns {'ok', JSON head, records}: head {"tier", "step" (of the answer), "t0" (its first
-- point), "n" (points), "tier_step", "w", "stats", "packed", "rec" (bytes a record), "series":
-- [[name, index in MET_SERIES], ...], "spread": MET_SPREAD}, records the tier's records from t0
-- on, n * step / tier_step of them (zero bytes where there is none); {'not_found', message} for
-- a target the caller cannot see; {'bad_request', message} for a bad range.
local MAX_POINTS = 11000
local user, admin, kind, name = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]
local from, to = math.floor(tonumber(ARGV[6]) / 1000), math.floor(tonumber(ARGV[7]) / 1000)
local want = tonumber(ARGV[8] or '')
local now = math.floor(tonumber(ARGV[9]) / 1000)

if kind == 'vm' then
  local project = redis.call('HGET', 'vg:vmdef:' .. name, 'project')
  local known = project or redis.call('SISMEMBER', 'vg:vms', name) == 1
  if not known or not (admin or user_active_projects(user)[project or '']) then
    return {'not_found', 'no VM named ' .. name}
  end
elseif redis.call('SISMEMBER', 'vg:hosts', name) == 0 then
  return {'not_found', 'no host named ' .. name}
end
if to <= from then return {'bad_request', 'to must be after from'} end

local pick = {}
for s in string.gmatch(ARGV[5], '[^,]+') do pick[s] = true end
local series = {}
for i, s in ipairs(MET_SERIES) do
  if ARGV[5] == '' or pick[s] then series[#series + 1] = i; pick[s] = nil end
end
local unknown = next(pick)
if unknown then return {'bad_request', 'unknown series ' .. unknown} end

local tiers = met_tiers()
local tier
for _, tr in ipairs(tiers) do
  if now - from <= tr.retention + tr.step and (not tier or (want and tr.step <= want)) then
    tier = tr
  end
end
if not tier then tier = tiers[#tiers] end
local step = math.ceil(math.max(tier.step, want or tier.step) / tier.step) * tier.step
if not want then
  step = step * math.ceil((to - from) / step / MAX_POINTS)
  step = math.max(step, tier.step)
end
local t0 = math.ceil(from / step) * step
local t1 = math.floor(to / step) * step
if (t1 - t0) / step + 1 > MAX_POINTS then
  return {'bad_request', 'more than ' .. MAX_POINTS .. ' points: ask for a larger step'}
end

-- The records t0 .. t1 + step - tier.step, bucket by bucket; a missing or short bucket reads as
-- zero bytes ("no point").
local rec = met_recsize(tier)
local span = tier.step * tier.slots
local prefix = 'vg:m:' .. kind .. ':' .. name .. ':' .. tier.name .. ':'
local parts = {}
local last = t1 + step - tier.step
local b = math.floor(t0 / span)
while t1 >= t0 and b * span <= last do
  local first = math.max(t0, b * span)
  local upto = math.min(last, (b + 1) * span - tier.step)
  local off = (first - b * span) / tier.step * rec
  local want = ((upto - first) / tier.step + 1) * rec
  local data = redis.call('GETRANGE', prefix .. b, off, off + want - 1)
  parts[#parts + 1] = data
  if #data < want then parts[#parts + 1] = string.rep('\0', want - #data) end
  b = b + 1
end
local names = {}
for _, s in ipairs(series) do names[#names + 1] = {MET_SERIES[s], s} end
local head = {tier = tier.name, step = step, t0 = t0, n = math.max(0, (t1 - t0) / step + 1),
              tier_step = tier.step, w = tier.w, stats = tier.stats, packed = tier.packed or false,
              rec = rec, series = names, spread = MET_SPREAD}
return {'ok', cjson.encode(head), table.concat(parts)}
