#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Linux guest of the end-to-end tests and the benchmark from Debian's packages:
#   scripts/guest/build-guest.sh [OUTDIR]
# OUTDIR (default $DEVSTATE_GUEST_DIR, else /var/tmp/devstate-guest) gets a subdirectory
# named by a hash of the package versions and of this script, holding
#   vmlinuz    Debian's kernel (the linux-image-*-amd64 that linux-image-amd64 depends on)
#   initrd.gz  a gzip'd newc cpio: busybox-static with its applet links, the virtio-pci and
#              virtio-blk modules of that kernel, and /init (below)
#   manifest   what went in (packages, kernel release, module load order)
# The last two lines printed are KERNEL=PATH and INITRD=PATH. A run whose inputs were built
# before prints the cached paths and does nothing else. Exits non-zero, with the reason on
# stderr, on any failure. Nothing is installed into the host: the .debs come from
# `apt-get download` and are unpacked with `dpkg-deb -x` into a temporary directory.
# Runs as root (the initramfs's /dev/console node; apt's download sandbox).
#
# The guest's /init (kernel command line: console=ttyS0) mounts /proc, /sys, /dev (devtmpfs),
# loads the modules in dependency order with busybox insmod, then runs two background loops
# and prints DEVSTATE-GUEST-READY on the console:
#   a disk writer: rewrites DISK_MB MiB of /dev/vda at a moving offset with dd conv=fsync,
#     so the host sees writes and flushes;
#   a memory dirtier: rewrites a MEM_MB MiB file in a tmpfs, MiB by MiB, with random data
#     (not zeros, which migration sends as zero pages);
# and then prints one DEVSTATE-GUEST-TICK line a second with the loops' round counts. It runs
# until the machine stops. A failure prints DEVSTATE-GUEST-ERROR and the guest stays up idle.
# Kernel command line knobs: devstate.mem_mb=N (default 24), devstate.disk_mb=N (default 4),
# devstate.tick=SECONDS (default 1).
#
# Environment: DEVSTATE_GUEST_APT_TIMEOUT (default 600) bounds each apt-get call in seconds;
# DEVSTATE_GUEST_LOCK_TIMEOUT (default 1800) bounds the wait for another build of OUTDIR.
set -Eeuo pipefail

die() { echo "build-guest: error: $*" >&2; exit 1; }
log() { echo "build-guest: $*" >&2; }
trap 'die "line $LINENO: command failed (exit $?): $BASH_COMMAND"' ERR

[ "$#" -le 1 ] || die "usage: $0 [OUTDIR]"
outdir=${1:-${DEVSTATE_GUEST_DIR:-/var/tmp/devstate-guest}}
self=$(readlink -f "${BASH_SOURCE[0]}")
apt_timeout=${DEVSTATE_GUEST_APT_TIMEOUT:-600}
lock_timeout=${DEVSTATE_GUEST_LOCK_TIMEOUT:-1800}
apt_opts=(-q -o Acquire::http::Timeout=60 -o Acquire::https::Timeout=60 -o Acquire::Retries=2
          -o DPkg::Lock::Timeout=120)

# The modules the guest needs (names as modules.dep spells them, '-' or '_' alike); their
# dependencies come from modules.dep. A module built into the kernel is skipped.
want_modules=(virtio_pci virtio_blk)
# Options the guest needs built in: the serial console, devtmpfs, a gzip'd initramfs, tmpfs.
want_builtin=(SERIAL_8250 SERIAL_8250_CONSOLE DEVTMPFS BLK_DEV_INITRD RD_GZIP TMPFS PROC_FS SYSFS)

for tool in apt-get apt-cache dpkg-deb gzip sha256sum flock timeout find sort; do
    command -v "$tool" >/dev/null || die "$tool not found (a Debian host is needed)"
done

# --- which packages -----------------------------------------------------------------------

candidate() {  # the version apt would install, or nothing
    local v
    v=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }')
    [ -n "$v" ] && [ "$v" != "(none)" ] && echo "$v"
    return 0
}

# Sets meta_ver, kpkg, kver, bbver; fails when apt's lists do not know them.
resolve() {
    meta_ver=$(candidate linux-image-amd64)
    [ -n "$meta_ver" ] || return 1
    # Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)
    kpkg=$(apt-cache show --no-all-versions "linux-image-amd64=$meta_ver" 2>/dev/null |
           sed -n 's/^Depends: //p' | head -n 1 | tr ',|' '\n\n' |
           sed -n 's/^ *\(linux-image-[0-9][^ ]*-amd64\)\( .*\)\{0,1\}$/\1/p' | head -n 1)
    [ -n "$kpkg" ] || return 1
    kver=$(candidate "$kpkg")
    bbver=$(candidate busybox-static)
    [ -n "$kver" ] && [ -n "$bbver" ]
}

