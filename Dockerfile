# A NUMCHAIN validator image: `numchain run --home /data`, where /data is the node home that
# `numchain testnet` (or `numchain init` + genesis) made for this validator. compose.yaml runs four.
# What was and was not run of this file: docs/operators.md, "Containers".

# --- build: the engine (AssemblyScript → build/ma.wasm, reproducible, hash checked against genesis)
#     and src/ compiled to dist/; then the dev dependencies are dropped.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency runs an install script (none of the runtime ones needs one; the
# optional native msgpack extension is skipped and msgpackr uses its JavaScript path).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY asconfig.json tsconfig.json tsconfig.build.json ./
COPY assembly ./assembly
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
COPY genesis ./genesis
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- run: Node and the compiled package, nothing else.
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/ma.wasm ./build/ma.wasm
COPY --from=build /app/assembly/ma.wasm.sha256 ./assembly/ma.wasm.sha256
COPY --from=build /app/genesis ./genesis
# The node home is a volume: key.json (secret), config.toml, genesis.json and data/ (block log,
# snapshots, safety state). It must be writable by this user (uid 1000).
USER node
VOLUME /data
# gossip (other validators dial it), HTTP API with /health and /metrics
EXPOSE 26656 26657
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/numchain.js"]
CMD ["run", "--home", "/data"]
