-- gateway_user_get.lua: users as the API shows them (gateway, methods user.list and user.get):
-- never the password hash.
--
-- ARGV[1] a user name, or '' for every user
-- Returns {'ok', {{name, role, frozen, created_ms, description, {project, role, ...}}, ...}}
-- sorted by name, or {'not_found', message} for an unknown name.
local names
if ARGV[1] ~= '' then
  if redis.call('EXISTS', 'vg:user:' .. ARGV[1]) == 0 then
    return {'not_found', 'no user named ' .. ARGV[1]}
  end
  names = {ARGV[1]}
else
  names = redis.call('SMEMBERS', 'vg:users')
  table.sort(names)
end
local out = {}
for _, n in ipairs(names) do
  local f = redis.call('HMGET', 'vg:user:' .. n, 'role', 'frozen', 'created_ms', 'description')
  if f[1] then
    local projects = redis.call('SMEMBERS', 'vg:user:' .. n .. ':projects')
    table.sort(projects)
    local pr = {}
    for _, p in ipairs(projects) do
      local r = redis.call('HGET', 'vg:project:' .. p .. ':members', n)
      if r then
        pr[#pr + 1] = p
        pr[#pr + 1] = r
      end
    end
    out[#out + 1] = {n, f[1], f[2] or '0', f[3] or '0', f[4] or '', pr}
  end
end
return {'ok', out}
