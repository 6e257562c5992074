#!/usr/bin/env bash
# guest-xml.sh [--uuid UUID] [--spec 'MEMBERS'] [--disk FORMAT:FILE]... NAME CONSOLE_DIR —
# prints the libvirt domain XML of a VM named NAME that boots the test guest (tools/build-guest.sh,
# in VG_GUEST_DIR) with its console sockets in CONSOLE_DIR (com-NAME.sock with the log
# com-NAME.log, and the virtio console hvc-NAME.sock). It writes the guest's VM spec and lets
# vmgate-domxml (VG_BUILD_DIR) make the XML with hostd's own code, so the demo VMs of up.sh, the
# bench guests and hand-defined test VMs have exactly the shape vm.create gives a VM.
# --spec adds members to the spec, e.g. '"nics":[{"network":"vmgate"}]'; --uuid keeps a
# domain's uuid (a redefinition); --disk names the file of each spec disk, in order.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
domxml=${VG_BUILD_DIR:-$repo/build}/tools/domxml/vmgate-domxml
guest=${VG_GUEST_DIR:-$repo/.stack/guest}

usage() {
    echo "usage: $0 [--uuid UUID] [--spec 'MEMBERS'] [--disk FORMAT:FILE]... NAME CONSOLE_DIR" >&2
    exit 2
}

# A JSON string: the parser refuses control characters, so only \ and " need escaping.
json_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

opts=()
members=
while [ $# -gt 2 ]; do
    case $1 in
    --uuid | --disk) opts+=("$1" "$2") ;;
    --spec) members=",$2" ;;
    *) usage ;;
    esac
    shift 2
done
[ $# -eq 2 ] || usage
[ -x "$domxml" ] || {
    echo "guest-xml: $domxml is missing: build the tree (tools/setup.sh) or set VG_BUILD_DIR" >&2
    exit 1
}

spec="{\"name\":$(json_str "$1"),\"kernel\":{\"kernel\":$(json_str "$guest/vmlinuz"),"
spec+="\"initrd\":$(json_str "$guest/initrd.gz"),\"cmdline\":\"console=ttyS0 quiet sysrq_always_enabled\"},"
spec+="\"consoles\":{\"virtio_console\":true}$members}"
exec "$domxml" --console-dir "$2" "${opts[@]}" "$spec"
