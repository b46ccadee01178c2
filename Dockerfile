# One image for every Gatehouse process; the container's command picks which one runs:
#   node apps/<gateway|change-requests|approvals|scheduling|deployments|monitoring|projections|relay>/dist/main.js
# (see docker-compose.yml and deploy/k8s/). Not built in CI: no Docker engine is available there.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY . .
# Dev dependencies are needed for the build (swc, nx); the same tree then runs the services.
RUN npm install --include=dev --no-audit --no-fund && npm run build
# Where the deployments process keeps the sandbox cluster's state, and the gateway its tree-head file and
# development audit key (volumes in docker-compose.yml; a new named volume copies this ownership).
RUN mkdir -p /var/lib/gatehouse/audit && chown -R node:node /var/lib/gatehouse
USER node
ENV HOST=0.0.0.0 PORT=8080 GATEHOUSE_POLICIES=/app/deploy/policies
EXPOSE 8080
CMD ["node", "apps/gateway/dist/main.js"]