apt_update() {
    log "apt-get update (at most ${apt_timeout}s)"
    timeout "$apt_timeout" apt-get "${apt_opts[@]}" update >&2 ||
        die "apt-get update failed or timed out"
}

cache_key() {
    local script_sum
    script_sum=$(sha256sum "$self" | cut -d' ' -f1)
    printf 'linux-image-amd64 %s\n%s %s\nbusybox-static %s\nbuild-guest.sh %s\n' \
        "$meta_ver" "$kpkg" "$kver" "$bbver" "$script_sum" | sha256sum | cut -c1-16
}

print_cached() {  # prints the paths and exits if KEY's build is there
    local dir="$outdir/$1"
    if [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.gz" ]; then
        echo "KERNEL=$dir/vmlinuz"
        echo "INITRD=$dir/initrd.gz"
        exit 0
    fi
}

if ! resolve; then
    log "linux-image-amd64 or busybox-static unknown to apt's lists"
    apt_update
    resolve || die "apt knows no linux-image-amd64 / busybox-static candidate (after apt-get update)"
fi
key=$(cache_key)
print_cached "$key"

mkdir -p "$outdir"
exec 9>"$outdir/.lock"
flock -w "$lock_timeout" 9 || die "another build holds $outdir/.lock for more than ${lock_timeout}s"
print_cached "$key"  # built by the run we waited for
# with the lock held no other build runs: what an interrupted one left is removed
rm -rf "$outdir"/.build.*

work=$(mktemp -d "$outdir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/debs"
# apt downloads as the user _apt where that user can write the directory
chown _apt "$work/debs" 2>/dev/null || true

download() {
    rm -f "$work/debs/"*.deb
    log "downloading $kpkg=$kver busybox-static=$bbver (at most ${apt_timeout}s)"
    (cd "$work/debs" &&
     timeout "$apt_timeout" apt-get "${apt_opts[@]}" download "$kpkg=$kver" "busybox-static=$bbver") >&2
}
if ! download; then
    # the lists may name versions the archive no longer has
    log "download failed: updating apt's lists and trying once more"
    apt_update
    resolve || die "apt knows no linux-image-amd64 / busybox-static candidate (after apt-get update)"
    key=$(cache_key)
    print_cached "$key"
    download || die "apt-get download $kpkg=$kver busybox-static=$bbver failed or timed out"
fi

deb_of() {  # the downloaded .deb of package $1, version $2
    local f
    for f in "$work/debs/"*.deb; do
        if [ "$(dpkg-deb -f "$f" Package)" = "$1" ] && [ "$(dpkg-deb -f "$f" Version)" = "$2" ]; then
            echo "$f"
            return 0
        fi
    done
    die "no .deb of $1 $2 among the downloads"
}
kdeb=$(deb_of "$kpkg" "$kver")
bbdeb=$(deb_of busybox-static "$bbver")

dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bbdeb" "$work/busybox"
bb="$work/busybox/bin/busybox"
[ -x "$bb" ] || die "busybox-static $bbver has no bin/busybox"
"$bb" true || die "the extracted busybox does not run on this host"

# --- the kernel ---------------------------------------------------------------------------

moddir=
for d in "$work/kernel/lib/modules/"* "$work/kernel/usr/lib/modules/"*; do
    [ -d "$d" ] || continue
    [ -z "$moddir" ] || die "$kpkg holds more than one modules directory"
    moddir=$d
done
[ -n "$moddir" ] || die "$kpkg holds no lib/modules/RELEASE"
krel=$(basename "$moddir")
vmlinuz=
for f in "$work/kernel/boot/vmlinuz-$krel" "$work/kernel/usr/lib/modules/$krel/vmlinuz"; do
    [ -s "$f" ] && { vmlinuz=$f; break; }
done
[ -n "$vmlinuz" ] || die "$kpkg holds no vmlinuz for $krel"
config=
for f in "$work/kernel/boot/config-$krel" "$moddir/config"; do
    [ -s "$f" ] && { config=$f; break; }
done
[ -n "$config" ] || die "$kpkg holds no kernel config for $krel"
for opt in "${want_builtin[@]}"; do
    grep -qx "CONFIG_$opt=y" "$config" || die "kernel $krel: CONFIG_$opt is not built in"
done

# Debian's package ships no modules.dep (its postinst runs depmod): busybox's depmod writes it.
"$bb" depmod -b "${moddir%/lib/modules/$krel}" "$krel" ||
    die "busybox depmod failed on $moddir"
[ -s "$moddir/modules.dep" ] || die "depmod wrote no $moddir/modules.dep"

modname() {  # kernel/drivers/virtio/virtio-ring.ko.xz -> virtio_ring
    local b=${1##*/}
    b=${b%%.ko*}
    echo "${b//-/_}"
}

# modules.dep: "path: dep-path dep-path ..." (a module's dependencies, transitively)
declare -A deps_of path_of
while IFS= read -r line; do
    [ -n "$line" ] || continue
    m=${line%%:*}
    deps_of[$m]=${line#*:}
    path_of[$(modname "$m")]=$m
done <"$moddir/modules.dep"

builtin_has() {  # is module $1 built in?
    [ -s "$moddir/modules.builtin" ] || return 1
    local m
    while IFS= read -r m; do
        [ "$(modname "$m")" = "$1" ] && return 0
    done <"$moddir/modules.builtin"
    return 1
}

# Depth-first over modules.dep: every module after all it depends on.
declare -A state
load_order=()
visit() {
    local m=$1 d
    case ${state[$m]:-} in
        done) return 0 ;;
        active) die "modules.dep has a cycle through $m" ;;
    esac
    state[$m]=active
    [ -e "$moddir/$m" ] || die "modules.dep names $m, which $kpkg does not hold"
    for d in ${deps_of[$m]:-}; do
        visit "$d"
    done
    state[$m]=done
    load_order+=("$m")
}
for want in "${want_modules[@]}"; do
    want=${want//-/_}
    if [ -n "${path_of[$want]:-}" ]; then
        visit "${path_of[$want]}"
    elif builtin_has "$want"; then
        log "$want is built into $krel"
    else
        die "kernel $krel has no module $want (neither in modules.dep nor built in)"
    fi
done

# busybox insmod takes the module as is: compressed ones are unpacked here
add_module() {  # $1: path under moddir; copies it to $root/lib/modules/$krel/ as .ko
    local src="$moddir/$1" dst="$root/lib/modules/$krel/$(modname "$1").ko"
    case $1 in
        *.ko) cp "$src" "$dst" ;;
        *.ko.xz) command -v xz >/dev/null || die "xz needed for $1"; xz -dc "$src" >"$dst" ;;
        *.ko.zst) command -v zstd >/dev/null || die "zstd needed for $1"; zstd -qdc "$src" >"$dst" ;;
        *.ko.gz) gzip -dc "$src" >"$dst" ;;
        *) die "unknown module format: $1" ;;
    esac
    echo "/lib/modules/$krel/$(modname "$1").ko"
}

