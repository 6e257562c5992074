#!/usr/bin/env bash
# tools/bench/run.sh [--quick] [bench...] — runs the vmgate benchmarks side by side with
# websockify, ttyd and the direct unix-socket limit, then prints the results as Markdown tables
# (method and interpretation: docs/performance.md).
#
# benches: memory attach echo throughput volume scale-fanout scale-consoles scale-echo scale-idle
# echo-flood (default: all, in that order). volume: upload and download of a 512 MiB volume
# through the gateway and with virsh alone, and the latency of a hostd RPC (volume.mjs). A daemon that dies during a bench is recorded and
# restarted. echo-flood times vmgate's echo without, then with a
# login flood (--flood-clients, default 8). The scale-* benches (scale.mjs) hold up to 10,000
# viewers and 1,000 synthetic consoles. --quick runs each for a few seconds only (a smoke test
# of the scripts, not a measurement).
#
# ttyd (1.7.7, MIT) is built from its source tarball, ../shared/reference/ttyd-*.tar.gz beside
# the repository (VG_TTYD_TARBALL picks another), into VG_BUILD_DIR/ttyd when missing; it needs
# libuv1-dev libjson-c-dev zlib1g-dev (tools/setup.sh installs them). It serves on +503 (the raw
# guest) and +504 (the fast source), on 127.0.0.1 only.
#
# VG_BENCH_IDLE_TARGETS narrows scale-idle to some of "vmgate websockify ttyd" (all by default:
# the proxies' steps take most of its time); VG_BENCH_IDLE_COUNTS replaces its vmgate steps
# (default "1000 2500 5000 10000").
#
# It starts a private stack (tools/up.sh with its own libvirtd, Redis, hostd and gateway) in
# VG_BENCH_DIR (default /tmp/vgt-bench-stack) on ports VG_BENCH_PORT+390/443/701 and websockify
# on +501/+502 (default base 23000), boots two TCG guests — vgt-bench-gw (hostd manages it) and
# vgt-bench-raw (outside hostd's vm_filter, for the direct client, websockify and ttyd) — and tears
# everything down again on exit. Needs root, a Release build in VG_BUILD_DIR (default
# <repo>/build-bench, configured and built when missing), websockify, socat and node with
# tests/node_modules. It raises its open-file limit to the hard limit (the daemons inherit it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench=$repo/tools/bench
build=${VG_BUILD_DIR:-$repo/build-bench}
stack=${VG_BENCH_DIR:-/tmp/vgt-bench-stack}
base=${VG_BENCH_PORT:-23000}
redis_port=$((base + 390))
http_port=$((base + 443))
link_port=$((base + 701))
wsk_raw=$((base + 501))
wsk_src=$((base + 502))
ttyd_raw=$((base + 503))
ttyd_src=$((base + 504))
ttyd_tarball=${VG_TTYD_TARBALL:-$repo/../shared/reference/ttyd-1.7.7-22-g647d55a.tar.gz}
ttyd=$build/ttyd/build/ttyd
url=https://127.0.0.1:$http_port
ca=$stack/certs/ca.pem
raw=vgt-bench-raw
gw=vgt-bench-gw
src=vgt-bench-src
out=$stack/results.jsonl

quick=0
flood_clients=8
benches=()
for a in "$@"; do
    case $a in
    --quick) quick=1 ;;
    echo | throughput | volume | memory | attach | echo-flood | scale-idle | scale-consoles | scale-fanout | scale-echo) benches+=("$a") ;;
    --flood-clients=*) flood_clients=${a#*=} ;;
    *)
        echo "usage: $0 [--quick] [--flood-clients=N] [echo|throughput|volume|memory|attach|echo-flood|scale-idle|scale-consoles|scale-fanout|scale-echo]..." >&2
        exit 2
        ;;
    esac
