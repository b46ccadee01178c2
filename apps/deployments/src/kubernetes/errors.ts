/** Errors of the Kubernetes executor: each names the cluster (and the object) so an operator knows where to look. */

/** A cluster of the policy has no context in the kubeconfig, or the environment lists no cluster. */
export class UnknownClusterError extends Error {
  override readonly name = 'UnknownClusterError';
  readonly code = 'UNKNOWN_CLUSTER';
  constructor(
    readonly environment: string,
    readonly cluster: string,
    message: string,
  ) {
    super(message);
  }
}

/** A cluster did not answer (connection refused/reset, timeout) or answered an error that retries did not get past. */
export class ClusterUnreachableError extends Error {
  override readonly name = 'ClusterUnreachableError';
  readonly code = 'CLUSTER_UNREACHABLE';
  constructor(
    readonly cluster: string,
    readonly object: string,
    override readonly cause: unknown,
  ) {
    super(`cluster ${cluster}: ${object}: ${describe(cause)}`);
  }
}

/** A step that cannot complete on one cluster: the object that refused and what was observed. */
export class ClusterStepError extends Error {
  override readonly name = 'ClusterStepError';
  readonly code = 'CLUSTER_STEP_FAILED';
  constructor(
    readonly cluster: string,
    readonly object: string,
    readonly reason: string,
    readonly observed: Record<string, unknown> = {},
  ) {
    super(`cluster ${cluster}: ${object}: ${reason}`);
  }
}

/** A manifest Gatehouse built does not pass the Kubernetes schema (kubernetes-models): it is not sent. */
export class InvalidManifestError extends Error {
  override readonly name = 'InvalidManifestError';
  readonly code = 'INVALID_MANIFEST';
  constructor(
    readonly object: string,
    readonly problem: string,
  ) {
    super(`${object} does not pass the Kubernetes schema: ${problem}`);
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = (error as { code?: unknown }).code;
    const body = (error as { body?: unknown }).body;
    const status = typeof body === 'string' ? safeMessage(body) : undefined;
    return [typeof code === 'number' ? `HTTP ${code}` : undefined, status ?? error.message.split('\n')[0], cause?.code ?? cause?.message].filter(Boolean).join(': ');
  }
  return String(error);
}

function safeMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === 'string' ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}
