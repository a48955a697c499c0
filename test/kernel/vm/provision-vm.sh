#!/usr/bin/env bash
# Provisions the kernel-tier VM once: Debian packages, a Debian kernel with IPVS modules, and a busybox initramfs.
#
# Usage: provision-vm.sh [--quiet]
# The cache goes to $LDIR_VM_CACHE (default /var/cache/ldir-test-vm). It is ready when $LDIR_VM_CACHE/vm.env exists;
# run-in-vm.ts reads that file. Idempotent: a second run only checks and exits (the kernel is never re-resolved once
# cached; delete the cache to move to a newer one). $LDIR_VM_KERNEL_PKG overrides the kernel package name.
# Needs root and apt-get (Debian/Ubuntu, x86_64).
set -euo pipefail

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
say() { [ "$quiet" = 1 ] || echo "provision-vm: $*"; }
die() { echo "provision-vm: error: $*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${LDIR_VM_CACHE:-/var/cache/ldir-test-vm}"
init_src="$here/guest-init.sh"

[ "$(uname -m)" = x86_64 ] || die "the VM needs an x86_64 host (this is $(uname -m))"
[ "$(id -u)" = 0 ] || die "needs root (apt-get, and qemu exporting / over 9p)"
[ -r "$init_src" ] || die "missing $init_src"
case "$cache" in *[[:space:]]*) die "LDIR_VM_CACHE must not contain spaces: $cache" ;; esac
mkdir -p "$cache"

# One provisioning at a time (two test runs starting together share the cache).
exec 9>"$cache/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
}
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

# --- 1. Debian packages (VM tooling, plus the tools the guest tests run from the host's root) -------------------
# pacemaker, corosync and pacemaker-cli-utils (cibadmin, crm_mon, crm_resource): the single-node cluster of
# guest/ocf-pacemaker.test.ts; resource-agents: ocf-tester, ocf-shellfuncs and IPaddr2; socat: the SCTP servers and
# clients of guest/sctp-nat.test.ts (SCTP-LISTEN, SCTP-CONNECT); prometheus: the real Prometheus server that scrapes
# the daemon on the real kernel in guest/metrics-nat.test.ts; bird2: the routers and BGP speakers of the scale-out
# lab (issue 16: ECMP directors announcing their VIPs); frr: the same lab's directors with announce=frr (bgpd, zebra,
# vtysh).
pkgs=(qemu-system-x86 busybox-static kmod cpio ipvsadm keepalived ldirectord iproute2 resource-agents libxml2-utils
  pacemaker corosync pacemaker-cli-utils socat prometheus bird2 frr)
missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "no apt-get to install ${missing[*]}"
  say "installing ${missing[*]}"
  # The daemons are for the guest only: policy-rc.d (exit 101) keeps apt from starting them on this host.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
  fi
  rc=0
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt_update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=1
  fi
  [ "$own_policy" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || die "could not install ${missing[*]}"
  # Nor at this host's next boot: a cluster stack that starts by itself is not what a test dependency should leave.
  for unit in corosync pacemaker; do
    case " ${missing[*]} " in
      *" $unit "*) command -v systemctl >/dev/null 2>&1 && systemctl disable "$unit.service" >/dev/null 2>&1 || true ;;
    esac
  done
