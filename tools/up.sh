#!/usr/bin/env bash
# up.sh [--detach] — builds (via setup.sh) and starts a whole local vmgate stack: its own Redis,
# the local libvirt, hostd, the gateway and demo VMs booted from the test guest, then prints the
# URL and the first administrator's password. In the foreground, Ctrl-C or SIGTERM stops it all
# again; --detach returns once the stack is up.
# up.sh --restart redis|libvirtd|libvirtd2|hostd|hostd2|gateway — stops that one component by
# pid and starts it again with the same configuration; the rest of the stack keeps running.
# up.sh --add-vm NAME — defines and starts one more demo VM in the running stack, without
# waiting for it to register (tests measure that).
# up.sh --down (what tools/down.sh runs) — stops what up.sh started, by pid, and destroys and
# undefines the demo VMs it defined.
# Everything lives in VG_STACK_DIR; docs/operations.md lists the layout and the variables.
# VG_LIBVIRT=private gives the stack a libvirtd of its own (the test harness uses it), so its
# VMs are invisible to any other hostd on the machine and the other way round.
# VG_HOSTS=2 adds a second host: its own private libvirtd and hostd, for migration.
# VG_SENTINEL=1 makes Redis highly available as docs/operations.md "Redis high availability"
# describes: the master, one replica (VG_REDIS_REPLICA_PORT) and three Sentinels
# (VG_SENTINEL_PORTS, three ports), all on 127.0.0.1 with AOF fsynced on every write; gateway
# and hostd find the master through the Sentinels.
# Every libvirtd of the stack gets the storage pool `vmgate` (one directory shared by all hosts,
# so a migration copies no disk) and the isolated network `vmgate`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${VG_STACK_DIR:-$repo/.stack}
export VG_GUEST_DIR=${VG_GUEST_DIR:-$stack/guest}
build=${VG_BUILD_DIR:-$repo/build}
redis_port=${VG_REDIS_PORT:-6390}
sentinel=${VG_SENTINEL:-0}
replica_port=${VG_REDIS_REPLICA_PORT:-$((redis_port + 1))}
read -r -a sentinel_ports <<<"${VG_SENTINEL_PORTS:-26390 26391 26392}"
master_name=vmgate
link_port=${VG_LINK_PORT:-7701}
link_bind=${VG_LINK_BIND:-127.0.0.1}
http_port=${VG_HTTP_PORT:-8443}
http_bind=${VG_HTTP_BIND:-0.0.0.0}
host_id=${VG_HOST_ID:-$(hostname)}
demo_vms=${VG_DEMO_VMS-demo1 demo2}
wait_s=${VG_UP_TIMEOUT:-60}

run=$stack/run
log=$stack/log
consoles=$stack/consoles

# A stack that was started with a private libvirtd keeps it for --restart, --add-vm, --down.
lv=$stack/libvirt
libvirt_uri=qemu:///system
if [ "${VG_LIBVIRT:-system}" = private ] || [ -d "$lv" ]; then
    libvirt_uri="qemu:///system?socket=$lv/sock/libvirt-sock"
elif [ "${VG_LIBVIRT:-system}" != system ]; then
    echo "up: VG_LIBVIRT is system or private, not '$VG_LIBVIRT'" >&2
    exit 2
fi

# The second host, with VG_HOSTS=2: always a private libvirtd, whatever VG_LIBVIRT says.
hosts=${VG_HOSTS:-1}
if [[ ! $hosts =~ ^[12]$ ]]; then
    echo "up: VG_HOSTS is 1 or 2, not '$hosts'" >&2
    exit 2
fi
lv2=$stack/libvirt2
libvirt_uri2="qemu:///system?socket=$lv2/sock/libvirt-sock"
link_port2=${VG_LINK_PORT2:-$((link_port + 1))}
# hostd's /metrics (docs/monitoring.md "hostd"), with the gateway's token.
metrics_port=${VG_METRICS_PORT:-$((link_port + 100))}
metrics_port2=${VG_METRICS_PORT2:-$((metrics_port + 1))}
consoles2=$stack/consoles2

# libvirt wants an absolute pool path; the same one in every libvirtd of the stack.
pool_dir=$(realpath -m "$stack/pool")
pool=vmgate
network=vmgate

say() {
    echo "up: $*"
}
die() {
    echo "up: $*" >&2
    exit 1
}
usage() {
    echo "usage: $0 [--detach] | --restart redis|libvirtd|libvirtd2|hostd|hostd2|gateway |" \
        "--add-vm NAME | --down" >&2
    exit 2
}

