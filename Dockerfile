# syntax=docker/dockerfile:1
# The gateway image: one bundled file plus PGlite's runtime files, run as a
# non-root user. Build: docker build -t ai-deploy-kit/gateway:dev .
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY app ./app
RUN node scripts/bundle.mjs

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    DATA_DIR=/var/lib/ai-gateway
# uid/gid 10001 match the Kubernetes constructs' security context.
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --no-create-home --shell /usr/sbin/nologin gateway \
 && mkdir -p /var/lib/ai-gateway \
 && chown gateway:gateway /var/lib/ai-gateway
WORKDIR /app
# Owned by root and read-only to the gateway user: the code cannot be changed at run time.
COPY --from=build /src/dist/app /app
USER 10001:10001
EXPOSE 8080
VOLUME ["/var/lib/ai-gateway"]
# slim images have no curl; Node's fetch does the check (as the guide's HEALTHCHECK, on /health/live).
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "server.js"]
