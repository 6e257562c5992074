-- gateway_secgroup_plan.lua: compiles security groups into the nwfilter of every NIC that uses
-- them (secgroup.* after a rule change, vm.create/vm.edit/vm.migrate and secgroup.assign for one
-- VM). docs/networks.md "Security groups" describes the policy.
--
-- ARGV[1] project   ARGV[2] group: only NICs in it ('' any)   ARGV[3] VM ('' none)
-- ARGV[4] host: where ARGV[3] is about to be ('' where the registry or its vmdef says)
-- ARGV[5] '1': only ARGV[3]'s NICs (a migration); '0': every NIC of the project
-- Returns {'ok', JSON {filters: [{host, vm, spec: {name, rules}}]}}: one filter per NIC that has
-- a secgroups list, named vgsg-<MAC without colons> (vg_domspec_secgroup_filter); NICs of VMs
-- with no host yet are left out.
local project, only_group, the_vm, host_for = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local only_vm = ARGV[5] == '1' and the_vm or ''

-- Every NIC of the project's VMs with a secgroups list: {vm, mac, ip, groups}.
local nics = {}
for _, vm in ipairs(redis.call('SMEMBERS', 'vg:project:' .. project .. ':vms')) do
  local ok, spec = pcall(cjson.decode, redis.call('HGET', 'vg:vmdef:' .. vm, 'spec') or '{}')
  for _, n in ipairs(ok and type(spec.nics) == 'table' and spec.nics or {}) do
    if type(n.secgroups) == 'table' and type(n.mac) == 'string' then
      nics[#nics + 1] = {vm = vm, mac = n.mac, ip = n.ip, groups = n.secgroups}
    end
  end
end

local function v6(addr) return string.find(addr, ':', 1, true) ~= nil end
local function member_ips(group)
  local ips = {}
  for _, n in ipairs(nics) do
    for _, g in ipairs(n.groups) do
      if g == group and type(n.ip) == 'string' then ips[#ips + 1] = n.ip end
    end
  end
  return ips
end
local function project_ips()
  local ips = {}
  for _, vm in ipairs(redis.call('SMEMBERS', 'vg:project:' .. project .. ':vms')) do
    local ok, spec = pcall(cjson.decode, redis.call('HGET', 'vg:vmdef:' .. vm, 'spec') or '{}')
    for _, n in ipairs(ok and type(spec.nics) == 'table' and spec.nics or {}) do
      if type(n.ip) == 'string' then ips[#ips + 1] = n.ip end
    end
  end
  return ips
end
local protos = {tcp = {'tcp', 'tcp-ipv6'}, udp = {'udp', 'udp-ipv6'}, icmp = {'icmp', 'icmpv6'},
                any = {'all', 'all-ipv6'}}

local function compile(nic)
  local rules = {
    {action = 'accept', direction = 'inout', protocol = 'arp', priority = 100},
    -- DHCP answers come from the network's own server before any address is known
    {action = 'accept', direction = 'in', protocol = 'udp', port_min = 68, priority = 100},
  }
  local egress = false
  local function allow(dir, proto, r, remote)
    local fam = remote and v6(remote) and 2 or 1
    local rule = {action = 'accept', direction = dir, protocol = protos[proto][fam], priority = 300}
    if r.port_min then rule.port_min = r.port_min; rule.port_max = r.port_max or r.port_min end
    if remote then rule.remote = remote end
    rules[#rules + 1] = rule
    if not remote and proto ~= 'icmp' then
      -- no remote: both address families
      local r6 = {}
      for k, val in pairs(rule) do r6[k] = val end
      r6.protocol = protos[proto][2]
      rules[#rules + 1] = r6
    end
  end
  if #nic.groups == 0 then
    for _, ip in ipairs(project_ips()) do allow('in', 'any', {}, ip) end
  end
  for _, g in ipairs(nic.groups) do
    local ok, grules = pcall(cjson.decode,
      redis.call('HGET', 'vg:secgroup:' .. project .. ':' .. g, 'rules') or '[]')
    for _, r in ipairs(ok and grules or {}) do
      local dir = r.direction == 'egress' and 'out' or 'in'
      egress = egress or dir == 'out'
      local proto = r.protocol or 'any'
      if r.remote_group then
        for _, ip in ipairs(member_ips(r.remote_group)) do allow(dir, proto, r, ip) end
      else
        allow(dir, proto, r, r.remote_cidr)
      end
    end
  end
  if not egress then
    rules[#rules + 1] = {action = 'accept', direction = 'out', protocol = 'all', priority = 200}
    rules[#rules + 1] = {action = 'accept', direction = 'out', protocol = 'all-ipv6', priority = 200}
  else
    rules[#rules + 1] = {action = 'drop', direction = 'out', protocol = 'all', priority = 900}
    rules[#rules + 1] = {action = 'drop', direction = 'out', protocol = 'all-ipv6', priority = 900}
  end
  rules[#rules + 1] = {action = 'drop', direction = 'in', protocol = 'all', priority = 900}
  rules[#rules + 1] = {action = 'drop', direction = 'in', protocol = 'all-ipv6', priority = 900}
  return {name = 'vgsg-' .. string.gsub(nic.mac, ':', ''), rules = rules}
end

local out = {}
for _, n in ipairs(nics) do
  local wanted = only_vm == '' or n.vm == only_vm
  if wanted and only_group ~= '' then
    wanted = false
    for _, g in ipairs(n.groups) do wanted = wanted or g == only_group end
    -- a group named as the remote of another group's rule changes that NIC's filter too
    if not wanted then
      for _, g in ipairs(n.groups) do
        local ok, grules = pcall(cjson.decode,
          redis.call('HGET', 'vg:secgroup:' .. project .. ':' .. g, 'rules') or '[]')
        for _, r in ipairs(ok and grules or {}) do wanted = wanted or r.remote_group == only_group end
      end
    end
  end
  local host = (n.vm == the_vm and host_for ~= '') and host_for or
    redis.call('HGET', 'vg:vm:' .. n.vm, 'host') or redis.call('HGET', 'vg:vmdef:' .. n.vm, 'host')
  if wanted and host and host ~= '' then
    out[#out + 1] = {host = host, vm = n.vm, spec = compile(n)}
  end
end
return {'ok', cjson.encode({filters = out})}
