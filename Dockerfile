# syntax=docker/dockerfile:1
# The VaultApp hook. Build: docker build -t vaultapp-hook:0.1.0 .
# Runtime on the current Node LTS; the code itself supports Node >= 20.
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
CMD ["node", "dist/src/server.js"]
