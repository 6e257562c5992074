-- gateway_alert_rule.lua: the threshold rules of vg:alert:rules (alert.rule.*).
--
-- ARGV[1] 'list', 'create' or 'delete'
-- ARGV[2] the rule's name (create, delete)
-- ARGV[3] create: the rule as JSON {name, metric, target, names, op, threshold, for_s}
-- ARGV[4] now, milliseconds since the epoch
-- Returns {'ok', JSON}: list {"rules": [rule, ...]} by name, create the rule, delete {}; or
-- {'conflict', msg} (name taken, or a built-in rule's), {'not_found', msg}.
local op, name, now = ARGV[1], ARGV[2], tonumber(ARGV[4])
local BUILTIN = {['host.down'] = true, ['vm.crashed'] = true, ['console.gone'] = true,
                 ['pool.full'] = true}
if op == 'list' then
  local rules = {}
  for _, v in ipairs(redis.call('HVALS', 'vg:alert:rules')) do
    rules[#rules + 1] = cjson.decode(v)
  end
  table.sort(rules, function(x, y) return x.name < y.name end)
  return {'ok', cjson.encode({rules = rules})}
elseif op == 'create' then
  if BUILTIN[name] then
    return {'conflict', name .. ' is a built-in rule'}
  end
  local r = cjson.decode(ARGV[3])
  r.created_ms = now
  if redis.call('HSETNX', 'vg:alert:rules', name, cjson.encode(r)) == 0 then
    return {'conflict', 'alert rule ' .. name .. ' exists'}
  end
  return {'ok', cjson.encode(r)}
end
if redis.call('HDEL', 'vg:alert:rules', name) == 0 then
  return {'not_found', 'unknown alert rule ' .. name}
end
-- Its alerts end with it: the firing ones are resolved.
for _, id in ipairs(redis.call('SMEMBERS', 'vg:alerts')) do
  if redis.call('HGET', 'vg:alert:' .. id, 'rule') == name then
    alert_clear(id, now)
  end
end
return {'ok', '{}'}
