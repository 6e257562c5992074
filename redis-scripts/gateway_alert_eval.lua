-- gateway_alert_eval.lua: the alert rules (gateway/backend/alerts.c: every 2 s on every gateway,
-- and at once for the vg:events messages that raise or end a built-in alert). Every gateway
-- evaluates the same facts; the state in vg:alert:<id> is read and changed in this one script,
-- so a transition (and its webhook deliveries) happens once however many gateways run it.
-- Built-in rules: host.down (vg:host:<id>:downmark exists), vm.crashed (hostd's vm.crashed
-- event; resolved when the registry shows the VM running again), console.gone (a running VM's
-- console disconnected for alert_console_after_ms, default 30000), pool.full (a storage pool
-- of a host, vg:m:host:<id>:pools, used to alert_pool_full_pct of its capacity, default 90;
-- resolved below it, when its host reports no such pool or the host is removed; a host that
-- stopped reporting, being down, keeps its alerts). Threshold rules: the
-- vg:alert:rules an administrator defines, on a field of the targets' latest metrics; a rule
-- takes effect at the targets' next metrics round.
--
-- ARGV[1] now, milliseconds since the epoch
-- ARGV[2] '' for the periodic evaluation, or the JSON of a vm.crashed, console.disconnected or
--         console.connected event
-- Returns the number of transitions (firing or resolved) it made.
local now = tonumber(ARGV[1])
local n = 0
local console_after = tonumber(redis.call('HGET', 'vg:settings', 'alert_console_after_ms') or '')
  or 30000

local function vm_project(vm)
  return redis.call('HGET', 'vg:vmdef:' .. vm, 'project') or ''
end

if ARGV[2] ~= '' then
  local ev = cjson.decode(ARGV[2])
  if ev.type == 'vm.crashed' then
    n = n + alert_raise({id = 'vm.crashed:vm:' .. ev.vm, rule = 'vm.crashed', kind = 'vm',
                         target = ev.vm, project = vm_project(ev.vm),
                         detail = (ev.reason or 'crashed') .. ' on ' .. (ev.host or '?')}, now, 0)
  elseif ev.type == 'console.disconnected' and
      redis.call('HGET', 'vg:vm:' .. ev.vm, 'state') == 'running' then
    n = n + alert_raise({id = 'console.gone:vm:' .. ev.vm .. ':' .. ev.dev, rule = 'console.gone',
                         kind = 'vm', target = ev.vm, project = vm_project(ev.vm),
                         detail = ev.dev}, now, console_after)
  elseif ev.type == 'console.connected' then
    n = n + alert_clear('console.gone:vm:' .. ev.vm .. ':' .. ev.dev, now)
  end
  return n
end

