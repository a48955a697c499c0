#!/usr/bin/env bash
# Installs the Debian packages that ldir's test tiers use; idempotent. Without root or apt-get it only reports
# which tiers will be skipped (each such test says so itself).
set -u
need=()
[ -x /usr/sbin/ldirectord ] || need+=(ldirectord)      # differential tier: Debian's ldirectord 4.12 (+ ipvsadm)
command -v unshare >/dev/null 2>&1 || need+=(util-linux) # name lookups isolated in a fresh network namespace
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "provision: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
      || echo "provision: could not install ${need[*]}; the tiers that need them will be skipped"
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
