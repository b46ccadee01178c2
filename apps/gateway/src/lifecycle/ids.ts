import { createHash } from 'node:crypto';

/** A UUID-shaped id derived from a name, so the same input always names the same stream. */
export function deterministicId(namespace: string, name: string): string {
  const hash = createHash('sha256').update(`${namespace}\u0000${name}`).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-5${hash.slice(13, 16)}-a${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}

/** A release is one version of one service: CI facts naming service+version reach the same `release-<id>` stream. */
export function releaseIdFor(service: string, version: string): string {
  return deterministicId('release', `${service}@${version}`);
}