done
# Memory first: the throughput runs leave grown (reusable) heaps behind in the daemons.
# scale-idle late: it pushes today's gateway past what it survives (docs/performance.md).
[ ${#benches[@]} -gt 0 ] || benches=(memory attach echo throughput volume scale-fanout scale-consoles scale-echo scale-idle echo-flood)

say() { echo "bench: $*" >&2; }

# ttyd for the third path, built from its source tarball (neither is ever kept in this repository).
build_ttyd() {
    [ -x "$ttyd" ] && return 0
    if [ ! -f "$ttyd_tarball" ]; then
        echo "bench: the ttyd source $ttyd_tarball is missing (VG_TTYD_TARBALL names another)" >&2
        exit 1
    fi
    say "building ttyd in $build/ttyd"
    rm -rf "$build/ttyd"
    mkdir -p "$build/ttyd/src"
    tar -xzf "$ttyd_tarball" -C "$build/ttyd/src" --strip-components=1
    # ttyd's CMake asks git for its version; GIT_DIR keeps it from finding this repository's.
    if ! { GIT_DIR=/nonexistent cmake -S "$build/ttyd/src" -B "$build/ttyd/build" -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$build/ttyd/build" -j2; } >"$build/ttyd/build.log" 2>&1; then
        tail -20 "$build/ttyd/build.log" >&2
        echo "bench: building ttyd failed (needs libuv1-dev libjson-c-dev zlib1g-dev; log: $build/ttyd/build.log)" >&2
        exit 1
    fi
}

wait_port() { # port: until something listens on 127.0.0.1:port, at most 10 s
    local i
    for i in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "bench: nothing listens on port $1" >&2
    exit 1
}

export VG_STACK_DIR=$stack VG_SKIP_SETUP=1 VG_BUILD_DIR=$build VG_HTTP_BIND=127.0.0.1 \
    VG_HTTP_PORT=$http_port VG_LINK_PORT=$link_port VG_REDIS_PORT=$redis_port \
    VG_LIBVIRT=private VG_DEMO_VMS=$gw VG_GUEST_DIR=${VG_GUEST_DIR:-$repo/.stack/guest}
virsh_uri="qemu:///system?socket=$stack/libvirt/sock/libvirt-sock"

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    if [ -f "$stack/hostd.conf" ]; then
        "$repo/tools/up.sh" --down >&2 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$build/hostd/vmgate-hostd" ] || [ ! -x "$build/gateway/vmgate-gateway" ] ||
    [ ! -x "$build/tools/domxml/vmgate-domxml" ]; then
    say "building Release binaries in $build"
    cmake -S "$repo" -B "$build" -DVG_WERROR=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$build" --target vmgate-hostd vmgate-gateway vmgate-domxml >/dev/null
fi
command -v websockify >/dev/null || {
    echo "bench: websockify is missing (apt-get install websockify)" >&2
    exit 1
}
command -v socat >/dev/null || {
    echo "bench: socat is missing (apt-get install socat)" >&2
    exit 1
}
build_ttyd
# 10,000 viewers: the gateway holds two sockets per viewer today (browser and link), hostd one,
# the benchmark's clients one each; all of them inherit this limit.
ulimit -n "$(ulimit -Hn)"

say "starting the stack in $stack"
rm -f "$out"
"$repo/tools/up.sh" --detach >&2
# The raw guest and the fast source must stay out of this hostd's hands except where wanted.
echo "vm_filter = $gw,$src,vgt-scale-*" >>"$stack/hostd.conf"
"$repo/tools/up.sh" --restart hostd >&2

# The guest for the direct client and websockify: same image and shape as the stack's, with its
# console sockets outside hostd's console_dir.
mkdir -p "$stack/raw" "$stack/src"
chmod 755 "$stack/raw"
"$repo/tools/guest-xml.sh" "$raw" "$stack/raw" >"$stack/raw/$raw.xml"
virsh -q -c "$virsh_uri" define "$stack/raw/$raw.xml" >/dev/null
virsh -q -c "$virsh_uri" start "$raw" >/dev/null

websockify --cert="$stack/certs/gateway.pem" --key="$stack/certs/gateway.key" --ssl-only \
    --unix-target="$stack/raw/com-$raw.sock" "127.0.0.1:$wsk_raw" >"$stack/log/websockify-raw.log" 2>&1 &
pids+=($!)
websockify --cert="$stack/certs/gateway.pem" --key="$stack/certs/gateway.key" --ssl-only \
    --unix-target="$stack/src/com-$src.sock" "127.0.0.1:$wsk_src" >"$stack/log/websockify-src.log" 2>&1 &
wsk_src_pid=$!
pids+=("$wsk_src_pid")
# ttyd runs its command on a pty, once per client: `-,rawer` keeps that pty from echoing input
# and from line-buffering it, so the bytes are the console's own, as through the other paths.
"$ttyd" -i 127.0.0.1 -p "$ttyd_raw" -S -C "$stack/certs/gateway.pem" -K "$stack/certs/gateway.key" -W \
    socat -,rawer "UNIX-CONNECT:$stack/raw/com-$raw.sock" >"$stack/log/ttyd-raw.log" 2>&1 &
pids+=($!)
"$ttyd" -i 127.0.0.1 -p "$ttyd_src" -S -C "$stack/certs/gateway.pem" -K "$stack/certs/gateway.key" -W \
    socat -,rawer "UNIX-CONNECT:$stack/src/com-$src.sock" >"$stack/log/ttyd-src.log" 2>&1 &
ttyd_src_pid=$!
pids+=("$ttyd_src_pid")
wait_port "$ttyd_raw"
wait_port "$ttyd_src"

gwpid=$(cat "$stack/run/gateway.pid")
hostdpid=$(cat "$stack/run/hostd.pid")
pw=$stack/admin-password
vg=(--url="$url" --ca="$ca" --password-file="$pw")

if [ $quick = 1 ]; then
    n_echo=10 secs=1 viewers="1 3" idle="0 5 20" wsk_idle="0 3" rates="5" rate_viewers="1" n_attach=10 n_api=20 vol_mb=16
    s_idle="20 50" s_proxy_idle="5 10" s_consoles=20 s_fanout=5 s_elsewhere=20 s_probes=5
else
    n_echo=200 secs=10 viewers="1 10 50" idle="0 100 500" wsk_idle="0 10 50" rates="2 5 10 20" rate_viewers="1 10" n_attach=100 n_api=500 vol_mb=512
    s_idle=${VG_BENCH_IDLE_COUNTS:-1000 2500 5000 10000} s_proxy_idle="100 1000" s_consoles=1000 s_fanout=100 s_elsewhere=1000 s_probes=50
fi

# One benchmark; a failing one is reported and the others still run.
run_bench() {
    local scale=(node "$bench/scale.mjs" "${vg[@]}" --dir="$stack" --consoles="$stack/consoles" --vm=$src
        --seconds=$secs --gateway-pid="$gwpid" --hostd-pid="$hostdpid" --wsk="wss://127.0.0.1:$wsk_src/"
        --wsk-pid="$wsk_src_pid" --ttyd="https://127.0.0.1:$ttyd_src/" --ttyd-pid="$ttyd_src_pid")
    case $1 in
    echo)
        for load in 0 1; do
            say "echo latency, load=$load"
            {
                node "$bench/echo.mjs" --target=direct --sock="$stack/raw/com-$raw.sock" --n=$n_echo --load=$load
                node "$bench/echo.mjs" --target=websockify --url="wss://127.0.0.1:$wsk_raw/" --ca="$ca" \
                    --n=$n_echo --load=$load
                node "$bench/echo.mjs" --target=ttyd --url="https://127.0.0.1:$ttyd_raw/" --ca="$ca" \
                    --n=$n_echo --load=$load
                node "$bench/echo.mjs" --target=vmgate "${vg[@]}" --vm=$gw --n=$n_echo --load=$load
            } >>"$out"
        done
        ;;
    echo-flood)
        # Back to back, so both rows see the same machine.
        say "echo latency without and with a login flood of $flood_clients clients"
        {
            node "$bench/echo.mjs" --target=vmgate "${vg[@]}" --vm=$gw --n=$n_echo
            node "$bench/echo.mjs" --target=vmgate "${vg[@]}" --vm=$gw --n=$n_echo --flood="$flood_clients"
        } >>"$out"
        ;;
    throughput)
        say "throughput: $viewers viewers, ${secs} s each"
        node "$bench/throughput.mjs" "${vg[@]}" --dir="$stack" --vm=$src --consoles="$stack/consoles" \
            --wsk="wss://127.0.0.1:$wsk_src/" --wsk-pid="$wsk_src_pid" --ttyd="https://127.0.0.1:$ttyd_src/" \
            --ttyd-pid="$ttyd_src_pid" --viewers="$viewers" --seconds=$secs \
            --gateway-pid="$gwpid" --hostd-pid="$hostdpid" >>"$out"
        say "throughput without loss: vmgate at $rates MB/s"
        node "$bench/throughput.mjs" "${vg[@]}" --dir="$stack" --vm=$src --consoles="$stack/consoles" \
            --viewers="$rate_viewers" --seconds=$secs --gateway-pid="$gwpid" --hostd-pid="$hostdpid" \
            --targets=vmgate --rates="$rates" >>"$out"
        ;;
    volume)
        say "volume transfers: $vol_mb MiB up and down, through vmgate and with virsh"
        node "$bench/volume.mjs" "${vg[@]}" --pool=vmgate --size-mb=$vol_mb --virsh-uri="$virsh_uri" \
            --gateway-pid="$gwpid" --hostd-pid="$hostdpid" --n-rpc=$n_api >>"$out"
        ;;
    memory)
        say "memory: $idle idle viewers"
        node "$bench/viewers.mjs" --what=memory "${vg[@]}" --vm=$gw --counts="$idle" \
            --gateway-pid="$gwpid" --hostd-pid="$hostdpid" --wsk-url="wss://127.0.0.1:$wsk_src/" \
            --wsk-pid="$wsk_src_pid" --wsk-counts="$wsk_idle" --src-sock="$stack/src/com-$src.sock" \
            --ttyd-url="https://127.0.0.1:$ttyd_src/" --ttyd-pid="$ttyd_src_pid" >>"$out"
        ;;
    attach)
        say "attach time and API latency"
        node "$bench/viewers.mjs" --what=latency "${vg[@]}" --vm=$gw --n=$n_attach --n-api=$n_api >>"$out"
        ;;
    scale-idle)
        say "scale: idle viewers of one console, vmgate $s_idle, websockify and ttyd $s_proxy_idle"
        "${scale[@]}" --what=idle --targets="${VG_BENCH_IDLE_TARGETS:-vmgate websockify ttyd}" --counts="$s_idle" \
            --proxy-counts="$s_proxy_idle" --probes=$s_probes --workers=8 >>"$out"
        ;;
    scale-consoles)
        say "scale: $s_consoles consoles with one viewer each"
        "${scale[@]}" --what=consoles --n=$s_consoles --rates="0.02 0" --workers=4 >>"$out"
        ;;
    scale-fanout)
        say "scale: $s_fanout viewers of one console"
        "${scale[@]}" --what=fanout --n=$s_fanout --rates="2 0" --workers=4 >>"$out"
        ;;
    scale-echo)
        say "scale: keystroke echo with $s_elsewhere viewers attached elsewhere"
        "${scale[@]}" --what=echo --n=$s_elsewhere --workers=4 --echo-n=$n_echo --echo-vm=$gw \
            --echo-sock="$stack/raw/com-$raw.sock" --echo-wsk="wss://127.0.0.1:$wsk_raw/" \
            --echo-ttyd="https://127.0.0.1:$ttyd_raw/" >>"$out"
        ;;
    esac
}

