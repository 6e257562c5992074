-- lib/prelude.lua: the functions more than one script needs, written once. The daemons send it
-- in front of every script of redis-scripts/ (common/vg_rscript.c joins the two files as `cat`
-- does; the SHA1 the scripts are called by covers both), so a script calls these functions as
-- if it had defined them itself. Everything here is local: Redis forbids scripts to create
-- globals. docs/redis.md "Scripts" lists the functions.

-- The projects user may act in, as a set {project = true}: the projects of
-- vg:user:<user>:projects whose vg:project:<p>:members still names the user and that are not
-- deactivated (vg:project:<p> active ~= '0').
local function user_active_projects(user)
  local set = {}
  for _, p in ipairs(redis.call('SMEMBERS', 'vg:user:' .. user .. ':projects')) do
    if redis.call('HGET', 'vg:project:' .. p .. ':members', user) and
        redis.call('HGET', 'vg:project:' .. p, 'active') ~= '0' then
      set[p] = true
    end
  end
  return set
end

-- The metrics store (docs/monitoring.md, docs/redis.md "Metrics"). A target (a VM or a host) has
-- four history series; each tier keeps fixed-size records in fixed-size strings ("buckets") of
-- `slots` records, one string per bucket, named vg:m:<kind>:<name>:<tier>:<bucket number>, each
-- expiring `retention` seconds after its last slot. A value is one code of `w` bytes, 0 meaning
-- "no point": cpu and mem (percent used) are linear, disk and net (bytes/s) logarithmic.
local MET_SERIES = {'cpu', 'mem', 'disk', 'net'}
local MET_SETTINGS = {metrics_interval = 10, metrics_raw_retention = 7200,
                      metrics_m1_retention = 604800, metrics_h1_retention = 34560000}

local function met_setting(name)
  local v = tonumber(redis.call('HGET', 'vg:settings', name) or '')
  if not v or v <= 0 then return MET_SETTINGS[name] end
  if name == 'metrics_interval' and 60 % v ~= 0 then return MET_SETTINGS[name] end
  return math.floor(v)
end

-- The tiers, finest first. raw: one full-precision value (2 bytes) per series; the rollups:
-- min, avg, max (1 byte each) per series.
local function met_tiers()
  local i = met_setting('metrics_interval')
  return {
    {name = 'r' .. i, step = i, slots = 240, w = 2, stats = 1,
     retention = met_setting('metrics_raw_retention')},
    {name = 'm1', step = 60, slots = 340, w = 1, stats = 3,
     retention = met_setting('metrics_m1_retention')},
    {name = 'h1', step = 3600, slots = 340, w = 1, stats = 3,
     retention = met_setting('metrics_h1_retention')},
  }
end

local function met_encode(v, series, w)
  if v == nil or v ~= v or v < 0 then return 0 end
  local q
  if series <= 2 then q = v * (w == 1 and 2 or 100)
  else q = math.log(1 + v) / math.log(2) * (w == 1 and 6 or 1000) end
  local max = w == 1 and 255 or 65535
  return math.min(math.floor(q + 0.5) + 1, max)
end

local function met_decode(c, series, w)
  if c == 0 then return nil end
  local q = c - 1
  if series <= 2 then return q / (w == 1 and 2 or 100) end
  return 2 ^ (q / (w == 1 and 6 or 1000)) - 1
end

local function met_recsize(tier)
  return #MET_SERIES * tier.stats * tier.w
end

-- Records of slots t0 .. t1 (aligned to tier.step, inclusive) as {[i] = {code, ...}} with i
-- from 0; a slot with no point is absent.
local function met_read(prefix, tier, t0, t1)
  local out, rec = {}, met_recsize(tier)
  local span = tier.step * tier.slots
  local b = math.floor(t0 / span)
  while b * span <= t1 do
    local first = math.max(t0, b * span)
    local last = math.min(t1, (b + 1) * span - tier.step)
    local off = (first - b * span) / tier.step * rec
    local data = redis.call('GETRANGE', prefix .. tier.name .. ':' .. b, off,
                            off + (last - first) / tier.step * rec + rec - 1)
    local n = #data / rec
    for k = 0, n - 1 do
      local codes, any = {}, false
      for j = 1, rec / tier.w do
        local p = k * rec + (j - 1) * tier.w + 1
        local c = tier.w == 1 and data:byte(p) or data:byte(p) * 256 + data:byte(p + 1)
        codes[j] = c
        any = any or c ~= 0
      end
      if any then out[(first - t0) / tier.step + k] = codes end
    end
    b = b + 1
  end
  return out
end

-- Writes one record at slot t; a new bucket is made at its full size at once (so Redis never
-- grows it, which would double its allocation) and expires retention after its last slot.
local function met_write(prefix, tier, t, codes)
  local span = tier.step * tier.slots
  local b = math.floor(t / span)
  local key = prefix .. tier.name .. ':' .. b
  local rec = met_recsize(tier)
  if redis.call('EXISTS', key) == 0 then
    redis.call('SETRANGE', key, rec * tier.slots - 1, '\0')
    redis.call('EXPIREAT', key, (b + 1) * span + tier.retention)
  end
  local bytes = {}
  for j, c in ipairs(codes) do
    if tier.w == 1 then bytes[j] = string.char(c)
    else bytes[j] = string.char(math.floor(c / 256), c % 256) end
  end
  redis.call('SETRANGE', key, (t - b * span) / tier.step * rec, table.concat(bytes))
end

-- min, avg and max codes of a rollup tier, per series, over records of a finer tier (a list of
-- code arrays): decoded, combined (min of mins, mean of means, max of maxes) and encoded again.
local function met_rollup(recs, from, to)
  local out = {}
  for s = 1, #MET_SERIES do
    local lo, hi, sum, n
    for _, r in pairs(recs) do
      local mn, av, mx
      if from.stats == 1 then
        av = met_decode(r[s], s, from.w)
        mn, mx = av, av
      else
        mn = met_decode(r[(s - 1) * 3 + 1], s, from.w)
        av = met_decode(r[(s - 1) * 3 + 2], s, from.w)
        mx = met_decode(r[(s - 1) * 3 + 3], s, from.w)
      end
      if av then
        lo = lo and math.min(lo, mn) or mn
        hi = hi and math.max(hi, mx) or mx
        sum, n = (sum or 0) + av, (n or 0) + 1
      end
    end
    out[#out + 1] = met_encode(lo, s, to.w)
    out[#out + 1] = n and met_encode(sum / n, s, to.w) or 0
    out[#out + 1] = met_encode(hi, s, to.w)
  end
  return out
end
