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

-- Missed heartbeats before a host is down: vg:settings host_dead_after, else 3.
local function host_dead_after()
  return tonumber(redis.call('HGET', 'vg:settings', 'host_dead_after') or '') or 3
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
-- min, avg, max (1 byte each) per series. h1, which keeps 400 days and so most of a target's
-- memory, is `packed`: per series the avg code and one byte holding how far min and max lie
-- from it (MET_SPREAD), 8 bytes a record instead of 12. Bucket sizes fill jemalloc's 4 KiB
-- (rollups) and 2 KiB (raw) classes with the string's 6-byte header: 4080 and 4088 bytes.
local function met_tiers()
  local i = met_setting('metrics_interval')
  return {
    {name = 'r' .. i, step = i, slots = 240, w = 2, stats = 1,
     retention = met_setting('metrics_raw_retention')},
    {name = 'm1', step = 60, slots = 340, w = 1, stats = 3,
     retention = met_setting('metrics_m1_retention')},
    {name = 'h1', step = 3600, slots = 511, w = 1, stats = 3, packed = true,
     retention = met_setting('metrics_h1_retention')},
  }
end

-- The distances (in codes) a packed record's min and max can lie from its avg: 4 bits each, so
-- exact up to 4 codes (2 % of cpu or mem, 2/3 of an octave of disk or net), then rounded
-- outwards (min down, max up) so the band always holds the true values.
local MET_SPREAD = {0, 1, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128, 255}

local function met_spread_encode(d)
  for k, v in ipairs(MET_SPREAD) do
    if v >= d then return k - 1 end
  end
  return #MET_SPREAD - 1
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
  return #MET_SERIES * (tier.packed and 2 or tier.stats) * tier.w
end

-- One record's bytes at position p of data as codes {min, avg, max, ...} (rollups) or {v, ...}
-- (raw).
local function met_unpack(data, p, tier)
  local codes = {}
  if tier.packed then
    for s = 0, #MET_SERIES - 1 do
      local av, sp = data:byte(p + s * 2, p + s * 2 + 1)
      if av == 0 then
        codes[s * 3 + 1], codes[s * 3 + 2], codes[s * 3 + 3] = 0, 0, 0
      else
        codes[s * 3 + 1] = math.max(1, av - MET_SPREAD[math.floor(sp / 16) + 1])
        codes[s * 3 + 2] = av
        codes[s * 3 + 3] = math.min(255, av + MET_SPREAD[sp % 16 + 1])
      end
    end
  elseif tier.w == 1 then
    codes = {data:byte(p, p + met_recsize(tier) - 1)}
  else
    for j = 1, #MET_SERIES * tier.stats do
      local hi, lo = data:byte(p + (j - 1) * 2, p + (j - 1) * 2 + 1)
      codes[j] = hi * 256 + lo
    end
  end
  return codes
end

local function met_pack(codes, tier)
  local bytes = {}
  if tier.packed then
    for s = 0, #MET_SERIES - 1 do
      local mn, av, mx = codes[s * 3 + 1], codes[s * 3 + 2], codes[s * 3 + 3]
      bytes[s + 1] = av == 0 and '\0\0' or
        string.char(av, met_spread_encode(av - mn) * 16 + met_spread_encode(mx - av))
    end
  else
    for j, c in ipairs(codes) do
      if tier.w == 1 then bytes[j] = string.char(c)
      else bytes[j] = string.char(math.floor(c / 256), c % 256) end
    end
  end
  return table.concat(bytes)
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
      local codes = met_unpack(data, k * rec + 1, tier)
      for _, c in ipairs(codes) do
        if c ~= 0 then
          out[(first - t0) / tier.step + k] = codes
          break
        end
      end
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
  redis.call('SETRANGE', key, (t - b * span) / tier.step * rec, met_pack(codes, tier))
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

