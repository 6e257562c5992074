-- gateway_notice.lua: operator notices (C11, docs/api.md "Notices", gateway/api/methods/
-- api_notice.c). A notice is text shown to everyone who may see its scope (one VM, one project,
-- everything) until it expires or is cancelled; it never reaches a guest. The permission rules,
-- the audit record (kind notice) and the event (vg:events, routed by apiws.c with the VM's and
-- project's names it carries) are written here, in the same step as the state they describe.
--
-- ARGV[1] op: send, list, get, ack, cancel
-- ARGV[2] caller, ARGV[3] the caller's own role, ARGV[4] now (ms), ARGV[5] the caller's address
-- send:   ARGV[6] scope (vm|project|all), ARGV[7] target ("" for all), ARGV[8] level,
--         ARGV[9] text, ARGV[10] ttl_s, ARGV[11] require_ack ('1'/'0'), ARGV[12] per-user limit
-- list:   ARGV[6] only those that apply to this VM (""), ARGV[7] only this scope ("")
-- get, ack, cancel: ARGV[6] id
-- Returns {'ok', JSON} (see docs/api.md) or {'<code>', '<message>'}.
local op, user, role, now, addr = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local admin = role == 'admin'
local member = admin and {} or user_active_projects(user)

redis.call('ZREMRANGEBYSCORE', 'vg:notices', '-inf', now)

-- The caller's effective role in project p: admin for administrators, else the membership
-- capped by their own role (gateway/core/authz.c), '' outside the active projects.
local function prole(p)
  if admin then
    return 'admin'
  end
  if p == '' or not member[p] then
    return ''
  end
  local m = redis.call('HGET', 'vg:project:' .. p .. ':members', user) or ''
  if m == 'operator' and role == 'operator' then
    return 'operator'
  end
  return m ~= '' and 'viewer' or ''
end

local function load(id)
  if not id:match('^%d+$') then
    return nil
  end
  local f = redis.call('HGETALL', 'vg:notice:' .. id)
  if #f == 0 then
    return nil
  end
  local n = {}
  for i = 1, #f, 2 do
    n[f[i]] = f[i + 1]
  end
  return n
end

local function visible(n)
  return admin or n.scope == 'all' or (n.project ~= '' and member[n.project] == true)
end

-- Who may cancel it and read its acknowledgements: its sender, administrators and the operators
-- of its project.
local function manages(n)
  return admin or n.sender == user or (n.scope ~= 'all' and prole(n.project) == 'operator')
end

local function view(n)
  local acked = redis.call('HGET', 'vg:notice:' .. n.id .. ':acks', user)
  local v = {id = tonumber(n.id), scope = n.scope, target = n.target, project = n.project,
             level = n.level, text = n.text, sender = n.sender,
             created_ms = tonumber(n.created_ms), expires_ms = tonumber(n.expires_ms),
             require_ack = n.require_ack == '1',
             acked_ms = acked and tonumber(acked) or cjson.null,
             ack_count = redis.call('HLEN', 'vg:notice:' .. n.id .. ':acks')}
  return v
end

local function audit(method, n, detail)
  redis.call('XADD', 'vg:audit', '*', 'ts', tostring(now), 'kind', 'notice', 'user', user,
             'addr', addr, 'method', method, 'vm', n.scope == 'vm' and n.target or '',
             'project', n.project, 'result', 'ok', 'detail', 'id=' .. n.id .. ' ' .. detail)
end

-- The event names the VM and project so that apiws.c delivers it to those who may see them; a
-- notice to everyone names neither.
local function publish(kind, n, extra)
  local ev = extra or {}
  ev.type, ev.id, ev.scope, ev.target, ev.ts = kind, tonumber(n.id), n.scope, n.target, now
  if n.scope ~= 'all' then
    ev.project = n.project
  end
  if n.scope == 'vm' then
    ev.vm = n.target
  end
  redis.call('PUBLISH', 'vg:events', cjson.encode(ev))
end

if op == 'send' then
  local scope, target, level, text = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
  local ttl, ack, limit = tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12])
  local project = ''
  if scope == 'all' then
    if not admin then
      return {'forbidden', 'notice.send: only administrators send notices to everyone'}
    end
  elseif scope == 'project' then
    if redis.call('EXISTS', 'vg:project:' .. target) == 0 or (not admin and not member[target]) then
      return {'not_found', 'project ' .. target .. ' not found'}
    end
    project = target
  else
    if redis.call('EXISTS', 'vg:vm:' .. target, 'vg:vmdef:' .. target) == 0 then
      return {'not_found', 'VM ' .. target .. ' not found'}
    end
    project = redis.call('HGET', 'vg:vmdef:' .. target, 'project') or ''
    if not admin and (project == '' or not member[project]) then
      return {'not_found', 'VM ' .. target .. ' not found'}
    end
  end
  if scope ~= 'all' and prole(project) ~= 'operator' and prole(project) ~= 'admin' then
    return {'forbidden', 'notice.send: sending a notice to ' .. scope .. ' ' .. target ..
            ' needs the operator role in project ' .. project}
  end
  local mine = 0
  for _, id in ipairs(redis.call('ZRANGE', 'vg:notices', 0, -1)) do
    if redis.call('HGET', 'vg:notice:' .. id, 'sender') == user then
      mine = mine + 1
    end
  end
  if mine >= limit then
    return {'conflict', 'notice.send: you have ' .. mine .. ' live notices, the most one user ' ..
            'may have; cancel one first'}
  end
  local id = tostring(redis.call('INCR', 'vg:notice:seq'))
  local expires = now + ttl * 1000
  local n = {id = id, scope = scope, target = target, project = project, level = level,
             text = text, sender = user, created_ms = tostring(now),
             expires_ms = tostring(expires), require_ack = ack}
  local key = 'vg:notice:' .. id
  for k, v in pairs(n) do
    redis.call('HSET', key, k, v)
  end
  redis.call('PEXPIREAT', key, expires)
  redis.call('ZADD', 'vg:notices', expires, id)
  -- The record keeps the first 200 bytes, cut at a character's start.
  local head = #text > 200 and string.sub(text, 1, 200):gsub('[\192-\255][\128-\191]*$', '') or
      text
  audit('notice.send', n, 'scope=' .. scope .. (target ~= '' and ' target=' .. target or '') ..
        ' level=' .. level .. ' ttl_s=' .. ttl .. ' require_ack=' .. ack .. ' text=' .. head)
  local v = view(n)
  publish('notice.sent', n, {level = level, text = text, sender = user, created_ms = now,
                             expires_ms = expires, require_ack = ack == '1'})
  return {'ok', cjson.encode(v)}
