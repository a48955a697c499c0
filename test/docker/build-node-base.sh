#!/usr/bin/env bash
# Prints the Node 20 base image to build ldir's Dockerfile with (docker build --build-arg NODE_IMAGE=...), making
# it available first:
#   1. node:20-bookworm-slim when the engine has it, or when `docker pull` gets it within LDIR_DOCKER_PULL_TIMEOUT
#      seconds (default 90);
#   2. otherwise (Docker Hub unreachable) a substitute, ldir-test/node-base:bookworm-20, reused when present, else
#      made here: Debian bookworm from deb.debian.org (debootstrap --variant=minbase, plus ca-certificates) with this
#      machine's own Node 20, npm and Node headers copied in where the official image has them (/usr/local),
#      configured as debian:bookworm-slim is (no fsync in dpkg, no docs), trusting the CAs this machine trusts
#      beyond Debian's (npm then works behind the same TLS-inspecting proxy as here), then `docker import`ed.
#      Needs root, debootstrap and a Node 20 on PATH; the downloaded .debs are kept under
#      ${LDIR_DOCKER_CACHE:-/var/cache/ldir-test-docker} for the next time. A test image, not one to ship.
# Progress goes to stderr; stdout is the image name only. Usage: build-node-base.sh [--substitute]
# (--substitute: skip step 1).
set -euo pipefail

