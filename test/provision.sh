#!/usr/bin/env bash
# Installs the Debian packages that ldir's test tiers use; idempotent. Without root or apt-get it only reports
# which tiers will be skipped (each such test says so itself; under CI=true such a test fails instead, naming what is
# missing, unless test/helpers/ci-skips.ts allows the skip: see test/README.md).
set -u
# Differential tier: Debian's ldirectord 4.12 (+ ipvsadm); name lookups isolated with unshare (util-linux).
# Check tier: real protocol servers the checkers are tested against, run by the tests on loopback only.
packages=(ldirectord util-linux openssl dnsmasq opensmtpd dovecot-imapd dovecot-pop3d vsftpd slapd ldap-utils
  mariadb-server postgresql freeradius)
# HA tier: systemd-analyze (Debian package systemd; present on any Debian with systemd) verifies conf/systemd/ units.
packages+=(systemd)
# Benchmarks: `npm run bench:peers` compares ldir with keepalived (also installed by the kernel tier's provision-vm.sh)
# in the VM; nginx (nginx-light: stub_status and TLS built in) serves its reals, curl reads their request counters.
packages+=(nginx-light curl keepalived)
# Status page tier: headless Chromium loads the page from a running daemon (test/integration/metrics/status-page-browser);
# a font for its screenshot (installs run without recommends, and chromium only recommends fonts).
packages+=(chromium fonts-dejavu-core)
# Route health injection (issue 16): BIRD 2 in two network namespaces, ldir driving one over its control socket
# (test/integration/announce/); FRR (zebra, bgpd, vtysh) as the director's daemon of announce=frr, peering with a
# BIRD router; iproute2 for the namespaces and the veth pair.
packages+=(bird2 frr iproute2)
# Docker tier: an engine (docker.io, only where there is no Docker at all: it conflicts with docker-ce; the test starts
# dockerd itself), and debootstrap for the substitute base image when Docker Hub cannot be reached.
command -v dockerd >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 || packages+=(docker.io)
packages+=(debootstrap)
need=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "provision: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The same lock as test/helpers/system.ts ensurePackages; policy-rc.d keeps apt from starting the daemons.
    flock /var/lock/ldir-test-apt.lock sh -c '
      printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
      apt-get update -qq >/dev/null
      apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@" >/dev/null; rc=$?
      rm -f /usr/sbin/policy-rc.d; exit $rc' sh "${need[@]}" \
      || echo "provision: could not install ${need[*]}; the tiers that need them will report it"
  else
    echo "provision: not root or no apt-get: tiers needing ${need[*]} will be skipped"
  fi
fi
# Kernel tier: qemu, a Debian kernel with IPVS and a busybox initramfs, cached under ${LDIR_VM_CACHE:-/var/cache/ldir-test-vm}
# (quick no-op once done). On failure the tier's test reports why (and fails under CI=true).
if [ "$(id -u)" = 0 ] && [ "$(uname -m)" = x86_64 ] && command -v apt-get >/dev/null 2>&1; then
  bash "$(dirname "${BASH_SOURCE[0]}")/kernel/vm/provision-vm.sh" --quiet \
    || echo "provision: kernel-tier VM not provisioned (see above); test/kernel will report it"
else
  echo "provision: not root, not x86_64 or no apt-get: the kernel tier (VM) will be skipped"
fi
exit 0
