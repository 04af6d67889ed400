# modelwatch service image. Built and run by docker-compose.yml (not exercised in CI: the CI
# machine has no Docker engine).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production MODELWATCH_DATA_DIR=/var/lib/modelwatch
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /var/lib/modelwatch && chown node:node /var/lib/modelwatch
USER node
EXPOSE 8080
# The port the service listens on (MODELWATCH_API_PORT), not a fixed 8080.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.MODELWATCH_API_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# V8 flags: src/platform/config/node-flags.ts.
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/cli/main.js"]
CMD ["serve"]
