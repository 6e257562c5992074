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
-- vg:alert:rules an administrator defines, on a field of the targets' latest metrics.
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

-- host.down
for _, id in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
  local aid = 'host.down:host:' .. id
  if redis.call('EXISTS', 'vg:host:' .. id .. ':downmark') == 1 then
    n = n + alert_raise({id = aid, rule = 'host.down', kind = 'host', target = id}, now, 0)
  elseif redis.call('SISMEMBER', 'vg:alerts', aid) == 1 then
    n = n + alert_clear(aid, now)
  end
end

-- pool.full: used = capacity - available, so space taken outside libvirt's volumes counts.
local pool_full = tonumber(redis.call('HGET', 'vg:settings', 'alert_pool_full_pct') or '') or 90
local pools_seen, reporting, hosts = {}, {}, {}
for _, id in ipairs(redis.call('SMEMBERS', 'vg:hosts')) do
  local f = redis.call('HGETALL', 'vg:m:host:' .. id .. ':pools')
  hosts[id] = true
  reporting[id] = redis.call('EXISTS', 'vg:m:host:' .. id .. ':latest') == 1
  for i = 1, #f, 2 do
    local cap, _, avail = string.match(f[i + 1], '^(%d+) (%d+) (%d+)$')
    cap, avail = tonumber(cap), tonumber(avail)
    if cap and cap > 0 then
      local target = id .. '/' .. f[i]
      local aid = 'pool.full:pool:' .. target
      local used = math.floor((cap - avail) * 1000 / cap + 0.5) / 10
      pools_seen[aid] = true
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
end

-- vm.crashed and console.gone go when the VM runs again (or is gone); a pending console.gone
-- fires when the VM still runs.
for _, aid in ipairs(redis.call('SMEMBERS', 'vg:alerts')) do
  local a = redis.call('HMGET', 'vg:alert:' .. aid, 'rule', 'target', 'since_ms', 'state',
                       'project', 'detail')
  if a[1] == 'pool.full' then
    local h = string.match(a[2] or '', '^(.-)/')
    if not hosts[h] or (reporting[h] and not pools_seen[aid]) then
      n = n + alert_clear(aid, now)
    end
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

-- threshold rules
local cmp = {
  ['>'] = function(v, t) return v > t end,
  ['>='] = function(v, t) return v >= t end,
  ['<'] = function(v, t) return v < t end,
  ['<='] = function(v, t) return v <= t end,
}
local rules = redis.call('HGETALL', 'vg:alert:rules')
for i = 1, #rules, 2 do
  local r = cjson.decode(rules[i + 1])
  local names = #r.names > 0 and r.names or
    redis.call('SMEMBERS', r.target == 'vm' and 'vg:vms' or 'vg:hosts')
  for _, name in ipairs(names) do
    local aid = r.name .. ':' .. r.target .. ':' .. name
    local v = tonumber(redis.call('HGET', 'vg:m:' .. r.target .. ':' .. name .. ':latest',
                                  r.metric) or '')
    if v and cmp[r.op](v, r.threshold) then
      n = n + alert_raise({id = aid, rule = r.name, kind = r.target, target = name,
                           project = r.target == 'vm' and vm_project(name) or '', value = v,
                           detail = r.metric .. ' ' .. r.op .. ' ' .. r.threshold},
                          now, r.for_s * 1000)
    elseif redis.call('SISMEMBER', 'vg:alerts', aid) == 1 then
      n = n + alert_clear(aid, now)
    end
  end
end
return n