# A daemon that died during a bench is recorded (with the last line it wrote during the bench
# that is not a timestamped entry: an abort message) and started again, so the benches after it
# still run. log_at: the sizes of the logs when the bench started (the logs are appended to).
declare -A log_at
mark_logs() {
    local name
    for name in gateway hostd; do
        log_at[$name]=$(stat -c %s "$stack/log/$name.log" 2>/dev/null || echo 0)
    done
}
revive() { # bench
    local name pidvar last
    for name in gateway hostd; do
        pidvar=$([ $name = gateway ] && echo gwpid || echo hostdpid)
        [ -d "/proc/${!pidvar}" ] && continue
        last=$(tail -c +$((log_at[$name] + 1)) "$stack/log/$name.log" | grep -v '^20[0-9][0-9]-' | tail -1 | tr -d '"\\')
        [ -n "$last" ] || last="no message (a signal such as SIGSEGV leaves none)"
        say "$name died during $1 ($last); starting it again"
        printf '{"bench":"died","during":"%s","process":"%s","last":"%s"}\n' "$1" "$name" "$last" >>"$out"
        "$repo/tools/up.sh" --restart $name >&2
        printf -v "$pidvar" '%s' "$(cat "$stack/run/$name.pid")"
    done
}

for b in "${benches[@]}"; do
    if [ "$b" = scale-idle ] && [ ${#benches[@]} -gt 1 ]; then
        # Memory per viewer from fresh heaps: the benches before leave grown, reusable ones.
        say "restarting gateway and hostd for scale-idle"
        "$repo/tools/up.sh" --restart hostd >&2
        "$repo/tools/up.sh" --restart gateway >&2
        gwpid=$(cat "$stack/run/gateway.pid")
        hostdpid=$(cat "$stack/run/hostd.pid")
    fi
    mark_logs
    run_bench "$b" || say "$b failed (its partial results are kept)"
    revive "$b"
done

say "raw results: $out"
node "$bench/report.mjs" "$out"