OFFICIAL=node:20-bookworm-slim
SUBSTITUTE=ldir-test/node-base:bookworm-20
CACHE=${LDIR_DOCKER_CACHE:-/var/cache/ldir-test-docker}
MIRROR=${LDIR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PULL_TIMEOUT=${LDIR_DOCKER_PULL_TIMEOUT:-90}

say() { echo "node-base: $*" >&2; }
die() { say "$*"; exit 1; }
present() { docker image inspect "$1" >/dev/null 2>&1; }

if [ "${1:-}" != --substitute ]; then
  if present "$OFFICIAL"; then echo "$OFFICIAL"; exit 0; fi
  say "pulling $OFFICIAL (at most ${PULL_TIMEOUT} s)"
  if timeout "$PULL_TIMEOUT" docker pull -q "$OFFICIAL" >/dev/null 2>&1 && present "$OFFICIAL"; then
    echo "$OFFICIAL"; exit 0
  fi
  say "$OFFICIAL cannot be pulled: using the substitute $SUBSTITUTE"
fi
if present "$SUBSTITUTE"; then echo "$SUBSTITUTE"; exit 0; fi

[ "$(id -u)" = 0 ] || die "building $SUBSTITUTE needs root (debootstrap)"
# One builder at a time (concurrent test runs): the second one finds the image made by the first.
mkdir -p "$CACHE/debs"
exec 9>"$CACHE/build.lock"
flock -w 1200 9 || die "timed out waiting for $CACHE/build.lock"
if present "$SUBSTITUTE"; then echo "$SUBSTITUTE"; exit 0; fi
command -v debootstrap >/dev/null || die "building $SUBSTITUTE needs debootstrap (apt-get install debootstrap)"
node=$(readlink -f "$(command -v node)") || die "no node on PATH"
version=$("$node" -p 'process.versions.node')
[ "${version%%.*}" = 20 ] || die "$node is Node $version, not 20"
prefix=$(dirname "$(dirname "$node")")
npm_dir=$(npm root -g 2>/dev/null || true)/npm
[ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir=$prefix/lib/node_modules/npm
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found (npm root -g, $prefix/lib/node_modules)"
headers=$prefix/include/node

work=$(mktemp -d /var/tmp/ldir-node-base.XXXXXX)
root=$work/root
cleanup() {
  # debootstrap mounts proc and sys in the target: unmount whatever is left (the tmpfs last), then remove.
  findmnt -rn -o TARGET | grep -F "$work" | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# On a tmpfs dpkg's fsyncs cost nothing: debootstrap takes half the time. On disk when no tmpfs can be mounted.
mount -t tmpfs -o size=2g,mode=0755 ldir-node-base "$work" 2>/dev/null || say "no tmpfs: debootstrap on disk (slower)"

say "debootstrap bookworm (minbase) from $MIRROR"
t0=$SECONDS
if ! debootstrap --variant=minbase --include=ca-certificates --cache-dir="$CACHE/debs" bookworm "$root" "$MIRROR" \
    >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed"
fi
say "debootstrap done in $((SECONDS - t0)) s; adding Node $version and npm $("$node" "$npm_dir/bin/npm-cli.js" --version)"

# The official image's layout: node, npm and npx in /usr/local/bin, npm in /usr/local/lib/node_modules, headers in
# /usr/local/include/node (native/build.js builds the addon offline against them).
install -D -m 0755 "$node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
if [ -f "$headers/node_api.h" ]; then cp -a "$headers" "$root/usr/local/include/node"
else say "no Node headers at $headers: node-gyp will try to download them"; fi
# Security and point-release updates as in the official image; no package lists or .debs in the image.
cat >>"$root/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
[ -d "$root/etc/apt/apt.conf.d" ] || die "debootstrap left no $root/etc/apt"
# Configured as debian:bookworm-slim (node:20-bookworm-slim's base) is: dpkg without fsync (much faster builds), no
# .debs, package caches or translations kept, no documentation, manual pages or locales installed.
printf 'force-unsafe-io\n' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' 'path-exclude /usr/share/groff/*' \
  'path-exclude /usr/share/info/*' 'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/overrides/*' \
  'path-exclude /usr/share/locale/*' 'path-include /usr/share/locale/locale.alias' 'path-exclude /usr/share/man/*' \
  >"$root/etc/dpkg/dpkg.cfg.d/docker"
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/groff/* "$root"/usr/share/lintian/overrides/*
printf '%s\n' \
  'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
  'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
  'Dir::Cache::pkgcache "";' 'Dir::Cache::srcpkgcache "";' >"$root/etc/apt/apt.conf.d/docker-clean"
printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
# The CAs this machine trusts beyond Debian's (a TLS-inspecting proxy in front of the npm registry, say) are trusted
# in the image too, and npm uses the system bundle as the host's npm does (node alone uses its built-in list).
bundles=()
for bundle in /etc/ssl/certs/ca-certificates.crt "${NODE_EXTRA_CA_CERTS:-}"; do if [ -f "$bundle" ]; then bundles+=("$bundle"); fi; done
host_cas=$("$node" -e '
  const fs = require("fs");
  const [image, dir, ...host] = process.argv.slice(1);
  const pems = (f) => fs.readFileSync(f, "utf8").match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const have = new Set(pems(image).map((p) => p.replace(/\s/g, "")));
  let n = 0;
  for (const p of host.flatMap(pems)) {
    const key = p.replace(/\s/g, "");
    if (!have.has(key)) fs.writeFileSync(`${dir}/ldir-host-${++n}.crt`, `${p}\n`);
    have.add(key);
  }
  console.log(n);' "$root/etc/ssl/certs/ca-certificates.crt" "$root/usr/local/share/ca-certificates" ${bundles[@]+"${bundles[@]}"})
if [ "$host_cas" -gt 0 ]; then
  say "trusting $host_cas CA certificate(s) of this machine that Debian's bundle lacks"
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed in the new root"
fi
mkdir -p "$root/usr/local/etc"
echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >"$root/usr/local/etc/npmrc"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root/etc/resolv.conf" "$root/etc/hostname"
chroot "$root" /usr/local/bin/node -e 'require("https"); console.error("node-base: node runs in the new root")' \
  || die "the copied node does not run in the new root (missing libraries?)"

say "importing $SUBSTITUTE"
tar -C "$root" --numeric-owner -cf - . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$version" \
  -c 'CMD ["node"]' \
  -m "Debian bookworm minbase + Node $version from the build host (substitute for $OFFICIAL)" \
  - "$SUBSTITUTE" >/dev/null
say "$SUBSTITUTE made in $((SECONDS - t0)) s"
echo "$SUBSTITUTE"
