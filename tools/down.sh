#!/usr/bin/env bash
# down.sh — stops exactly what tools/up.sh started in VG_STACK_DIR (default <repo>/.stack), by
# pid: gateway, hostd (and hostd2), the demo VMs it defined and every domain of its private
# libvirtds (destroyed and undefined), the pool and network `vmgate` it defined, Redis, and
# libvirtd and virtlogd only if up.sh had to start them. Data (Redis AOF, certificates,
# passwords, console logs, the pool directory) stays for the next tools/up.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/up.sh" --down
