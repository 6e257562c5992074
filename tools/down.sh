#!/usr/bin/env bash
# down.sh — stops exactly what tools/up.sh started in VG_STACK_DIR (default <repo>/.stack), by
# pid: gateway, hostd, the demo VMs it defined (destroyed and undefined), Redis, and libvirtd
# and virtlogd only if up.sh had to start them. Data (Redis AOF, certificates, passwords,
# console logs) stays for the next tools/up.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/up.sh" --down
