#!/bin/sh
# Init of the kernel-tier VM (busybox sh). Stage 1 runs as /init of the initramfs: it mounts the host root (9p,
# read-only) under a tmpfs overlay and switch_roots into it. Stage 2 runs as PID 1 inside that root: it loads the
# IPVS modules, runs the job written by run-in-vm.ts into the results share, records the exit code and powers off.
#
# Console protocol read by run-in-vm.ts: "LDIR-VM-BEGIN" when the job starts, "LDIR-VM-EXIT=<n>" when it ended,
# "LDIR-VM-ERROR: <why>" when the VM itself could not be set up. The job's output goes to <results>/output and its
# exit code to <results>/rc.

VM_DIR=/.ldir-vm          # inside the new root: busybox, this script, the results share
RES="$VM_DIR/results"

stage1() {
  /bin/busybox --install -s /bin
  export PATH=/bin
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
  exec </dev/console >/dev/console 2>&1
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  echo "ldir-vm: stage 1 ($(uname -r))"

  while read -r m; do
    insmod "/modules/$m" || fatal "insmod $m failed"
  done < /modules/order

  # The virtio devices may bind a moment after their driver loaded.
  opts="trans=virtio,version=9p2000.L,msize=262144"
  i=0
  until mount -t 9p -o "$opts,ro,cache=loose" hostroot /mnt/host 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || fatal "cannot mount the 9p share hostroot"
    sleep 0.1
  done
  mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fatal "tmpfs for the overlay"
  mkdir -p /mnt/rw/upper /mnt/rw/work
  mount -t overlay overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /newroot \
    || fatal "overlay mount failed"

  mkdir -p "/newroot$VM_DIR/results"
  cp /bin/busybox "/newroot$VM_DIR/busybox"
  cp /init "/newroot$VM_DIR/init.sh"
  mount -t 9p -o "$opts" results "/newroot$RES" || fatal "cannot mount the 9p share results"
  for m in dev proc sys; do
    mount --move "/$m" "/newroot/$m" || fatal "mount --move /$m"
  done
  exec switch_root /newroot "$VM_DIR/busybox" sh "$VM_DIR/init.sh" stage2
  fatal "switch_root failed"
}

stage2() {
  BB="$VM_DIR/busybox"
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  # No separate tmpfs on /tmp: the checkout may live there (CI clones anywhere) and the overlay already makes /tmp
  # writable in the guest without touching the host.
  $BB mount -t tmpfs -o mode=0755 tmpfs /run
  $BB mkdir -p /dev/pts /dev/shm /run/lock
  $BB mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
  $BB mount -t tmpfs -o mode=1777 tmpfs /dev/shm
  [ -d /sys/fs/cgroup ] && $BB mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
  $BB hostname ldir-vm
  $BB ip link set lo up || fatal "ip link set lo up"

  # shellcheck disable=SC1091
  . "$RES/vm.conf" || fatal "no $RES/vm.conf"
  kver="$($BB uname -r)"
  # modprobe (host's kmod, also used by the kernel for autoloading) finds the unpacked modules here.
  $BB mkdir -p /lib/modules
  $BB ln -sfn "$LDIR_VM_MODDIR" "/lib/modules/$kver"
  modprobe=/sbin/modprobe
  [ -x "$modprobe" ] || modprobe="$BB modprobe"
  # crc32c_generic before anything that pulls libcrc32c (ip_vs does).
  $modprobe -q crc32c_generic || echo "ldir-vm: warning: modprobe crc32c_generic failed"
  # shellcheck disable=SC2086
  $modprobe -a -q ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed \
    ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip veth dummy ${LDIR_VM_MODULES:-} \
    || echo "ldir-vm: warning: some modules did not load"
  [ -e /proc/net/ip_vs ] || echo "ldir-vm: warning: /proc/net/ip_vs is missing"

  if [ -n "${LDIR_VM_WATCHDOG_S:-}" ]; then
    ( $BB sleep "$LDIR_VM_WATCHDOG_S"; echo "LDIR-VM-ERROR: guest watchdog: still running after ${LDIR_VM_WATCHDOG_S} s"
      $BB poweroff -f ) &
  fi

  shell=/bin/bash
  [ -x "$shell" ] || shell=/bin/sh
  echo "LDIR-VM-BEGIN"
  $shell "$RES/job.sh" </dev/null >"$RES/output" 2>&1
  rc=$?
  echo "$rc" > "$RES/rc"
  $BB sync
  echo "LDIR-VM-EXIT=$rc"
  $BB umount "$RES" 2>/dev/null
  $BB poweroff -f
}

fatal() {
  echo "LDIR-VM-ERROR: $*"
  if [ -n "${BB:-}" ]; then $BB poweroff -f; else poweroff -f; fi
  exit 1
}

case "${1:-stage1}" in
  stage2) stage2 ;;
  *) stage1 ;;
esac