end

if op == 'list' then
  local vm, scope = ARGV[6], ARGV[7]
  local vm_project
  if vm ~= '' then
    if redis.call('EXISTS', 'vg:vm:' .. vm, 'vg:vmdef:' .. vm) == 0 then
      return {'not_found', 'VM ' .. vm .. ' not found'}
    end
    vm_project = redis.call('HGET', 'vg:vmdef:' .. vm, 'project') or ''
    if not admin and (vm_project == '' or not member[vm_project]) then
      return {'not_found', 'VM ' .. vm .. ' not found'}
    end
  end
  local out = {}
  for _, id in ipairs(redis.call('ZRANGE', 'vg:notices', 0, -1)) do
    local n = load(id)
    if n and visible(n) and (scope == '' or n.scope == scope) and
        (vm == '' or n.scope == 'all' or (n.scope == 'vm' and n.target == vm) or
         (n.scope == 'project' and n.target == vm_project)) then
      out[#out + 1] = view(n)
    end
  end
  table.sort(out, function(a, b) return a.id < b.id end)
  return {'ok', cjson.encode({notices = out})}
end

local id = ARGV[6]
local n = load(id)
if not n or not visible(n) then
  return {'not_found', 'notice ' .. id .. ' not found (it may have expired)'}
end

if op == 'get' then
  local v = view(n)
  if manages(n) then
    local acks = {}
    local f = redis.call('HGETALL', 'vg:notice:' .. id .. ':acks')
    for i = 1, #f, 2 do
      acks[#acks + 1] = {user = f[i], ts = tonumber(f[i + 1])}
    end
    table.sort(acks, function(a, b) return a.ts < b.ts or (a.ts == b.ts and a.user < b.user) end)
    v.acks = acks
  end
  return {'ok', cjson.encode(v)}
end

if op == 'ack' then
  local key = 'vg:notice:' .. id .. ':acks'
  local first = redis.call('HSETNX', key, user, tostring(now)) == 1
  if first then
    redis.call('PEXPIREAT', key, tonumber(n.expires_ms))
    audit('notice.ack', n, 'acknowledged')
    publish('notice.acked', n, {user = user})
  end
  local v = view(n)
  v.already = not first
  return {'ok', cjson.encode(v)}
end

if op == 'cancel' then
  if not manages(n) then
    return {'forbidden', 'notice.cancel: only its sender, administrators and the operators of ' ..
            'project ' .. n.project .. ' cancel notice ' .. id}
  end
  redis.call('DEL', 'vg:notice:' .. id, 'vg:notice:' .. id .. ':acks')
  redis.call('ZREM', 'vg:notices', id)
  audit('notice.cancel', n, 'cancelled')
  publish('notice.cancelled', n, {user = user})
  return {'ok', cjson.encode({id = tonumber(id), cancelled = true})}
end

return {'bad_request', 'unknown notice operation ' .. op}
