#!/usr/bin/env bash
# build-deb.sh OUTDIR [VERSION] — builds the Debian packages (vmgate-common, vmgate-gateway,
# vmgate-hostd, vmgatectl) from this work tree with dpkg-buildpackage and puts the .deb files
# in OUTDIR. The tree is copied first (its files as git lists them, and ui/node_modules that
# tools/setup.sh installed), so the build leaves the work tree alone. VERSION, when given,
# becomes the version of a changelog entry added to the copy (a rebuilt package to upgrade to).
# Environment: VG_DEB_WORK keeps the copy and its build there (a rebuild with -nc is then
# incremental); by default a temporary directory that is removed afterwards.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR [VERSION]}
version=${2:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)

[ -d "$repo/ui/node_modules" ] || {
    echo "build-deb: ui/node_modules is missing (run tools/setup.sh)" >&2
    exit 1
}
work=${VG_DEB_WORK:-}
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/vmgate-deb.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
src=$work/vmgate
mkdir -p "$src"
# Files of the tree as git sees them (tracked and new, not ignored), then the UI's modules.
(cd "$repo" && git ls-files -z -co --exclude-standard | grep -zv '^tests/node_modules$' |
    tar --null -T - -cf -) | tar -xf - -C "$src"
rm -rf "$src/ui/node_modules"
cp -rL --preserve=timestamps "$repo/ui/node_modules" "$src/ui/node_modules"
rm -f "$work"/*.deb

cd "$src"
clean=()
if [ -n "$version" ]; then
    {
        echo "vmgate ($version) bookworm; urgency=medium"
        echo
        echo "  * Rebuilt."
        echo
        echo " -- vmgate developers <vmgate@example.org>  $(date -R)"
        echo
        cat "$repo/debian/changelog"
    } >debian/changelog
fi
# A kept work directory builds incrementally: no clean before the build.
if [ -n "${VG_DEB_WORK:-}" ] && compgen -G "obj-*" >/dev/null; then
    clean=(-nc)
fi
dpkg-buildpackage -b -us -uc "${clean[@]}" >"$work/build.log" 2>&1 || {
    tail -40 "$work/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (log: $work/build.log)" >&2
    exit 1
}
mv "$work"/*.deb "$out/"
ls "$out"/*.deb
