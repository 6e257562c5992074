#!/usr/bin/env bash
# Builds the test guest into ${VG_GUEST_DIR:-<repo>/.stack/guest}: vmlinuz from Debian's current
# kernel package and initrd.gz, a busybox-static initramfs (tools/guest/ holds its init files).
# The packages are only downloaded, never installed. Nothing is rebuilt while the package
# versions and the guest files are unchanged; the versions are looked up at most once a day.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$repo/tools/guest
out=${VG_GUEST_DIR:-$repo/.stack/guest}

# Loaded in this order by tools/guest/rcS (from /etc/modules); virtio_ring must precede virtio,
# and each module follows the ones it needs. The SATA ones let the guest see a CD-ROM drive.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console
button evdev failover net_failover virtio_net virtio_blk
scsi_common scsi_mod libata libahci ahci cdrom sr_mod isofs"

die() {
    echo "build-guest: $*" >&2
    exit 1
}

mkdir -p "$out"
chmod 755 "$out"
# Several stacks share one guest directory; only one of them builds at a time.
exec 9>"$out/.lock"
flock 9

files=$(cd "$repo" && sha256sum tools/build-guest.sh tools/guest/*)
built() {
    [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ] && [ -f "$out/.inputs" ]
}
# apt-cache takes seconds per call, so a guest built from these very files and checked against
# Debian's package versions within the last day is taken as current.
if built && [ "$(tail -n +2 "$out/.inputs")" = "$files" ] &&
    [ -n "$(find "$out/.inputs" -mmin -1440)" ]; then
    exit 0
fi

kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

candidate() {
    apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
    apt-get update -qq >/dev/null 2>&1 || true
    kpkg=$(kernel_pkg)
fi
kver=${kpkg:+$(candidate "$kpkg")}
bver=$(candidate busybox-static)

if [ -z "$kver" ] || [ -z "$bver" ]; then
    if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.gz" ]; then
        echo "build-guest: apt cannot resolve the guest packages; keeping the existing guest" >&2
        exit 0
    fi
    die "apt cannot resolve linux-image-amd64's kernel package or busybox-static (run apt-get update)"
fi

inputs="$kpkg=$kver busybox-static=$bver
$files"
if built && [ "$(cat "$out/.inputs")" = "$inputs" ]; then
    touch "$out/.inputs"
    exit 0
fi

echo "build-guest: building the test guest in $out ($kpkg $kver, busybox $bver)"
work=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

cd "$work"
# The _apt sandbox user cannot write into our private temporary directory.
apt-get download -qq -o APT::Sandbox::User=root "$kpkg=$kver" "busybox-static=$bver" ||
    die "apt-get download $kpkg=$kver busybox-static=$bver failed"

mkdir kernel bb
patterns=("./boot/vmlinuz-*")
for m in $modules; do
    patterns+=("./lib/modules/*/$m.ko")
done
dpkg-deb --fsys-tarfile "$kpkg"_*.deb | tar -x -C kernel --wildcards "${patterns[@]}"
dpkg-deb -x busybox-static_*.deb bb
busybox=$work/bb/bin/busybox
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"

root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/acpi/PWRF,etc/udhcpc,lib/modules}
mkdir -p "$root"/{dev,proc,sys,tmp,run,root,var/log,var/run}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
# The kernel runs /init; under that name busybox is init and reads /etc/inittab.
ln -s bin/busybox "$root/init"
for m in $modules; do
    ko=$(find kernel/lib/modules -name "$m.ko")
    [ -n "$ko" ] || die "$kpkg has no module $m.ko"
    cp "$ko" "$root/lib/modules/"
done
install -m 644 "$src/inittab" "$src/profile" "$src/passwd" "$src/group" "$root/etc/"
install -m 755 "$src/rcS" "$root/etc/init.d/rcS"
printf '%s\n' $modules >"$root/etc/modules"
install -m 755 "$src/poweroff-button" "$root/etc/acpi/PWRF/00000080"
install -m 755 "$src/udhcpc.script" "$root/etc/udhcpc/default.script"
install -m 755 "$src/console-shell" "$src/vport-shell" "$root/sbin/"
echo testvm >"$root/etc/hostname"
# The kernel opens /dev/console before init mounts devtmpfs.
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc 2>/dev/null) |
    gzip -9n >"$work/initrd.gz"
install -m 644 kernel/boot/vmlinuz-* "$out/vmlinuz.new"
install -m 644 "$work/initrd.gz" "$out/initrd.gz.new"
mv -f "$out/vmlinuz.new" "$out/vmlinuz"
mv -f "$out/initrd.gz.new" "$out/initrd.gz"
echo "$inputs" >"$out/.inputs"
echo "build-guest: done: $(stat -c %s "$out/vmlinuz") B vmlinuz, $(stat -c %s "$out/initrd.gz") B initrd.gz"