fi
command -v qemu-system-x86_64 >/dev/null 2>&1 || die "qemu-system-x86_64 missing after install"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox missing (package busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then die "$busybox is dynamically linked (need busybox-static)"; fi

# The initramfs is rebuilt whenever this script or the guest init changes.
init_sha="$(cat "$init_src" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

# Fast path: everything cached and the initramfs was built from the current guest-init.sh.
if [ -f "$cache/vm.env" ]; then
  # shellcheck disable=SC1091
  . "$cache/vm.env"
  if [ -f "${LDIR_VM_KERNEL:-}" ] && [ -f "${LDIR_VM_INITRD:-}" ] && [ -d "${LDIR_VM_MODDIR:-}" ] \
     && [ "${LDIR_VM_INIT_SHA:-}" = "$init_sha" ]; then
    say "cache ready: $cache (kernel $LDIR_VM_KVER)"
    exit 0
  fi
fi

# --- 2. kernel: Debian's generic amd64 flavour (the -cloud- one lacks 9p), unpacked, not installed -------------
kver=""
for d in "$cache"/kernel/*/lib/modules/*/; do
  [ -d "$d" ] || continue
  v="$(basename "$d")"
  if [ -f "$cache/kernel/$v/boot/vmlinuz-$v" ] && [ -f "$d/modules.dep.bin" ]; then kver="$v"; fi
done
if [ -z "$kver" ]; then
  pkg="${LDIR_VM_KERNEL_PKG:-}"
  if [ -z "$pkg" ]; then
    resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-.*-amd64$/ { print $2; exit }'; }
    pkg="$(resolve)"
    if [ -z "$pkg" ]; then apt_update; pkg="$(resolve)"; fi
    [ -n "$pkg" ] || die "cannot resolve the kernel package behind linux-image-amd64"
  fi
  case "$pkg" in *-cloud-*) die "$pkg is the cloud flavour, which has no 9p: use the generic one" ;; esac
  say "downloading $pkg"
  dl="$cache/download"
  rm -rf "$dl" && mkdir -p "$dl"
  chmod 0777 "$dl" # apt-get download drops to the _apt user when it can
  (cd "$dl" && { apt-get download -qq "$pkg" >/dev/null 2>&1 || { apt_update; apt-get download -qq "$pkg" >/dev/null; }; }) \
    || die "apt-get download $pkg failed"
  deb="$(ls "$dl"/*.deb 2>/dev/null | head -n1)"
  [ -n "$deb" ] || die "no .deb downloaded for $pkg"
  say "unpacking $(basename "$deb")"
  rm -rf "$dl/root"
  dpkg-deb -x "$deb" "$dl/root"
  kver="$(ls "$dl/root/lib/modules" | head -n1)"
  [ -n "$kver" ] && [ -f "$dl/root/boot/vmlinuz-$kver" ] || die "unexpected layout in $deb"
  [ -f "$dl/root/lib/modules/$kver/kernel/net/netfilter/ipvs/ip_vs.ko" ] || die "$pkg ships no ip_vs module"
  depmod -b "$dl/root" "$kver"
  rm -rf "$cache/kernel/$kver"
  mkdir -p "$cache/kernel"
  mv "$dl/root" "$cache/kernel/$kver"
  rm -rf "$dl"
fi
kroot="$cache/kernel/$kver"
moddir="$kroot/lib/modules/$kver"

# --- 3. initramfs: busybox + the modules needed to reach the host root (virtio-pci, 9p, overlay) ---------------
say "building initramfs for $kver"
stage="$cache/initramfs.tmp"
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,modules,newroot,mnt/host,mnt/rw}
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$init_src" "$stage/init"
chmod 0755 "$stage/init"
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true # else /init redirects itself to the console
# Load order from modprobe itself (dependencies first, no duplicates); built-in modules need no file.
modprobe -a -d "$kroot" -S "$kver" --show-depends virtio_pci 9pnet_virtio 9p overlay \
  | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' > "$stage/modules/paths"
[ -s "$stage/modules/paths" ] || die "modprobe computed no boot modules"
: > "$stage/modules/order"
while read -r path; do
  name="$(basename "$path")"
  case "$name" in *.ko) ;; *) die "compressed module $name: not supported by this script" ;; esac
  cp "$path" "$stage/modules/$name"
  echo "$name" >> "$stage/modules/order"
done < "$stage/modules/paths"
rm "$stage/modules/paths"
(cd "$stage" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 > "$cache/initramfs.cpio.gz.tmp"
mv "$cache/initramfs.cpio.gz.tmp" "$cache/initramfs.cpio.gz"
rm -rf "$stage"

cat > "$cache/vm.env.tmp" <<EOF
# Written by test/kernel/vm/provision-vm.sh; read by test/kernel/vm/run-in-vm.ts. Shell syntax, no spaces in values.
LDIR_VM_KVER=$kver
LDIR_VM_KERNEL=$kroot/boot/vmlinuz-$kver
LDIR_VM_INITRD=$cache/initramfs.cpio.gz
LDIR_VM_MODDIR=$moddir
LDIR_VM_INIT_SHA=$init_sha
EOF
mv "$cache/vm.env.tmp" "$cache/vm.env"
say "cache ready: $cache (kernel $kver)"
