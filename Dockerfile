# syntax=docker/dockerfile:1
# The VaultApp hook. Build: docker build -t vaultapp-hook:0.1.0 .
# Runtime on Node 26, the current release line. The code and its dependencies support
# Node >= 22.13 (package.json's engines; CI runs the tests on both lines).
ARG NODE_IMAGE=node:26-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# The image's unprivileged "node" user (uid 1000); the manifests also run with a read-only root filesystem.
USER 1000:1000
EXPOSE 8080
# --heap-growing-percent=50: V8 lets the old generation grow 1.5× past what survived the
# last full GC instead of up to 4×. The hook keeps ~20 MB alive; under a sustained load
# the default grew the heap to ~75 MB of mostly garbage (peak RSS ~142 MB with 10,000
# VaultApps), 1.5× keeps it near 130 MB at no measurable CPU cost (npm run bench reads
# these flags from this line). --optimize-for-size reached 95 MB but cost ~70% more CPU.
# --max-semi-space-size=8 (MB): a smaller young generation. Each sync allocates its parsed
# request and answer and drops them; with Node's default the young generation alone grew
# the peak to 165 MB with 10,000 VaultApps (bench/churn.ts), with 8 MB 148 MB, at no
# measurable CPU cost (1,579 and 1,757 syncs per CPU-second in the same conditions).
CMD ["node", "--heap-growing-percent=50", "--max-semi-space-size=8", "dist/src/server.js"]