# --- the initramfs ------------------------------------------------------------------------

root="$work/root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,lib/modules/"$krel"}
cp "$bb" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
"$bb" --list-full >"$work/applets"
[ -s "$work/applets" ] || die "busybox --list-full printed nothing"
while IFS= read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -sf /bin/busybox "$root/$applet"
done <"$work/applets"
for need in sh mount insmod dd sleep cat; do
    [ -L "$root/bin/$need" ] || [ -L "$root/sbin/$need" ] || [ -L "$root/usr/bin/$need" ] ||
        [ -L "$root/usr/sbin/$need" ] || die "busybox $bbver has no $need applet"
done

: >"$root/etc/devstate-modules"
for m in "${load_order[@]}"; do
    add_module "$m" >>"$root/etc/devstate-modules"
done
# The kernel opens /dev/console for /init before anything is mounted; /init reopens it
# after mounting devtmpfs, so the node is only a nicety where mknod is not allowed.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null ||
    log "cannot mknod /dev/console (not root?): /init reopens it after mounting devtmpfs"

cat >"$root/init" <<'INIT'
#!/bin/sh
# /init of the DeviceStateTimes test guest (scripts/guest/build-guest.sh)
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs -o mode=0755 tmpfs /dev
[ -e /dev/console ] || mknod -m 600 /dev/console c 5 1
exec </dev/console >/dev/console 2>&1

# A failure is told on the console; the guest stays up, so the host can read it.
fail() {
    echo "DEVSTATE-GUEST-ERROR $*"
    while :; do sleep 3600; done
}

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t tmpfs -o mode=1777 tmpfs /tmp || fail "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs /run || fail "mount /run"
[ -e /dev/ttyS0 ] || mknod -m 600 /dev/ttyS0 c 4 64

