#!/usr/bin/env bash
# setup.sh — makes a Debian 12 machine ready to build, run and test vmgate: installs the missing
# Debian packages, the npm dependencies of tests/ and ui/, builds build/ (Release) and the test
# guest. Idempotent; prints nothing when there is nothing to do.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$repo/build

# The guest's packages (kernel, busybox-static) are downloaded by build-guest.sh, not installed;
# curl is for up.sh's health check, genisoimage for the CD-ROM image it puts in the stack's
# pool; websockify is the proxy tools/bench/ compares against, and libuv1-dev, libjson-c-dev and
# zlib1g-dev build ttyd, the other (tools/bench/run.sh builds it from its source tarball).
# dpkg-dev, debhelper, lintian, debootstrap and nginx build, check and install the Debian
# packages and put nginx in front of the installed gateway (tests/integration/package.test.mjs);
# prometheus ships promtool, which checks the /metrics exposition in tests/integration/metrics.test.mjs;
# openvswitch-switch gives the network tests an Open vSwitch (user-space datapath, started by
# the test itself). asciinema: the recordings test plays downloaded recordings with `asciinema cat`.
# haproxy: tests/integration/haproxy.test.mjs runs three gateways behind it.
# redis-sentinel: tools/up.sh VG_SENTINEL=1 and tests/integration/redis-sentinel.test.mjs.
# tgt (a user-space iSCSI target) and libvirt's iscsi-direct storage driver: the iscsi-direct
# pool of tests/integration/storage-hosts.test.mjs logs in to a tgtd the test starts.
packages=(
    build-essential cmake pkg-config clang libclang-rt-14-dev llvm clang-format
    libwebsockets-dev libhiredis-dev libcjson-dev libev-dev libssl-dev libvirt-dev libxml2-dev
    libargon2-dev libcmocka-dev libsystemd-dev
    redis-server qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients dnsmasq-base
    iptables openssl socat curl genisoimage websockify chromium nodejs npm
    dpkg-dev debhelper lintian debootstrap nginx prometheus
    libuv1-dev libjson-c-dev zlib1g-dev openvswitch-switch
    asciinema haproxy redis-sentinel tgt libvirt-daemon-driver-storage-iscsi-direct
)

say() {
    echo "setup: $*"
}
die() {
    echo "setup: $*" >&2
    exit 1
}

sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "run as root (apt-get, libvirt and the test VMs need it)"
    sudo=sudo
fi

missing=()
for p in "${packages[@]}"; do
    # NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
    [ "$p" = npm ] && command -v npm >/dev/null && continue
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || status=
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    $sudo apt-get update -qq
    for p in "${missing[@]}"; do
        apt-cache show "$p" >/dev/null 2>&1 || die "no Debian package named $p"
    done
    $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi

# npm ci wipes node_modules, so it only runs when the lock file changed since the last install.
for d in tests ui; do
    [ -f "$repo/$d/package.json" ] || continue
    if [ -f "$repo/$d/package-lock.json" ]; then
        [ "$repo/$d/node_modules/.package-lock.json" -nt "$repo/$d/package-lock.json" ] && continue
        say "npm ci in $d/"
        (cd "$repo/$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    else
        [ -d "$repo/$d/node_modules" ] && continue
        say "npm install in $d/"
        (cd "$repo/$d" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
    fi
done

# The guest first: it does not depend on the tree, and a broken build should not leave the
# machine without it.
"$repo/tools/build-guest.sh"

# Build output goes to a log so an up-to-date tree stays silent; a failure shows its tail.
buildlog=$build/setup-build.log
if [ ! -f "$build/CMakeCache.txt" ]; then
    say "configuring build/"
    mkdir -p "$build"
    cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVG_WERROR=ON >"$buildlog" 2>&1 || {
        tail -40 "$buildlog" >&2
        die "cmake configure failed (full log: $buildlog)"
    }
fi
cmake --build "$build" -j"$(nproc)" >"$buildlog" 2>&1 || {
    grep -E 'error|Error' "$buildlog" | head -40 >&2
    die "build failed (full log: $buildlog)"
}

