# ldir in a container. The director programs the IPVS table of the network namespace it runs in, so it must run in
# the host's (--network host) with CAP_NET_ADMIN; the ip_vs module is loaded on the host (a container cannot load it):
#
#   docker build -t ldir .
#   docker run --rm -v /etc/ha.d:/etc/ldir:ro ldir check /etc/ldir/ldirectord.cf
#   docker run -d --name ldir --init --network host --cap-add NET_ADMIN --stop-timeout 40 \
#       -v /etc/ha.d:/etc/ldir:ro ldir
#   docker exec ldir ldir /etc/ldir/ldirectord.cf status
#
# See README.md ("Docker") and docs/operations.md.

# The Node 20 base of both stages: the official image unless --build-arg NODE_IMAGE=... names another Debian bookworm
# image with Node 20, npm and Node's headers in /usr/local (test/docker/build-node-base.sh makes one when Docker Hub
# cannot be reached).
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compiler toolchain for the native addon, TypeScript compile, production dependencies ------------------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ldir
# Dependencies first (cached while the lock file does not change); the package's own install/prepare scripts need
# the sources, so they run explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY native ./native
COPY src ./src
# Only src/ is compiled (tests and benchmarks are not shipped); the output layout stays dist/src/.
RUN printf '{ "extends": "./tsconfig.json", "include": ["src/**/*.ts"] }\n' > tsconfig.image.json \
 && npx tsc -p tsconfig.image.json \
 && chmod +x dist/src/main.js \
 && npm run build:native \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: Node 20 and ipvsadm, no compiler ------------------------------------------------------------------
FROM ${NODE_IMAGE}
# ipvsadm: the fallback backend when netlink is not usable, and for operators (docker exec ldir ipvsadm -Ln).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ipvsadm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ldir
COPY --from=build /opt/ldir/package.json ./package.json
COPY --from=build /opt/ldir/node_modules ./node_modules
COPY --from=build /opt/ldir/dist/src ./dist/src
COPY --from=build /opt/ldir/native/build/Release/ldir_native.node ./native/build/Release/ldir_native.node
COPY conf ./conf
# `ldir` and `ldirectord` on PATH for docker exec (status, reload, drain); the image itself runs main.js directly.
RUN ln -s /opt/ldir/dist/src/main.js /usr/local/bin/ldir \
 && ln -s /opt/ldir/dist/src/main.js /usr/local/sbin/ldirectord \
 && mkdir -p /etc/ldir /run/ldir
LABEL org.opencontainers.image.title="ldir" \
      org.opencontainers.image.description="LVS/IPVS director control plane (ldirectord replacement); run with --network host --cap-add NET_ADMIN" \
      org.opencontainers.image.licenses="GPL-2.0-or-later"
# ldir stops on SIGTERM (docker stop) after its cleanup; give it time with --stop-timeout (default 10 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=1", "/opt/ldir/dist/src/main.js"]
# PID 1 in the foreground, the configuration mounted at /etc/ldir. Logs go where `logfile` says: set supervised=yes
# (or logfile="/dev/stdout") in the configuration to read them with docker logs.
CMD ["--foreground", "/etc/ldir/ldirectord.cf", "start"]