mem_mb=24
disk_mb=4
tick=1
for arg in $(cat /proc/cmdline); do
    case $arg in
        devstate.mem_mb=*) mem_mb=${arg#*=} ;;
        devstate.disk_mb=*) disk_mb=${arg#*=} ;;
        devstate.tick=*) tick=${arg#*=} ;;
    esac
done

while read -r mod; do
    [ -n "$mod" ] || continue
    insmod "$mod" || fail "insmod $mod"
done </etc/devstate-modules

n=0
while [ ! -b /dev/vda ]; do
    n=$((n + 1))
    [ "$n" -le 100 ] || fail "no /dev/vda after 10 s"
    sleep 0.1
done
disk_total_mb=$(( $(cat /sys/block/vda/size) / 2048 ))
[ "$disk_total_mb" -ge "$disk_mb" ] || fail "/dev/vda has $disk_total_mb MiB, less than $disk_mb"
chunks=$((disk_total_mb / disk_mb))

# One random MiB, and DISK_MB of it for the writer (random data: zero pages would be
# sent as such, and cost migration nothing)
dd if=/dev/urandom of=/run/seed1 bs=1M count=1 2>/dev/null || fail "dd from /dev/urandom"
n=0
while [ "$n" -lt "$disk_mb" ]; do
    cat /run/seed1 >>/run/seed || fail "building the disk seed"
    n=$((n + 1))
done

echo 0 >/run/disk-rounds
echo 0 >/run/mem-rounds

disk_writer() {
    rounds=0
    chunk=0
    while :; do
        dd if=/run/seed of=/dev/vda bs=1M count="$disk_mb" seek=$((chunk * disk_mb)) \
            conv=fsync,notrunc 2>/dev/null || fail "disk write at chunk $chunk"
        chunk=$(( (chunk + 1) % chunks ))
        rounds=$((rounds + 1))
        echo "$rounds" >/run/disk-rounds
    done
}

mem_dirtier() {
    rounds=0
    while :; do
        i=0
        while [ "$i" -lt "$mem_mb" ]; do
            dd if=/run/seed1 of=/tmp/dirty bs=1M count=1 seek="$i" conv=notrunc \
                2>/dev/null || fail "memory write at MiB $i"
            i=$((i + 1))
        done
        rounds=$((rounds + 1))
        echo "$rounds" >/run/mem-rounds
    done
}

disk_writer &
mem_dirtier &
# only our lines on the console from here on
echo 1 >/proc/sys/kernel/printk
echo "DEVSTATE-GUEST-READY mem_mb=$mem_mb disk_mb=$disk_mb disk_total_mb=$disk_total_mb"

t=0
while :; do
    sleep "$tick"
    t=$((t + 1))
    read -r up _ </proc/uptime
    echo "DEVSTATE-GUEST-TICK $t uptime=$up disk-rounds=$(cat /run/disk-rounds) mem-rounds=$(cat /run/mem-rounds)"
done
INIT
chmod 755 "$root/init"

out="$work/out"
mkdir "$out"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$bb" cpio -o -H newc -R 0:0 2>/dev/null) |
    gzip -9n >"$out/initrd.gz"
# the archive must hold what /init needs
"$bb" zcat "$out/initrd.gz" | "$bb" cpio -t 2>/dev/null >"$work/listing"
for p in ./init ./bin/busybox ./etc/devstate-modules; do
    grep -qx "$p" "$work/listing" || grep -qx "${p#./}" "$work/listing" ||
        die "initrd.gz lacks $p"
done
cp "$vmlinuz" "$out/vmlinuz"
chmod 644 "$out/vmlinuz" "$out/initrd.gz"
{
    echo "linux-image-amd64 $meta_ver"
    echo "$kpkg $kver"
    echo "busybox-static $bbver"
    echo "kernel-release $krel"
    echo "modules (load order):"
    sed 's/^/  /' "$root/etc/devstate-modules"
} >"$out/manifest"

rm -rf "${outdir:?}/$key"
mv "$out" "$outdir/$key"
log "built $outdir/$key: $kpkg $kver, busybox-static $bbver, modules: $(tr '\n' ' ' <"$root/etc/devstate-modules")"
echo "KERNEL=$outdir/$key/vmlinuz"
echo "INITRD=$outdir/$key/initrd.gz"
