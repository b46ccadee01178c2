/**
 * The Prometheus HTTP API, the part the metric source uses: `GET /api/v1/query_range` with explicit start,
 * end and step (so an evaluation is fixed by the injectable clock, not by when the request arrives).
 */

/** One series of a range query: its labels and its points (unix seconds, value as Prometheus formats it). */
export interface RangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

export type RangeQueryResult =
  | { ok: true; series: RangeSeries[] }
  /** `unreachable`: no HTTP answer (connection refused, timeout); `query_error`: Prometheus answered with an error. */
  | { ok: false; problem: 'unreachable' | 'query_error'; detail: string };

export interface PrometheusClient {
  readonly url: string;
  queryRange(query: string, range: { start: Date; end: Date; stepSeconds: number }): Promise<RangeQueryResult>;
}

/** How long one query may take before Prometheus counts as unreachable. */
export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5_000;

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 (`PROMETHEUS_URL`). */
  url: string;
  /** @defaultValue DEFAULT_PROMETHEUS_TIMEOUT_MS */
  timeoutMs?: number;
}

export function createPrometheusClient({ url, timeoutMs = DEFAULT_PROMETHEUS_TIMEOUT_MS }: PrometheusClientOptions): PrometheusClient {
  const base = url.replace(/\/+$/, '');
  return {
    url: base,
    async queryRange(query, { start, end, stepSeconds }) {
      const params = new URLSearchParams({ query, start: (start.getTime() / 1000).toFixed(3), end: (end.getTime() / 1000).toFixed(3), step: String(stepSeconds), timeout: `${Math.ceil(timeoutMs / 1000)}s` });
      let response: Response;
      try {
        response = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body: params, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        return { ok: false, problem: 'unreachable', detail: `${base} did not answer: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : String(error)}` };
      }
      const text = await response.text().catch(() => '');
      let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: RangeSeries[] } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // A proxy's error page, or Prometheus down behind a load balancer.
        return { ok: false, problem: response.status >= 500 ? 'unreachable' : 'query_error', detail: `HTTP ${response.status} without a Prometheus answer: ${text.slice(0, 200)}` };
      }
      if (body.status !== 'success') return { ok: false, problem: 'query_error', detail: `${body.errorType ?? `HTTP ${response.status}`}: ${body.error ?? 'no error given'}` };
      if (body.data?.resultType !== 'matrix') return { ok: false, problem: 'query_error', detail: `expected a matrix, got ${body.data?.resultType ?? 'nothing'}` };
      return { ok: true, series: body.data.result ?? [] };
    },
  };
}
