-- gateway_vm_list.lua: one page of the VMs a user may see, with their host's liveness, their
-- consoles and their project (gateway, method vm.list). One script reads one consistent
-- registry instead of a snapshot torn by a concurrent hostd_sync.lua, in one round trip.
--
-- It never walks the fleet: it reads the name indexes (sorted sets, all scores 0, so ordered by
-- name) of the narrowest thing the filters name — the environment's VMs, the host's
-- (vg:host:<h>:vms:byname), the project's (vg:project:<p>:vms:byname), the caller's projects', or
-- for an administrator every registered VM (vg:vms:byname) — from just after the cursor, and
-- examines at most 2 * limit + 100 of them, so its work is bounded by the page, not the fleet.
--
-- ARGV[1] user name
-- ARGV[2] '1' when the user is an administrator (sees every VM, also those of no project)
-- ARGV[3] page size   ARGV[4] cursor: '' for the first page, else the previous page's next
-- ARGV[5] project   ARGV[6] host   ARGV[7] state   ARGV[8] environment   ARGV[9] name prefix
--         ('' = any)
-- Returns {{{name, uuid, host, state, host_up (0|1), {dev, ...} sorted, project}, ...}, next}
-- where next is the cursor of the following page, or false when the list is complete.
local user, admin = ARGV[1], ARGV[2] == '1'
local limit, cursor = tonumber(ARGV[3]), ARGV[4]
local fproject, fhost, fstate, fenv, prefix = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local member = admin and {} or user_active_projects(user)
local budget = 2 * limit + 100

-- Byte order, the order of ZRANGEBYLEX (Lua's < compares by the server's locale).
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- The sorted index of a set of VM names: kept by the scripts that write the set, and rebuilt
-- here when its size differs from the set's (a registry written before the index existed).
local function byname(set)
  local idx = set .. ':byname'
  local n = redis.call('SCARD', set)
  if redis.call('ZCARD', idx) ~= n then
    redis.call('DEL', idx)
    local args = {}
    for _, vm in ipairs(redis.call('SMEMBERS', set)) do
      args[#args + 1] = 0
      args[#args + 1] = vm
      if #args >= 2000 then
        redis.call('ZADD', idx, unpack(args))
        args = {}
      end
    end
    if #args > 0 then redis.call('ZADD', idx, unpack(args)) end
  end
  return idx
end

local indexes, listed = {}, nil
if fenv ~= '' then
  local p = redis.call('HGET', 'vg:env:' .. fenv, 'project')
  listed = {}
  if p and (admin or member[p]) then
    listed = redis.call('HKEYS', 'vg:env:' .. fenv .. ':vms')
    table.sort(listed, before)
  end
elseif fhost ~= '' then
  indexes[1] = byname('vg:host:' .. fhost .. ':vms')
elseif fproject ~= '' then
  if admin or member[fproject] then indexes[1] = byname('vg:project:' .. fproject .. ':vms') end
elseif admin then
  indexes[1] = byname('vg:vms')
else
  for p in pairs(member) do indexes[#indexes + 1] = byname('vg:project:' .. p .. ':vms') end
end

local function has_prefix(name)
  return string.sub(name, 1, #prefix) == prefix
end

-- Up to n candidate names after `after` (and with the prefix), in name order.
local function fetch(after, n)
  local out = {}
  if listed then
    for _, name in ipairs(listed) do
      if before(after, name) and has_prefix(name) then
        out[#out + 1] = name
        if #out == n then break end
      end
    end
    return out
  end
  local min = (after ~= '' and not before(after, prefix)) and '(' .. after or
                  (prefix ~= '' and '[' .. prefix or '-')
  local max = prefix ~= '' and '(' .. prefix .. '\255' or '+'
  -- Each index answers in byte order already: one is the page as it is, several are merged
  -- (table.sort with before() took ~20 ms for 1,000 names, most of a page's time).
  local lists, at = {}, {}
  for i, idx in ipairs(indexes) do
    lists[i] = redis.call('ZRANGEBYLEX', idx, min, max, 'LIMIT', 0, n)
    at[i] = 1
  end
  if #lists == 1 then return lists[1] end
  while #out < n do
    local best
    for i, l in ipairs(lists) do
      local name = l[at[i]]
      if name and (not best or before(name, lists[best][at[best]])) then best = i end
    end
    if not best then break end
    local name = lists[best][at[best]]
    -- A VM is in one project, but a name seen twice is listed once all the same.
    for i, l in ipairs(lists) do
      if l[at[i]] == name then at[i] = at[i] + 1 end
    end
    out[#out + 1] = name
  end
  return out
end

-- Each host's liveness is read once per page: its VMs share it.
local alive = {}
local function host_up(h)
  if h == '' then return 0 end
  if alive[h] == nil then alive[h] = redis.call('EXISTS', 'vg:host:' .. h .. ':alive') end
  return alive[h]
end

local function split_devs(s)
  local out = {}
  for dev in string.gmatch(s, '[^,]+') do out[#out + 1] = dev end
  return out
end

-- Two reads per row: the definition, and the VM with its sorted device names (devs, written by
-- hostd_sync.lua; a record written before that field existed has its consoles hash read).
local function row(name)
  local d = redis.call('HMGET', 'vg:vmdef:' .. name, 'project', 'env')
  local project = d[1] or ''
  if not (admin or member[project]) then return nil end
  if (fproject ~= '' and project ~= fproject) or (fenv ~= '' and d[2] ~= fenv) then return nil end
  local f = redis.call('HMGET', 'vg:vm:' .. name, 'uuid', 'host', 'state', 'devs')
  -- A definition no host has registered yet is not listed.
  if not f[2] then return nil end
  local state = f[3] or 'unknown'
  if (fhost ~= '' and f[2] ~= fhost) or (fstate ~= '' and state ~= fstate) then return nil end
  local cons
  if f[4] then
    cons = split_devs(f[4])
  else
    cons = redis.call('HKEYS', 'vg:vm:' .. name .. ':consoles')
    table.sort(cons)
  end
  return {name, f[1] or '', f[2], state, host_up(f[2]), cons, project}
end

local rows, after, scanned, done = {}, cursor, 0, false
while #rows < limit and scanned < budget do
  local n = math.min(limit - #rows, budget - scanned)
  local batch = fetch(after, n)
  for _, name in ipairs(batch) do
    scanned = scanned + 1
    after = name
    local r = row(name)
    if r then rows[#rows + 1] = r end
  end
  if #batch < n then
    done = true
    break
  end
end
local more = false
if not done and #fetch(after, 1) > 0 then more = after end
return {rows, more}