# A pid file names a live process only if /proc/<pid>/exe is the expected program: pids are
# reused, and PID 1 here reaps orphans lazily, so a zombie (no exe link) must not count.
# Programs are compared by the base name of the real file: Debian's redis-server is a symlink.
alive() { # pidfile program-basename
    local pid exe
    pid=$(cat "$1" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
    exe=${exe% (deleted)}
    [ "${exe##*/}" = "$2" ]
}

redis_exe=$(basename "$(readlink -f "$(command -v redis-server || echo redis-server)")")

stop_pid() { # pidfile program-basename
    local pid
    if ! alive "$1" "$2"; then
        rm -f "$1"
        return 0
    fi
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        alive "$1" "$2" || break
        sleep 0.1
    done
    if alive "$1" "$2"; then
        echo "up: $2 (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

wait_for() { # seconds command...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

secret() { # file: a random token, created once, 0600
    [ -s "$1" ] && return 0
    (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' >"$1")
}

rcli() {
    REDISCLI_AUTH=$(cat "$stack/redis/password") redis-cli -h 127.0.0.1 -p "$redis_port" "$@"
}

redis_up() {
    [ "$(rcli ping 2>/dev/null)" = PONG ]
}

# redis-cli against one of the stack's Sentinels (same password as Redis).
scli() { # port command...
    local port=$1
    shift
    REDISCLI_AUTH=$(cat "$stack/redis/password") redis-cli -h 127.0.0.1 -p "$port" "$@"
}

write_redis_conf() {
    # The password lives in a 0600 config file, never on a command line.
    (
        umask 077
        cat >"$stack/redis/redis.conf" <<EOF
bind 127.0.0.1
port $redis_port
protected-mode yes
requirepass $(cat "$stack/redis/password")
dir $stack/redis
appendonly yes
appendfsync everysec
daemonize yes
pidfile $run/redis.pid
logfile $log/redis.log
EOF
        if [ "$sentinel" = 1 ]; then
            # Every acknowledged write is on disk, and a demoted master can follow the new one.
            sed -i 's/^appendfsync everysec$/appendfsync always/' "$stack/redis/redis.conf"
            echo "masterauth $(cat "$stack/redis/password")" >>"$stack/redis/redis.conf"
        fi
    )
}

# VG_SENTINEL=1: the replica and three Sentinels (docs/operations.md "Redis high availability").
# Sentinels rewrite their configuration files, so each has a directory of its own.
write_sentinel_confs() {
    local pw i
    pw=$(cat "$stack/redis/password")
    (
        umask 077
        mkdir -p "$stack/redis-replica"
        sed -e "s/^port .*/port $replica_port/" -e "s|^dir .*|dir $stack/redis-replica|" \
            -e "s|^pidfile .*|pidfile $run/redis-replica.pid|" \
            -e "s|^logfile .*|logfile $log/redis-replica.log|" \
            "$stack/redis/redis.conf" >"$stack/redis-replica/redis.conf"
        echo "replicaof 127.0.0.1 $redis_port" >>"$stack/redis-replica/redis.conf"
        for i in 1 2 3; do
            mkdir -p "$stack/sentinel$i"
            cat >"$stack/sentinel$i/sentinel.conf" <<EOF
bind 127.0.0.1
port ${sentinel_ports[$((i - 1))]}
protected-mode yes
daemonize yes
dir $stack/sentinel$i
pidfile $run/sentinel$i.pid
logfile $log/sentinel$i.log
requirepass $pw
sentinel sentinel-pass $pw
sentinel monitor $master_name 127.0.0.1 $redis_port 2
sentinel auth-pass $master_name $pw
sentinel down-after-milliseconds $master_name 1000
sentinel failover-timeout $master_name 10000
sentinel parallel-syncs $master_name 1
EOF
        done
    )
}

replica_synced() {
    REDISCLI_AUTH=$(cat "$stack/redis/password") redis-cli -h 127.0.0.1 -p "$replica_port" \
        info replication | grep -q '^master_link_status:up'
}

# A field of SENTINEL MASTER <name> as one Sentinel sees it.
sentinel_field() { # port field
    scli "$1" sentinel master "$master_name" | awk -v f="$2" 'n { print; exit } $0 == f { n = 1 }'
}

# Each Sentinel knows the replica and the two other Sentinels: a failover can be agreed on.
sentinels_agree() {
    local p
    for p in "${sentinel_ports[@]}"; do
        [ "$(sentinel_field "$p" num-other-sentinels)" = 2 ] || return 1
        [ "$(sentinel_field "$p" num-slaves)" = 1 ] || return 1
    done
}

start_sentinels() {
    local i
    if ! alive "$run/redis-replica.pid" "$redis_exe"; then
        find "$stack/redis-replica" -type d -exec chmod 700 {} + -o -type f -exec chmod 600 {} +
        (umask 077 && redis-server "$stack/redis-replica/redis.conf" >/dev/null) ||
            die "the Redis replica failed (see $log/redis-replica.log)"
    fi
    wait_for 20 replica_synced || die "the Redis replica did not sync (see $log/redis-replica.log)"
    for i in 1 2 3; do
        alive "$run/sentinel$i.pid" "$redis_exe" && continue
        (umask 077 && redis-sentinel "$stack/sentinel$i/sentinel.conf" >/dev/null) ||
            die "redis-sentinel $i failed (see $log/sentinel$i.log)"
    done
    wait_for 30 sentinels_agree ||
        die "the Sentinels do not see each other and the replica (see $log/sentinel*.log)"
}

# Redis's files hold password hashes, token hashes and the audit trail: the directory is 0700
# and every file 0600, those of an older stack included. Redis creates its files (RDB, the AOF
# directory and files, its log) under the umask it starts with.
start_redis() {
    alive "$run/redis.pid" "$redis_exe" && return 0
    find "$stack/redis" -type d -exec chmod 700 {} + -o -type f -exec chmod 600 {} +
    [ ! -e "$log/redis.log" ] || chmod 600 "$log/redis.log"
    (umask 077 && redis-server "$stack/redis/redis.conf" >/dev/null) ||
        die "redis-server failed (see $log/redis.log)"
    wait_for 10 redis_up || die "redis on port $redis_port does not answer (see $log/redis.log)"
}

# A second libvirtd (with its virtlogd) in a private mount namespace, as in
# docs/operations.md: a copy of the system's configuration without its domains, pools and
# networks (but `default`), its own socket directory and host uuid (migration between two
# libvirtds needs distinct ones). QEMU's capability cache is copied too, so it does not re-probe.
start_private_libvirt() { # dir
    local d lvd=$1
    if [ ! -d "$lvd/etc" ]; then
        mkdir -p "$lvd"/{sock,run,log}
        cp -a /etc/libvirt "$lvd/etc"
        cp -a /var/lib/libvirt "$lvd/lib"
        cp -a /var/cache/libvirt "$lvd/cache"
        rm -rf "$lvd"/etc/qemu/*.xml "$lvd"/etc/qemu/autostart "$lvd"/etc/storage \
            "$lvd"/etc/qemu/networks/autostart "$lvd"/lib/qemu/domain-*
        for d in "$lvd"/etc/qemu/networks/*.xml; do
            [ "${d##*/}" = default.xml ] || rm -f "$d"
        done
        printf 'unix_sock_dir = "%s"\nhost_uuid = "%s"\n' "$lvd/sock" \
            "$(cat /proc/sys/kernel/random/uuid)" >>"$lvd/etc/libvirtd.conf"
        # Both daemons would otherwise claim the same machine/qemu-<id>-<name> cgroups.
        echo 'cgroup_controllers = [ ]' >>"$lvd/etc/qemu.conf"
    fi
    alive "$lvd/libvirtd.pid" libvirtd && return 0
    # A fresh machine without a running system libvirtd has no /run/libvirt to bind over.
    mkdir -p /run/libvirt
    local binds="" logd=""
    for d in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt \
        cache:/var/cache/libvirt; do
        binds+="mount --bind '$lvd/${d%%:*}' '${d#*:}' && "
    done
    # virtlogd outlives a libvirtd restart (it holds the consoles' logs open); a second one would
    # fail on its pid file. Its socket is in $lvd/run, where the new namespace's libvirtd looks.
    alive "$lvd/virtlogd.pid" virtlogd || logd="/usr/sbin/virtlogd -d -p '$lvd/virtlogd.pid' &&"
    unshare -m --propagation private sh -c "$binds $logd
        /usr/sbin/libvirtd -d -f /etc/libvirt/libvirtd.conf -p '$lvd/libvirtd.pid'" ||
        die "the private libvirtd failed to start (logs: $lvd/log/)"
}

start_libvirt() {
    # Without udev /dev/kvm stays root-only; libvirt then finds its QEMU capability cache
    # stale on every VM start (KVM "not available now") and spends ~5 s re-probing QEMU.
    # Debian's udev rule makes it root:kvm 0660; the guests still run under TCG.
    if [ -c /dev/kvm ] && getent group kvm >/dev/null &&
        [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
        chgrp kvm /dev/kvm && chmod 660 /dev/kvm
    fi
    if [ "$libvirt_uri" != qemu:///system ]; then
        start_private_libvirt "$lv"
    else
        if ! alive /run/virtlogd.pid virtlogd; then
            /usr/sbin/virtlogd -d || die "virtlogd failed to start"
            cat /run/virtlogd.pid >"$run/started-virtlogd"
        fi
        if ! alive /run/libvirtd.pid libvirtd; then
            /usr/sbin/libvirtd -d || die "libvirtd failed to start"
            cat /run/libvirtd.pid >"$run/started-libvirtd"
        fi
    fi
    wait_for 20 virsh -c "$libvirt_uri" uri || die "libvirtd does not answer on $libvirt_uri"
    if [ "$hosts" = 2 ]; then
        start_private_libvirt "$lv2"
        wait_for 20 virsh -c "$libvirt_uri2" uri || die "libvirtd does not answer on $libvirt_uri2"
    fi
}

# The pool's images, made once: an empty 64 MiB qcow2 to base "disk from image" overlays on, and
# a small ISO for CD-ROM tests (its README.TXT says "vmgate tools CD").
make_images() {
    local tmp
    mkdir -p "$pool_dir"
    chmod 755 "$pool_dir"
    if [ ! -s "$pool_dir/base.qcow2" ]; then
        qemu-img create -q -f qcow2 "$pool_dir/base.qcow2.tmp" 64M ||
            die "qemu-img create $pool_dir/base.qcow2 failed"
        mv "$pool_dir/base.qcow2.tmp" "$pool_dir/base.qcow2"
    fi
    if [ ! -s "$pool_dir/tools.iso" ]; then
        tmp=$(mktemp -d "$run/iso.XXXXXX")
        echo "vmgate tools CD" >"$tmp/README.TXT"
        genisoimage -quiet -r -J -V VMGATE_TOOLS -o "$pool_dir/tools.iso.tmp" "$tmp" ||
            die "genisoimage $pool_dir/tools.iso failed"
        rm -rf "$tmp"
        mv "$pool_dir/tools.iso.tmp" "$pool_dir/tools.iso"
    fi
}

# The isolated network's bridge: unique per stack (a hash of its pool path) and host, and short
# enough for libvirt's "<bridge>-nic" helper interface (15 characters).
bridge_name() { # host-index
    printf 'vgb%s%s' "$(printf %s "$pool_dir" | sha256sum | cut -c1-5)" "$1"
}

pool_target() { # uri: the vmgate pool's directory, empty without such a pool
    { virsh -c "$1" pool-dumpxml "$pool" 2>/dev/null || true; } |
        sed -n 's#^ *<path>\(.*\)</path>$#\1#p'
}

vsh() { # uri virsh-arguments...: quiet; virsh's own error goes to stderr
    local uri=$1
    shift
    virsh -q -c "$uri" "$@" >/dev/null || die "virsh $1 failed ($uri)"
}

vfield() { # uri pool-info|net-info name field: one field of virsh's info output
    { virsh -c "$1" "$2" "$3" 2>/dev/null || true; } | awk -v f="$4:" '$1 == f { print $2 }'
}

# Defines and starts the pool and the network in one libvirtd, or checks that the ones there
# are this stack's; another stack's (or a person's) are refused, never taken over.
setup_storage() { # uri host-index
    local uri=$1 br xml have
    br=$(bridge_name "$2")
    have=$(pool_target "$uri")
    if [ -z "$have" ]; then
        vsh "$uri" pool-define-as "$pool" dir --target "$pool_dir"
    elif [ "$have" != "$pool_dir" ]; then
        die "libvirt $uri has a pool named $pool in $have, not this stack's $pool_dir"
    fi
    [ "$(vfield "$uri" pool-info "$pool" State)" = running ] || vsh "$uri" pool-start "$pool"
    vsh "$uri" pool-refresh "$pool"

    have=$(vfield "$uri" net-info "$network" Bridge)
    if [ -z "$have" ]; then
        # No <forward> and no <ip>: isolated, so libvirt runs no dnsmasq and adds no NAT.
        xml=$(mktemp "$run/$network.XXXXXX.xml")
        cat >"$xml" <<EOF
<network>
  <name>$network</name>
  <bridge name='$br' stp='off' delay='0'/>
</network>
EOF
        vsh "$uri" net-define "$xml"
        rm -f "$xml"
    elif [ "$have" != "$br" ]; then
        die "libvirt $uri has a network named $network on bridge $have, not this stack's $br"
    fi
    [ "$(vfield "$uri" net-info "$network" Active)" = yes ] || vsh "$uri" net-start "$network"
}

# Undoes setup_storage where it is this stack's: the bridge would outlive a private libvirtd.
# The pool directory and its volumes stay.
remove_storage() { # uri host-index
    local uri=$1
    virsh -c "$uri" uri >/dev/null 2>&1 || return 0
    if [ "$(vfield "$uri" net-info "$network" Bridge)" = "$(bridge_name "$2")" ]; then
        virsh -q -c "$uri" net-destroy "$network" >/dev/null 2>&1 || true
        virsh -q -c "$uri" net-undefine "$network" >/dev/null 2>&1 || true
    fi
    if [ "$(pool_target "$uri")" = "$pool_dir" ]; then
        virsh -q -c "$uri" pool-destroy "$pool" >/dev/null 2>&1 || true
        virsh -q -c "$uri" pool-undefine "$pool" >/dev/null 2>&1 || true
    fi
}

# Every network of a private libvirtd but `vmgate` (remove_storage's) is the stack's, made by
# network.create or a test: its bridge and dnsmasq would outlive the daemon.
remove_networks() { # uri
    local n
    for n in $(virsh -c "$1" net-list --all --name 2>/dev/null); do
        [ "$n" = "$network" ] && continue
        virsh -q -c "$1" net-destroy "$n" >/dev/null 2>&1 || true
        virsh -q -c "$1" net-undefine "$n" >/dev/null 2>&1 || true
    done
}

hostd_conf() { # host-id libvirt-uri console-dir state-dir link-port metrics-port (redis_ha: write_configs)
    cat <<EOF
# Written by tools/up.sh on every start; options: docs/config-hostd.md
host_id = $1
redis_host = 127.0.0.1
redis_port = $redis_port
redis_password_file = $stack/redis/password
${redis_ha}libvirt_uri = $2
console_dir = $3
state_dir = $4
recording_dir = $4/recordings
pool_roots = $stack/pools
link_bind = $link_bind
link_port = $5
tls_cert = $stack/certs/hostd.pem
tls_key = $stack/certs/hostd.key
tls_ca = $stack/certs/ca.pem
link_secret_file = $stack/link-secret
metrics_bind = $link_bind
metrics_port = $6
metrics_token_file = $stack/metrics-token
scripts_dir = $repo/redis-scripts
log_level = info
EOF
}

write_configs() {
    # The options only VG_SENTINEL=1 sets, one per line, or nothing.
    local redis_ha=
    [ "$sentinel" = 1 ] && redis_ha="redis_sentinels = $(printf '127.0.0.1:%s,' "${sentinel_ports[@]}" | sed 's/,$//')
redis_master_name = $master_name
"
    hostd_conf "$host_id" "$libvirt_uri" "$consoles" "$stack/hostd-state" "$link_port" \
        "$metrics_port" >"$stack/hostd.conf"
    if [ "$hosts" = 2 ]; then
        hostd_conf "$host_id-2" "$libvirt_uri2" "$consoles2" "$stack/hostd2-state" "$link_port2" \
            "$metrics_port2" >"$stack/hostd2.conf"
    else
        # --restart hostd2 must not revive a second host this start did not bring up.
        rm -f "$stack/hostd2.conf"
    fi
    cat >"$stack/gateway.conf" <<EOF
# Written by tools/up.sh on every start; options: docs/config-gateway.md
http_bind = $http_bind
http_port = $http_port
tls_cert = $stack/certs/gateway.pem
tls_key = $stack/certs/gateway.key
tls_ca = $stack/certs/ca.pem
ui_dir = $build/ui
redis_host = 127.0.0.1
redis_port = $redis_port
redis_password_file = $stack/redis/password
${redis_ha}link_secret_file = $stack/link-secret
admin_password_file = $stack/admin-password
metrics_token_file = $stack/metrics-token
boot_dirs = $VG_GUEST_DIR
scripts_dir = $repo/redis-scripts
log_level = info
EOF
}

# The program behind a component: hostd2 is the second host's vmgate-hostd.
program() { # hostd|hostd2|gateway
    echo "vmgate-${1%2}"
}

start_daemon() { # hostd|hostd2|gateway [binary]
    local name=$1 prog
    prog=$(program "$1")
    local bin=${2:-$build/${prog#vmgate-}/$prog}
    alive "$run/$name.pid" "$prog" && return 0
    [ -x "$bin" ] || die "$bin is missing: build the tree (tools/setup.sh) or set VG_BUILD_DIR"
    # The gateway serves the UI the build staged next to it (docs/ui.md).
    [ "$name" != gateway ] || [ -f "$build/ui/index.html" ] ||
        die "$build/ui/index.html is missing: build the tree (tools/setup.sh) to stage the UI"
    # --restart starts the very same binary again, whatever the caller's VG_BUILD_DIR.
    echo "$bin" >"$run/$name.bin"
    # Own session and no inherited stdio: the daemon outlives this script and never holds the
    # caller's pipes open. Sanitizer builds stop at the first error; leaks are not errors here;
    # a small quarantine of freed memory keeps RSS meaningful for the memory-bound tests.
    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:quarantine_size_mb=8 \
        UBSAN_OPTIONS=print_stacktrace=1 \
        setsid "$bin" --config "$stack/$name.conf" </dev/null >>"$log/$name.log" 2>&1 &
    echo $! >"$run/$name.pid"
}

domain_xml() { # name [uuid]: the test guest's spec through hostd's XML generator
    VG_BUILD_DIR=$build "$repo/tools/guest-xml.sh" ${2:+--uuid "$2"} "$1" "$consoles"
}

start_vms() {
    local name uuid xml
    for name in $demo_vms; do
        [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad VM name '$name'"
        uuid=$(virsh -c "$libvirt_uri" domuuid "$name" 2>/dev/null) || uuid=
        uuid=${uuid//[[:space:]]/}
        if [ -n "$uuid" ] && [[ $(virsh -c "$libvirt_uri" dumpxml --inactive "$name") != \
            *"'$consoles/com-$name.sock'"* ]]; then
            die "a domain named $name exists but is not this stack's (its console is not in $consoles)"
        fi
        # Keeping the uuid makes the re-define an update instead of a name clash.
        xml=$(mktemp "$run/$name.XXXXXX.xml")
        domain_xml "$name" "$uuid" >"$xml"
        # Bounded: a libvirtd whose QEMU probe hangs must fail the start, not hold it forever.
        timeout 120 virsh -q -c "$libvirt_uri" define "$xml" >/dev/null ||
            die "virsh define $name failed (logs: $lv/log/)"
        rm -f "$xml"
        grep -qx "$name" "$run/vms" 2>/dev/null || echo "$name" >>"$run/vms"
        if [ "$(virsh -c "$libvirt_uri" domstate "$name")" != running ]; then
            timeout 120 virsh -q -c "$libvirt_uri" start "$name" >/dev/null ||
                die "virsh start $name failed"
        fi
    done
    keep_qemu_caps
}

# On a machine whose own libvirtd never ran there is no QEMU capability cache to copy, and every
# private libvirtd probes QEMU (seconds each, and a probe has been seen to hang). The first
# stack's probe result becomes the cache the next stacks copy.
keep_qemu_caps() {
    local sys=/var/cache/libvirt/qemu/capabilities own=$lv/cache/qemu/capabilities
    [ "$libvirt_uri" != qemu:///system ] || return 0
    compgen -G "$sys/*.xml" >/dev/null && return 0
    compgen -G "$own/*.xml" >/dev/null || return 0
    mkdir -p "$sys" && cp -a "$own"/*.xml "$sys"/ 2>/dev/null || true
}

healthy() {
    local ip=$http_bind
    [ "$ip" = 0.0.0.0 ] && ip=127.0.0.1
    [ "$(curl -fsS --max-time 2 --cacert "$stack/certs/ca.pem" --resolve "localhost:$http_port:$ip" \
        "https://localhost:$http_port/healthz")" = ok ]
}

registered() {
    local name
    for name in $demo_vms; do
        [ "$(rcli sismember vg:vms "$name")" = 1 ] || return 1
    done
}

host_alive() { # host-id
    [ "$(rcli exists "vg:host:$1:alive")" = 1 ]
}

wait_up() {
    if [ "$hosts" = 2 ]; then
        wait_for "$wait_s" host_alive "$host_id-2" || {
            tail -20 "$log/hostd2.log" >&2
            die "the second host $host_id-2 did not register (log: $log/hostd2.log)"
        }
    fi
    wait_for "$wait_s" healthy || {
        tail -20 "$log/gateway.log" >&2
        die "the gateway does not answer https://localhost:$http_port/healthz (log: $log/gateway.log)"
    }
    wait_for "$wait_s" registered || {
        tail -20 "$log/hostd.log" >&2
        die "the VMs ($demo_vms) did not appear in Redis vg:vms (log: $log/hostd.log)"
    }
}

prepare() {
    mkdir -p "$stack" "$run" "$log" "$consoles" "$stack/redis" "$stack/hostd-state"
    # qemu runs as libvirt-qemu and must reach the console directory.
    chmod 755 "$stack" "$consoles"
    if [ "$hosts" = 2 ]; then
        mkdir -p "$consoles2" "$stack/hostd2-state"
        chmod 755 "$consoles2"
    fi
    "$repo/tools/vmgate-ca" stack "$stack/certs"
    secret "$stack/redis/password"
    secret "$stack/link-secret"
    secret "$stack/admin-password"
    # The bearer token Prometheus scrapes /metrics with: 64 hex characters, as session tokens.
    [ -s "$stack/metrics-token" ] ||
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$stack/metrics-token")
    if [ ! -s "$VG_GUEST_DIR/vmlinuz" ] || [ ! -s "$VG_GUEST_DIR/initrd.gz" ]; then
        "$repo/tools/build-guest.sh"
    fi
}

# A restarted hostd finds its host's pool and network as after a full start, unless its
# libvirtd is away (hostd waits for that).
storage_if_up() { # uri host-index
    virsh -c "$1" uri >/dev/null 2>&1 || return 0
    make_images
    setup_storage "$1" "$2"
}

# Restarts the libvirtd of host 1 or 2. A private one is the stack's own; the system's only if
# this stack started it (run/started-libvirtd), never one an operator runs. Its VMs keep running
# (QEMU outlives libvirtd), and hostd reconnects by itself.
restart_libvirtd() { # host-index
    local lvd=$lv uri=$libvirt_uri
    if [ "$1" = 2 ]; then
        [ -d "$lv2" ] || die "the stack in $stack has no second host (VG_HOSTS=2 starts it)"
        lvd=$lv2 uri=$libvirt_uri2
    fi
    if [ "$uri" = qemu:///system ]; then
        [ -f "$run/started-libvirtd" ] ||
            die "libvirtd is the system's, not this stack's: restart it with systemctl"
        stop_pid "$run/started-libvirtd" libvirtd
        start_libvirt
    else
        stop_pid "$lvd/libvirtd.pid" libvirtd
        start_private_libvirt "$lvd"
    fi
    wait_for 20 virsh -c "$uri" uri || die "libvirtd does not answer on $uri"
    storage_if_up "$uri" "$1"
}

restart() { # component
    [ -f "$stack/hostd.conf" ] || die "no stack in $stack (start it with tools/up.sh first)"
    case $1 in
    libvirtd) restart_libvirtd 1 ;;
    libvirtd2) restart_libvirtd 2 ;;
    hostd | hostd2 | gateway)
        [ -f "$stack/$1.conf" ] || die "the stack in $stack has no $1 (VG_HOSTS=2 starts hostd2)"
        stop_pid "$run/$1.pid" "$(program "$1")"
        case $1 in
        hostd) storage_if_up "$libvirt_uri" 1 ;;
        hostd2) storage_if_up "$libvirt_uri2" 2 ;;
        esac
        start_daemon "$1" "$(cat "$run/$1.bin")"
        ;;
    redis)
        # Same configuration as before, whatever this caller's environment says.
        redis_port=$(awk '$1 == "port" { print $2 }' "$stack/redis/redis.conf")
        stop_pid "$run/redis.pid" "$redis_exe"
        start_redis
        ;;
    *) usage ;;
    esac
    say "restarted $1"
}

remove_vm() { # name [uri]
    local uri=${2:-$libvirt_uri}
    # Anything but "shut off" (running, paused, in shutdown ...) still has a QEMU process.
    local state
    state=$(virsh -c "$uri" domstate "$1" 2>/dev/null) || state=
    if [ -n "$state" ] && [ "$state" != "shut off" ]; then
        virsh -q -c "$uri" destroy "$1" >/dev/null || true
    fi
    # --managed-save and --snapshots-metadata: a test may have left either behind.
    virsh -q -c "$uri" undefine "$1" --managed-save --snapshots-metadata >/dev/null 2>&1 ||
        virsh -q -c "$uri" undefine "$1" >/dev/null 2>&1 || true
}

down() {
    local name i
    stop_pid "$run/gateway.pid" vmgate-gateway
    stop_pid "$run/hostd.pid" vmgate-hostd
    stop_pid "$run/hostd2.pid" vmgate-hostd
    if [ -f "$run/vms" ]; then
        while read -r name; do
            remove_vm "$name"
        done <"$run/vms"
        rm -f "$run/vms"
    fi
    # Every domain of a private libvirtd is the stack's, including those a test defined itself;
    # its QEMU processes would outlive the daemon.
    if alive "$lv/libvirtd.pid" libvirtd; then
        for name in $(virsh -c "$libvirt_uri" list --all --name); do
            remove_vm "$name"
        done
        remove_networks "$libvirt_uri"
    fi
    if alive "$lv2/libvirtd.pid" libvirtd; then
        for name in $(virsh -c "$libvirt_uri2" list --all --name); do
            remove_vm "$name" "$libvirt_uri2"
        done
        remove_networks "$libvirt_uri2"
        remove_storage "$libvirt_uri2" 2
    fi
    remove_storage "$libvirt_uri" 1
    # The Sentinels first: they would fail over a master that is only being stopped.
    for i in 1 2 3; do
        stop_pid "$run/sentinel$i.pid" "$redis_exe"
    done
    stop_pid "$run/redis-replica.pid" "$redis_exe"
    stop_pid "$run/redis.pid" "$redis_exe"
    # libvirt's daemons only if this stack started them.
    stop_pid "$run/started-libvirtd" libvirtd
    stop_pid "$run/started-virtlogd" virtlogd
    stop_pid "$lv/libvirtd.pid" libvirtd
    stop_pid "$lv/virtlogd.pid" virtlogd
    stop_pid "$lv2/libvirtd.pid" libvirtd
    stop_pid "$lv2/virtlogd.pid" virtlogd
    say "stopped the stack in $stack"
}

detach=0
case ${1:-} in
"") ;;
--detach) detach=1 ;;
--restart)
    [ $# -eq 2 ] || usage
    restart "$2"
    exit 0
    ;;
--add-vm)
    [ $# -eq 2 ] || usage
    [ -f "$stack/hostd.conf" ] || die "no stack in $stack (start it with tools/up.sh first)"
    demo_vms=$2
    start_vms
    exit 0
    ;;
--down)
    [ $# -eq 1 ] || usage
    down
    exit 0
    ;;
*) usage ;;
esac

[ "$(id -u)" -eq 0 ] || die "run as root (libvirt's system instance and the VMs need it)"
[ "${VG_SKIP_SETUP:-0}" = 1 ] || "$repo/tools/setup.sh"
prepare
write_redis_conf
start_redis
if [ "$sentinel" = 1 ]; then
    write_sentinel_confs
    start_sentinels
fi
start_libvirt
make_images
setup_storage "$libvirt_uri" 1
[ "$hosts" = 2 ] && setup_storage "$libvirt_uri2" 2
write_configs
start_daemon hostd
[ "$hosts" = 2 ] && start_daemon hostd2
start_daemon gateway
start_vms
wait_up

url_host=$http_bind
[ "$http_bind" = 0.0.0.0 ] && url_host=$(hostname)
cat <<EOF
vmgate is up: https://$url_host:$http_port/   (CA certificate: $stack/certs/ca.pem)
  user:     admin
  password: $(cat "$stack/admin-password")
  logs:     $log/
  stop:     VG_STACK_DIR=$stack $repo/tools/down.sh
EOF
if [ "$hosts" = 2 ]; then
    cat <<EOF
  hosts:    $host_id ($libvirt_uri, link port $link_port)
            $host_id-2 ($libvirt_uri2, link port $link_port2)
EOF
fi
[ $detach = 1 ] && exit 0

echo "up: running in the foreground; Ctrl-C stops the stack"
daemons=(hostd gateway)
[ "$hosts" = 2 ] && daemons=(hostd hostd2 gateway)
logs=()
for d in "${daemons[@]}"; do
    logs+=("$log/$d.log")
done
tail -n 0 -F "${logs[@]}" &
tailer=$!
shutdown() { # exit-status
    trap - INT TERM
    kill "$tailer" 2>/dev/null || true
    down
    exit "$1"
}
trap 'shutdown 0' INT TERM
while true; do
    sleep 1 &
    wait $! || true
    for d in "${daemons[@]}"; do
        alive "$run/$d.pid" "$(program "$d")" && continue
        echo "up: $d exited (log: $log/$d.log); stopping the stack" >&2
        shutdown 1
    done
done
