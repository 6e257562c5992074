#!/usr/bin/env bash
# tools/guest-xml.sh and vmgate-domxml (ctest guest_xml BUILD_DIR): a demo guest's domain XML is
# the golden file data/guest-xml/demo.xml (what tools/up.sh wrote out by hand before), a disk and
# a NIC come from the spec, and every bad input is refused with its message and exit status.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export VG_BUILD_DIR=$1 VG_GUEST_DIR=/guest
guest_xml=$repo/tools/guest-xml.sh
domxml=$1/tools/domxml/vmgate-domxml
failed=0

fail() {
    echo "FAIL: $*" >&2
    failed=1
}

# expect STATUS STDERR-PATTERN command...: the command exits with STATUS and says PATTERN.
expect() {
    local want=$1 pattern=$2 err rc
    shift 2
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" = "$want" ] || fail "$* exited $rc, not $want ($err)"
    [[ $err =~ $pattern ]] || fail "$* said '$err', not /$pattern/"
}

demo=$("$guest_xml" --uuid 12345678-1234-4234-8234-123456789abc demo1 /consoles) ||
    fail "guest-xml.sh demo1 failed"
diff -u "$here/data/guest-xml/demo.xml" - <<<"$demo" || fail "demo1's XML is not the golden file"

full=$("$guest_xml" --spec '"disks":[{"volume":"vmgate/g.qcow2"}],"nics":[{"network":"vmgate"}]' \
    --disk qcow2:/pool/g.qcow2 vgt-g /consoles) || fail "guest-xml.sh with a disk and a NIC failed"
for want in "<source file='/pool/g.qcow2'/>" "<driver name='qemu' type='qcow2'/>" \
    "<source network='vmgate'/>" "<source mode='bind' path='/consoles/com-vgt-g.sock'/>"; do
    [[ $full == *"$want"* ]] || fail "no $want in: $full"
done

spec='{"name":"vgt-x"}'
expect 2 'console-dir and SPEC-JSON are required' "$domxml" "$spec"
expect 2 'lacks its value' "$domxml" "$spec" --console-dir
expect 2 'unknown option' "$domxml" --console-dir /c --disks qcow2:/f "$spec"
expect 2 'one SPEC-JSON only' "$domxml" --console-dir /c "$spec" "$spec"
expect 2 'FORMAT:FILE' "$domxml" --console-dir /c --disk /pool/g.qcow2 "$spec"
expect 1 'not valid JSON' "$domxml" --console-dir /c '{"name":'
expect 1 '^vmgate-domxml: bad_request: spec.name must be' "$domxml" --console-dir /c '{"name":"bad name"}'
expect 1 'bad_request: the spec has 1 disks but 0 --disk' "$domxml" --console-dir /c \
    '{"name":"vgt-x","disks":[{"volume":"vmgate/g.qcow2"}]}'
expect 1 'bad_request: spec.cdrom.media is not supported' "$domxml" --console-dir /c \
    '{"name":"vgt-x","cdrom":{"media":"vmgate/tools.iso"}}'
expect 1 'internal: console directory must be an absolute path' "$domxml" --console-dir rel "$spec"
expect 1 'internal: uuid nope is not a UUID' "$domxml" --console-dir /c --uuid nope "$spec"
expect 2 'usage: ' "$guest_xml" vgt-x
expect 2 'usage: ' "$guest_xml" --bogus 1 vgt-x /c

exit $failed
