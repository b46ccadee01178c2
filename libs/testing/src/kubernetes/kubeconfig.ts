import { writeFileSync } from 'node:fs';
import type { KubernetesStandIn } from './apiServer.js';

/** One kubeconfig context: the cluster `server` URL under a context name. */
export interface KubeconfigContext {
  context: string;
  server: string;
}

/** A kubeconfig (YAML is a superset of JSON, so this is what `kubectl` and client-node read) with one context per entry. */
export function kubeconfigFor(contexts: readonly KubeconfigContext[]): string {
  const first = contexts[0];
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': first?.context ?? '',
      // client-node refuses plain HTTP unless TLS verification is explicitly off (the stand-in speaks HTTP only).
      clusters: contexts.map(({ context, server }) => ({ name: context, cluster: { server, ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } })),
      users: [{ name: 'gatehouse', user: { token: 'stand-in-token' } }],
      contexts: contexts.map(({ context }) => ({ name: context, context: { cluster: context, user: 'gatehouse', namespace: 'default' } })),
      preferences: {},
    },
    null,
    2,
  );
}

/** Writes a kubeconfig with one context per stand-in, named after the stand-in's cluster (or `contextOf`). */
export function writeKubeconfig(path: string, standIns: readonly KubernetesStandIn[], contextOf: (standIn: KubernetesStandIn) => string = (s) => s.name): string {
  writeFileSync(path, kubeconfigFor(standIns.map((standIn) => ({ context: contextOf(standIn), server: standIn.url }))));
  return path;
}