-- Alerts (docs/monitoring.md "Alerts", docs/redis.md "Alerts and webhooks"). One transition of
-- alert a ({id, rule, kind = 'vm'|'host', target, project, value?, detail?}) to state 'firing'
-- or 'resolved': published on vg:events, kept in vg:alerts:log, written to the audit trail and
-- queued once for every webhook that wants the rule. The caller has already changed
-- vg:alert:<id> inside the same script, so a second gateway evaluating the same facts finds the
-- transition done: each transition happens, and is delivered, once.
local function alert_transition(a, state, now)
  local ev = {type = 'alert.' .. state, alert = a.rule, id = a.id, target = a.kind, ts = now,
              value = a.value, detail = a.detail}
  ev[a.kind] = a.target
  if a.project and a.project ~= '' then
    ev.project = a.project
  end
  local text = cjson.encode(ev)
  redis.call('PUBLISH', 'vg:events', text)
  redis.call('XADD', 'vg:alerts:log', 'MAXLEN', '~', '10000', '*', 'event', text)
  redis.call('XADD', 'vg:audit', '*', 'ts', tostring(now), 'kind', 'alert', 'user', '', 'addr', '',
             'method', ev.type, 'vm', a.kind == 'vm' and a.target or '', 'project',
             a.project or '', 'result', 'ok',
             'detail', a.rule .. ' ' .. a.kind .. '=' .. a.target ..
               (a.detail and (': ' .. a.detail) or ''))
  local hooks = redis.call('HGETALL', 'vg:webhooks')
  for i = 1, #hooks, 2 do
    local w = cjson.decode(hooks[i + 1])
    local wanted = #w.alerts == 0
    for _, r in ipairs(w.alerts) do
      wanted = wanted or r == a.rule
    end
    if wanted then
      local seq = redis.call('INCR', 'vg:webhook:seq')
      redis.call('HSET', 'vg:webhook:d:' .. seq, 'webhook', hooks[i], 'attempts', '0', 'body',
                 cjson.encode({delivery = seq, webhook = hooks[i], event = ev}))
      redis.call('ZADD', 'vg:webhook:queue', now, seq)
    end
  end
end

-- Raises alert a (see alert_transition) as pending from now, or as firing at once when for_ms
-- is 0; a pending alert fires once it has been pending for_ms. Returns 1 on a transition.
local function alert_raise(a, now, for_ms)
  local key = 'vg:alert:' .. a.id
  local cur = redis.call('HMGET', key, 'state', 'since_ms')
  if cur[1] == 'firing' then
    if a.value then
      redis.call('HSET', key, 'value', tostring(a.value))
    end
    return 0
  end
  local since = tonumber(cur[2] or '') or now
  local state = now - since >= for_ms and 'firing' or 'pending'
  redis.call('HSET', key, 'id', a.id, 'rule', a.rule, 'kind', a.kind, 'target', a.target,
             'project', a.project or '', 'state', state, 'since_ms', tostring(since),
             'value', tostring(a.value or ''), 'detail', a.detail or '')
  redis.call('SADD', 'vg:alerts', a.id)
  if state == 'firing' then
    redis.call('HSET', key, 'fired_ms', tostring(now))
    alert_transition(a, 'firing', now)
    return 1
  end
  return 0
end

-- Ends alert id: a firing one is resolved (a transition, returns 1), a pending one forgotten.
local function alert_clear(id, now)
  local key = 'vg:alert:' .. id
  local f = redis.call('HGETALL', key)
  if #f == 0 then
    redis.call('SREM', 'vg:alerts', id)
    return 0
  end
  local a = {}
  for i = 1, #f, 2 do
    a[f[i]] = f[i + 1]
  end
  redis.call('DEL', key)
  redis.call('SREM', 'vg:alerts', id)
  if a.state == 'firing' then
    a.value = tonumber(a.value) or nil
    a.detail = a.detail ~= '' and a.detail or nil
    alert_transition(a, 'resolved', now)
    return 1
  end
  return 0
end

-- Whether value v breaks threshold t under op (a threshold rule's `op`).
local ALERT_CMP = {
  ['>'] = function(v, t) return v > t end,
  ['>='] = function(v, t) return v >= t end,
  ['<'] = function(v, t) return v < t end,
  ['<='] = function(v, t) return v <= t end,
}

-- A pool's field of vg:m:host:<id>:pools ("capacity allocation available" in bytes) as its
-- capacity and the percent used, one decimal; nil for a malformed or empty pool. Used is
-- capacity - available, so space taken outside libvirt's volumes counts.
local function alert_pool_used(text)
  local cap, _, avail = string.match(text, '^(%d+) (%d+) (%d+)$')
  cap, avail = tonumber(cap), tonumber(avail)
  if not cap or cap <= 0 then return nil end
  return cap, math.floor((cap - avail) * 1000 / cap + 0.5) / 10
end

-- The setting alert_pool_full_pct: the percent used at which a pool is full (default 90).
local function alert_pool_full_pct()
  return tonumber(redis.call('HGET', 'vg:settings', 'alert_pool_full_pct') or '') or 90
end

-- Gives back the fixed addresses (vg:network:<n>:ips) that spec_json's NICs hold for vm.
local function release_addresses(vm, spec_json)
  local ok, spec = pcall(cjson.decode, spec_json or '{}')
  for _, n in ipairs(ok and type(spec) == 'table' and type(spec.nics) == 'table' and spec.nics or {}) do
    if type(n.ip) == 'string' and type(n.network) == 'string' then
      local key = 'vg:network:' .. n.network .. ':ips'
      local owner = redis.call('HGET', key, n.ip)
      if owner and string.match(owner, '^(%S+)') == vm then redis.call('HDEL', key, n.ip) end
    end
  end
end
