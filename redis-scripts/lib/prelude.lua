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
