# The eventbus controller image: `eventbus controller` (and the rest of the CLI) on Node 24 (LTS).
#   docker build -t registry.example.com/eventbus:0.1.0 .
#   eventbus install --image registry.example.com/eventbus:0.1.0 | kubectl apply --server-side -f -

# Build: compile src/ into dist/ with the dev dependencies (TypeScript).
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: the pinned runtime dependencies and dist/ only; no compiler, no sources, not root.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
USER 1000:1000
EXPOSE 8081
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["controller", "--health-port=8081"]
