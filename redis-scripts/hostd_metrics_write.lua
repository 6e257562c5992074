-- hostd_metrics_write.lua: one collection round of one host into the metrics store (hostd, every
-- metrics_interval; the benchmark feeds synthetic rounds through it too). For the host and each
-- VM: the raw point, the 1-minute rollup of the current minute (recomputed from its raw points)
-- and, on the first round of a minute, the 1-hour rollup of the previous minute's hour
-- (recomputed from its 1-minute rollups); then the target's latest values. Layout and codec:
-- lib/prelude.lua (met_*), docs/redis.md "Metrics". It also marks what the alert evaluation
-- (gateway_alert_eval.lua) must look at, so that never reads the whole fleet: the targets whose
-- values break a threshold rule (vg:alert:over) and the hosts with a pool full (vg:m:pools:full).
--
-- ARGV[1] host id
-- ARGV[2] JSON {"t": seconds since the epoch, "host"?: target, "vms": [target, ...], "pools"?:
--         [{"name", "capacity", "allocation", "available"} in bytes, ...], "last"?: true} where
--         a target is {"name"?, "s": [cpu %, memory bytes, disk bytes/s, network bytes/s],
--         "l": {field = latest value (number or string)}}. hostd sends a round in several calls
--         of at most 100 VMs, so no call holds Redis long: the first has the host (and its
--         pools), the last has "last", which announces the round.
-- Returns {interval seconds}: the metrics_interval setting, which hostd follows.
local host = ARGV[1]
local round = cjson.decode(ARGV[2])
local tiers = met_tiers()
local raw, m1, h1 = tiers[1], tiers[2], tiers[3]
local t = math.floor(round.t / raw.step) * raw.step
local minute = math.floor(t / 60) * 60
local first_of_minute = t - minute < raw.step
local prev_hour = math.floor((minute - 60) / 3600) * 3600

-- The threshold rules, by target kind, with the names they are limited to as a set.
local rules = {vm = {}, host = {}}
local defs = redis.call('HGETALL', 'vg:alert:rules')
for i = 2, #defs, 2 do
  local r = cjson.decode(defs[i])
  if rules[r.target] then
    r.only = #r.names > 0 and {} or nil
    for _, n in ipairs(r.names) do r.only[n] = true end
    table.insert(rules[r.target], r)
  end
end

-- Adds the target's alert ids whose rule its latest values break to vg:alert:over, drops the
-- others: the evaluation raises and clears from there.
local function mark_over(kind, name, latest)
  for _, r in ipairs(rules[kind]) do
    if not r.only or r.only[name] then
      local v = tonumber((latest or {})[r.metric])
      local aid = r.name .. ':' .. kind .. ':' .. name
      if v and ALERT_CMP[r.op](v, r.threshold) then
        redis.call('SADD', 'vg:alert:over', aid)
      else
        redis.call('SREM', 'vg:alert:over', aid)
      end
    end
  end
end

local function store(kind, name, target)
  local prefix = 'vg:m:' .. kind .. ':' .. name .. ':'
  local codes = {}
  for s = 1, #MET_SERIES do
    codes[s] = met_encode(tonumber(target.s[s]), s, raw.w)
  end
  met_write(prefix, raw, t, codes)
  met_write(prefix, m1, minute, met_rollup(met_read(prefix, raw, minute, minute + 60 - raw.step),
                                           raw, m1))
  if first_of_minute then
    met_write(prefix, h1, prev_hour,
              met_rollup(met_read(prefix, m1, prev_hour, prev_hour + 3540), m1, h1))
  end
  local latest = prefix .. 'latest'
  local args = {'ts', t}
  for k, v in pairs(target.l or {}) do
    args[#args + 1] = k
    args[#args + 1] = v
  end
  redis.call('DEL', latest)
  redis.call('HSET', latest, unpack(args))
  redis.call('EXPIRE', latest, raw.step * 3)
  mark_over(kind, name, target.l)
end

if round.host then
  store('host', host, round.host)
  -- The host's active storage pools, for the pool.full alert (gateway_alert_eval.lua): one field
  -- per pool, "capacity allocation available" in bytes; gone with the host's latest values.
  local pools_key = 'vg:m:host:' .. host .. ':pools'
  local full = false
  redis.call('DEL', pools_key)
  if type(round.pools) == 'table' and #round.pools > 0 then
    local args = {}
    local full_pct = alert_pool_full_pct()
    for _, p in ipairs(round.pools) do
      local text = string.format('%.0f %.0f %.0f', p.capacity, p.allocation, p.available)
      local cap, used = alert_pool_used(text)
      full = full or (cap and used >= full_pct)
      args[#args + 1] = p.name
      args[#args + 1] = text
    end
    redis.call('HSET', pools_key, unpack(args))
    redis.call('EXPIRE', pools_key, raw.step * 3)
  end
  -- The evaluation also looks at the hosts of pool.full alerts, which it resolves.
  redis.call(full and 'SADD' or 'SREM', 'vg:m:pools:full', host)
end
for _, vm in ipairs(round.vms) do
  store('vm', vm.name, vm)
end
-- Charts redraw on it (ui/monitoring/charts.js); it names only the host, so it stays small.
if round.last then
  redis.call('PUBLISH', 'vg:events', cjson.encode({type = 'metrics.round', host = host, ts = t * 1000}))
end
return {raw.step}
