-- gateway_metrics_query.lua: a target's history as aligned series (gateway, metrics.query). The
-- tier is the coarsest whose step fits the asked step and whose retention still covers `from`
-- (the finest covering tier when no step is asked); points of a finer tier are combined into
-- the asked step (min of mins, mean of means, max of maxes).
--
-- ARGV[1] user, ARGV[2] '1' for an administrator (sees every VM)
-- ARGV[3] 'vm' or 'host', ARGV[4] its name
-- ARGV[5] series, comma-separated ('' for all: cpu,mem,disk,net)
-- ARGV[6] from, ARGV[7] to (milliseconds since the epoch), ARGV[8] step in seconds or ''
-- ARGV[9] now (milliseconds since the epoch)
-- Returns {'ok', JSON {"tier", "step", "t": [seconds...], "series": {name: {"min": [...],
-- "avg": [...], "max": [...]}}}} with null where there is no point; {'not_found', message}
-- for a target the caller cannot see; {'bad_request', message} for a bad range.
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

local recs = met_read('vg:m:' .. kind .. ':' .. name .. ':', tier,
                      math.floor(t0 / tier.step) * tier.step, t1 + step - tier.step)
local per = step / tier.step
local out = {tier = tier.name, step = step, t = {}, series = {}}
for _, s in ipairs(series) do
  out.series[MET_SERIES[s]] = {min = {}, avg = {}, max = {}}
end
local agg = {name = 'out', w = tier.w, stats = 3}
local k = 0
for ts = t0, t1, step do
  k = k + 1
  out.t[k] = ts
  local group = {}
  local base = (ts - t0) / tier.step
  for j = 0, per - 1 do group[#group + 1] = recs[base + j] end
  local r = #group > 0 and met_rollup(group, tier, agg)
  for _, s in ipairs(series) do
    local o = out.series[MET_SERIES[s]]
    o.min[k] = r and met_decode(r[(s - 1) * 3 + 1], s, agg.w) or cjson.null
    o.avg[k] = r and met_decode(r[(s - 1) * 3 + 2], s, agg.w) or cjson.null
    o.max[k] = r and met_decode(r[(s - 1) * 3 + 3], s, agg.w) or cjson.null
  end
end
return {'ok', cjson.encode(out)}