-- Every part reads only what changed or is active, never the whole fleet: the hosts marked
-- down (vg:hosts:down, gateway_host_watch.lua), the hosts with a pool full and the targets over
-- a threshold (vg:m:pools:full and vg:alert:over, each host's hostd_metrics_write.lua round),
-- and the active alerts (vg:alerts).
local rules = {}
local defs = redis.call('HGETALL', 'vg:alert:rules')
for i = 2, #defs, 2 do
  local r = cjson.decode(defs[i])
  rules[r.name] = r
end
local hosts_down = redis.call('SMEMBERS', 'vg:hosts:down')
local pool_hosts, pool_alerts, over = {}, {}, {}
for _, h in ipairs(redis.call('SMEMBERS', 'vg:m:pools:full')) do pool_hosts[h] = true end
for _, aid in ipairs(redis.call('SMEMBERS', 'vg:alert:over')) do over[aid] = true end

-- vm.crashed and console.gone go when the VM runs again (or is gone); a pending console.gone
-- fires when the VM still runs. host.down goes with its downmark. The other alerts' targets
-- join the candidates below, which clear them when their condition is gone.
for _, aid in ipairs(redis.call('SMEMBERS', 'vg:alerts')) do
  local a = redis.call('HMGET', 'vg:alert:' .. aid, 'rule', 'target', 'since_ms', 'state',
                       'project', 'detail')
  if a[1] == 'host.down' then
    if redis.call('EXISTS', 'vg:host:' .. (a[2] or '') .. ':downmark') == 0 then
      n = n + alert_clear(aid, now)
    end
  elseif a[1] == 'pool.full' then
    local h = string.match(a[2] or '', '^(.-)/') or ''
    pool_hosts[h] = true
    pool_alerts[h] = pool_alerts[h] or {}
    table.insert(pool_alerts[h], aid)
  elseif rules[a[1]] then
    over[aid] = true
  elseif a[1] == 'vm.crashed' or a[1] == 'console.gone' then
    local vm = redis.call('HMGET', 'vg:vm:' .. a[2], 'state', 'updated_ms')
    local since = tonumber(a[3]) or 0
    local gone = not vm[1] and redis.call('EXISTS', 'vg:vmdef:' .. a[2]) == 0
    if a[1] == 'vm.crashed' then
      if gone or (vm[1] == 'running' and (tonumber(vm[2]) or 0) >= since) then
        n = n + alert_clear(aid, now)
      end
    elseif gone or vm[1] ~= 'running' then
      n = n + alert_clear(aid, now)
    elseif a[4] == 'pending' then
      n = n + alert_raise({id = aid, rule = a[1], kind = 'vm', target = a[2], project = a[5],
                           detail = a[6]}, now, console_after)
    end
  end
end

-- host.down: the set is the down hosts' downmarks, which gateway_host_watch.lua keeps.
for _, id in ipairs(hosts_down) do
  if redis.call('EXISTS', 'vg:host:' .. id .. ':downmark') == 1 then
    n = n + alert_raise({id = 'host.down:host:' .. id, rule = 'host.down', kind = 'host',
                         target = id}, now, 0)
  else
    redis.call('SREM', 'vg:hosts:down', id)
  end
end

-- pool.full: a pool of the host used to alert_pool_full_pct fires; one below it, no longer
-- reported by its (reporting) host, or of a removed host is resolved. A host that stopped
-- reporting, being down, keeps its alerts.
local pool_full = alert_pool_full_pct()
for h in pairs(pool_hosts) do
  local known = redis.call('SISMEMBER', 'vg:hosts', h) == 1
  local reporting = redis.call('EXISTS', 'vg:m:host:' .. h .. ':latest') == 1
  local f = known and redis.call('HGETALL', 'vg:m:host:' .. h .. ':pools') or {}
  local seen = {}
  for i = 1, #f, 2 do
    local cap, used = alert_pool_used(f[i + 1])
    if cap then
      local target = h .. '/' .. f[i]
      local aid = 'pool.full:pool:' .. target
      seen[aid] = true
      if used >= pool_full then
        n = n + alert_raise({id = aid, rule = 'pool.full', kind = 'pool', target = target,
                             value = used,
                             detail = string.format('%.1f %% of %.0f MiB used (threshold %s %%)',
                                                    used, cap / 1048576, pool_full)}, now, 0)
      elseif redis.call('SISMEMBER', 'vg:alerts', aid) == 1 then
        n = n + alert_clear(aid, now)
      end
    end
  end
  if not known or reporting then
    for _, aid in ipairs(pool_alerts[h] or {}) do
      if not seen[aid] then n = n + alert_clear(aid, now) end
    end
  end
  if not known then redis.call('SREM', 'vg:m:pools:full', h) end
end

-- threshold rules: the targets over a threshold at their last round, and the rules' active
-- alerts; a target without latest values (stopped, host down) is no longer over.
for aid in pairs(over) do
  local rname, kind, name = string.match(aid, '^([^:]+):([^:]+):(.+)$')
  local r = rules[rname or '']
  local v = r and r.target == kind and
    tonumber(redis.call('HGET', 'vg:m:' .. kind .. ':' .. name .. ':latest', r.metric) or '')
  if v and ALERT_CMP[r.op](v, r.threshold) then
    n = n + alert_raise({id = aid, rule = r.name, kind = kind, target = name,
                         project = kind == 'vm' and vm_project(name) or '', value = v,
                         detail = r.metric .. ' ' .. r.op .. ' ' .. r.threshold},
                        now, r.for_s * 1000)
  else
    redis.call('SREM', 'vg:alert:over', aid)
    if redis.call('SISMEMBER', 'vg:alerts', aid) == 1 then
      n = n + alert_clear(aid, now)
    end
  end
end
return n
