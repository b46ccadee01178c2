/** The few gateway audit endpoints the auditor's commands call, typed, over fetch. */
import type { SignedTreeHead } from '@gatehouse/eventstore';

export interface PublicKeyView {
  algorithm: 'ed25519';
  keyId: string;
  publicKeyPem: string;
}

export interface LeafView {
  index: number;
  globalPosition: string;
  streamId: string;
  streamVersion: string;
  eventHash: string;
}

export interface EventView {
  id: string;
  type: string;
  streamId: string;
  streamVersion: string;
  globalPosition: string;
  recordedAt: string;
  data: unknown;
  metadata: Record<string, unknown>;
  hash: string;
  previousHash: string;
}

export interface InclusionProofView {
  treeSize: number;
  rootHash: string;
  leafIndex: number;
  leafHash: string;
  auditPath: string[];
  event: EventView;
}

export interface ConsistencyProofView {
  from: number;
  to: number;
  proof: string[];
}

export interface ChangeStoryView {
  changeRequestId: string;
  asOf: { position: string } | { at: string } | null;
  state: {
    status: string;
    window: { start: string; end: string } | null;
    outcome: string | null;
    approval: { status: string; grants: { role: string; approver: string; grantedAt: string }[] } | null;
    policyVersion: string | null;
  };
  streams: string[];
  events: {
    leafIndex: number;
    globalPosition: string;
    streamId: string;
    streamVersion: string;
    type: string;
    occurredAt: string | null;
    recordedAt: string;
    actor: string | null;
    policyVersion: string | null;
    data: unknown;
  }[];
}

/** The gateway answered with an error or could not be reached; the message says which. */
export class AuditServerError extends Error {
  override readonly name = 'AuditServerError';
}

/** Leaves fetched per request (the gateway's maximum page). */
const LEAF_PAGE = 10_000;

export function auditClient(baseUrl: string, token: string | undefined) {
  async function call<T>(method: 'GET' | 'POST', route: string): Promise<T> {
    const url = `${baseUrl.replace(/\/$/, '')}${route}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new AuditServerError(`cannot reach ${url}: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: the raw body is the message
      }
      throw new AuditServerError(`${method} ${route} answered ${response.status}: ${message}`);
    }
    return JSON.parse(text) as T;
  }

  /** The body of a streamed answer, chunk by chunk as text. */
  async function* stream(route: string): AsyncGenerator<string> {
    const url = `${baseUrl.replace(/\/$/, '')}${route}`;
    let response: Response;
    try {
      response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    } catch (error) {
      throw new AuditServerError(`cannot reach ${url}: ${(error as Error).message}`);
    }
    if (!response.ok || response.body === null) {
      const text = await response.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not JSON: the raw body is the message
      }
      throw new AuditServerError(`GET ${route} answered ${response.status}: ${message}`);
    }
    const decoder = new TextDecoder();
    for await (const chunk of response.body) yield decoder.decode(chunk as Uint8Array, { stream: true });
    const rest = decoder.decode();
    if (rest !== '') yield rest;
  }

  return {
    story: (changeRequestId: string, asOf?: string) =>
      call<ChangeStoryView>('GET', `/api/change-requests/${encodeURIComponent(changeRequestId)}/story${asOf === undefined ? '' : `?asOf=${encodeURIComponent(asOf)}`}`),
    verify: () => call<{ ok: boolean; reason?: string; firstBadPosition?: string; streamId?: string | null; streamVersion?: string | null; eventsChecked?: number }>('GET', '/api/audit/verify'),
    exportLog: (query: URLSearchParams) => stream(`/api/audit/export?${query.toString()}`),
    publicKey: () => call<PublicKeyView>('GET', '/api/audit/public-key'),
    signTreeHead: async () => (await call<{ treeHead: SignedTreeHead }>('POST', '/api/audit/tree-heads')).treeHead,
    latestTreeHead: async () => (await call<{ treeHead: SignedTreeHead }>('GET', '/api/audit/tree-heads/latest')).treeHead,
    consistencyProof: (from: number, to: number) => call<ConsistencyProofView>('GET', `/api/audit/proof/consistency?from=${from}&to=${to}`),
    inclusionProof: (position: string, treeSize: number) =>
      call<InclusionProofView>('GET', `/api/audit/proof/inclusion?position=${encodeURIComponent(position)}&treeSize=${treeSize}`),
    /** Leaves [from, to) of the log tree, in order. */
    async leaves(from: number, to: number): Promise<LeafView[]> {
      const all: LeafView[] = [];
      for (let next = from; next < to; ) {
        const limit = Math.min(LEAF_PAGE, to - next);
        const page = await call<{ leaves: LeafView[] }>('GET', `/api/audit/leaves?from=${next}&limit=${limit}`);
        all.push(...page.leaves);
        if (page.leaves.length < limit) break;
        next += limit;
      }
      return all;
    },
  };
}

export type AuditClient = ReturnType<typeof auditClient>;
