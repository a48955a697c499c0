# ldir in a container: the director needs the host's network namespace and CAP_NET_ADMIN to program IPVS:
#   docker build -t ldir . && docker run --rm --network host --cap-add NET_ADMIN -v /etc/ha.d:/etc/ha.d:ro ldir check
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ldir
COPY package.json package-lock.json tsconfig.json ./
COPY native ./native
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm ci && npm run build && npm run build:native && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ipvsadm && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ldir
COPY --from=build /opt/ldir/package.json ./
COPY --from=build /opt/ldir/node_modules ./node_modules
COPY --from=build /opt/ldir/dist/src ./dist/src
COPY --from=build /opt/ldir/native/build/Release/ldir_native.node ./native/build/Release/ldir_native.node
COPY conf ./conf
RUN ln -s /opt/ldir/dist/src/main.js /usr/local/bin/ldir && ln -s /opt/ldir/dist/src/main.js /usr/local/sbin/ldirectord
ENTRYPOINT ["ldir"]
CMD ["check", "/etc/ha.d/ldirectord.cf"]
