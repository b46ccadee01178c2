import { useEffect, useMemo, useRef, useState } from 'react';
import { api, formatInstant, type Json, streamEvents } from '../api.js';
import { Link } from '../components/Link.js';
import { MetricChart, type Point } from '../components/MetricChart.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import { AUDIT_READER_ROLES, holdsAny, type Session } from '../session.js';

interface LiveEvent {
  position: string;
  type: string;
  streamId: string;
  occurredAt: string;
  data: Json;
}

/** The events of the change as they arrive over server-sent events (first the story so far, then live). */
function useChangeStream(session: Session, changeRequestId: string): { events: LiveEvent[]; state: string } {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    streamEvents(
      session,
      `/api/stream/change-requests/${encodeURIComponent(changeRequestId)}`,
      (name, data) => {
        if (name === 'change') setEvents((list) => (list.some((e) => e.position === data.position) ? list : [...list, data as LiveEvent]));
        else if (name === 'caught-up') setState('live');
      },
      abort.signal,
      (s) => setState(s === 'live' ? 'connected' : s),
    ).catch((error: Error) => setState(`closed: ${error.message}`));
    return () => abort.abort();
  }, [session, changeRequestId]);
  return { events, state };
}

export function ChangePage({ session, changeRequestId }: { session: Session; changeRequestId: string }) {
  const { events, state } = useChangeStream(session, changeRequestId);
  // At most one re-read a second however fast events arrive (a canary's samples come in bursts).
  const lastPosition = useThrottled(events.at(-1)?.position ?? '', 1_000);
  // Status, approvals and story follow the live stream: read again when a new event of the change arrives.
  const change = useApi(session, `/api/change-requests/${encodeURIComponent(changeRequestId)}`, lastPosition);
  const pending = useApi(session, '/api/approvals/pending', lastPosition);
  const canReadStory = holdsAny(session, AUDIT_READER_ROLES);
  const story = useApi(session, canReadStory ? `/api/change-requests/${encodeURIComponent(changeRequestId)}/story` : null, lastPosition);
  const cr: Json = change.data?.changeRequest;
  const environment: string | undefined = cr?.draft?.environments?.[0];
  const refusal = [...events].reverse().find((e) => e.type === 'SchedulingRefused' || e.type === 'DeploymentStartRefused');
  const booking = [...events].reverse().find((e) => e.type === 'DeploymentScheduled' || e.type === 'DeploymentRescheduled');
  const waiting = (pending.data?.items ?? []).filter((p: Json) => p.changeRequestId === changeRequestId);

  return (
    <section>
      <p>
        <Link to="/changes">All changes</Link>
      </p>
      <h1>{cr?.draft?.title ?? `Change ${changeRequestId}`}</h1>
      <Loading when={change.loading && change.data === undefined} />
      <Problem message={change.error} />
      {cr ? (
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <span className="badge" data-testid="change-status">
              {cr.status}
            </span>
          </dd>
          <dt>Environment</dt>
          <dd>{environment ?? '—'}</dd>
          <dt>Release</dt>
          <dd>{cr.draft?.releaseId ?? '—'}</dd>
          <dt>Author</dt>
          <dd>{cr.draft?.author ?? '—'}</dd>
          <dt>Kind</dt>
          <dd>{cr.kind ?? 'normal'}</dd>
        </dl>
      ) : null}

      <h2>Approvals still needed</h2>
      {waiting.length === 0 ? (
        <p>None outstanding.</p>
      ) : (
        <ul>
          {waiting.map((p: Json) => (
            <li key={p.role}>
              {p.missing} × {p.role}
              {p.onCall ? ' (on call)' : ''} — <Link to="/approvals">open the approval queue</Link>
            </li>
          ))}
        </ul>
      )}

      <h2>Booking</h2>
      {booking ? (
        <p>
          Booked for <strong>{formatInstant(booking.data.scheduledFor)}</strong>
          {booking.data.windowId ? ` in window ${booking.data.windowId}` : ''}.
        </p>
      ) : (
        <p>Not booked.</p>
      )}
      {refusal ? (
        <div className="problem refusal" role="status" aria-label="Scheduling refused">
          <p>
            <strong>Refused</strong> at {formatInstant(refusal.occurredAt)}: {(refusal.data.reasons ?? [refusal.data.reason]).join('; ')}
          </p>
          <p>
            Next allowed time: <strong data-testid="next-allowed">{formatInstant(refusal.data.nextAllowedAt ?? null)}</strong>
          </p>
        </div>
      ) : null}

      {cr && environment && NOT_STARTED.includes(cr.status) ? <StartCheck session={session} environment={environment} kind={cr.kind ?? 'normal'} lastPosition={lastPosition} /> : null}

      <DeploymentProgress events={events} state={state} />
      <RollbackEvidence events={events} />

      <h2>Story</h2>
      {canReadStory ? <Story story={story.data} error={story.error} /> : <EventList events={events} />}
    </section>
  );
}

/** `value`, updated at most once per `ms` (the latest value at the end of each period). */
function useThrottled<T>(value: T, ms: number): T {
  const [shown, setShown] = useState(value);
  const latest = useRef(value);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  latest.current = value;
  useEffect(() => {
    if (timer.current !== null) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      setShown(latest.current);
    }, ms);
  }, [value, ms]);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
    },
    [],
  );
  return shown;
}

/** Statuses before a deployment starts: the policy's answer to "may it start now?" is still news. */
const NOT_STARTED = ['submitted', 'in_review', 'awaiting_approval', 'approved', 'scheduled'];

/** The policy's decision for starting now (POST /api/policy/evaluate): reasons, and the next allowed time when refused. */
function StartCheck({ session, environment, kind, lastPosition }: { session: Session; environment: string; kind: string; lastPosition: string }) {
  const [decision, setDecision] = useState<Json>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api(session, 'POST', '/api/policy/evaluate', { environment, changeType: kind }).then(setDecision, (e: Error) => setError(e.message));
  }, [session, environment, kind, lastPosition]);
  if (error !== undefined) return <Problem message={error} />;
  if (decision === undefined) return null;
  const denials = (decision.reasons as Json[]).filter((r) => r.kind === 'deny');
  return decision.allowed ? (
    <p className="ok">Policy: a {kind} change may start in {environment} now.</p>
  ) : (
    <div className="problem refusal" role="status" aria-label="Policy refuses a start now">
      <p>
        <strong>Refused now</strong> in {environment}: {denials.map((r) => r.message).join('; ')}
      </p>
      <p>
        Next allowed time: <strong data-testid="policy-next-allowed">{formatInstant(decision.nextAllowedAt)}</strong>
      </p>
    </div>
  );
}

function DeploymentProgress({ events, state }: { events: LiveEvent[]; state: string }) {
  const started = [...events].reverse().find((e) => e.type === 'DeploymentStarted');
  const progress = useMemo(() => {
    if (started === undefined) return null;
    const mine = events.filter((e) => e.data?.deploymentId === started.data.deploymentId);
    const completed = new Set(mine.filter((e) => e.type === 'DeploymentStepCompleted').map((e) => e.data.index));
    const running = new Set(mine.filter((e) => e.type === 'DeploymentStepStarted').map((e) => e.data.index));
    // A step whose apply was refused for good (e.g. no flag bound for a feature-flag deployment) failed, it is not running.
    const refused = new Set(mine.filter((e) => e.type === 'DeploymentEffectFailed' && e.data.index !== undefined).map((e) => e.data.index));
    const end = mine.find((e) => ['DeploymentSucceeded', 'DeploymentFailed', 'DeploymentAborted', 'DeploymentRolledBack'].includes(e.type));
    const paused = mine.filter((e) => e.type === 'DeploymentPaused').at(-1);
    return { completed, running, refused, end, paused };
  }, [events, started]);
  return (
    <section aria-labelledby="progress-heading">
      <h2 id="progress-heading">Deployment progress</h2>
      <p className="meta" aria-live="polite">
        Live updates: {state}
      </p>
      {started === undefined || progress === null ? (
        <p>Not started.</p>
      ) : (
        <>
          <p>
            {started.data.strategy} deployment of {started.data.service} {started.data.version} to {started.data.environment}, started {formatInstant(started.data.startedAt)}
            {progress.end ? ` — ${progress.end.type.replace('Deployment', '').toLowerCase()} at ${formatInstant(progress.end.occurredAt)}` : ''}
            {progress.end?.type === 'DeploymentFailed' && typeof progress.end.data?.reason === 'string' ? `: ${progress.end.data.reason}` : ''}
          </p>
          <ol className="steps" aria-label="Deployment steps">
            {(started.data.steps as Json[]).map((step: Json, i: number) => {
              const index = step.index ?? i;
              const status = progress.completed.has(index) ? 'done' : progress.refused.has(index) ? 'failed' : progress.running.has(index) ? 'running' : 'waiting';
              return (
                <li key={index} className={`step ${status}`} data-testid="deployment-step" data-status={status}>
                  <span>{step.name ?? `step ${index + 1}`}</span> <span>{step.trafficPercent ?? step.percent ?? ''}%</span> <span className="badge">{status}</span>
                </li>
              );
            })}
          </ol>
          {progress.paused && !progress.end ? <p role="status">Paused: {progress.paused.data.analysis?.reason ?? 'inconclusive analysis'}; a decision is needed by {formatInstant(progress.paused.data.decideBy)}.</p> : null}
        </>
      )}
    </section>
  );
}

function RollbackEvidence({ events }: { events: LiveEvent[] }) {
  const fired = events.filter((e) => e.type === 'RollbackTriggerFired');
  const rolledBack = events.find((e) => e.type === 'DeploymentRolledBack');
  if (fired.length === 0 && rolledBack === undefined) return null;
  const samples: Json[] = events.filter((e) => e.type === 'MetricSamplesRecorded').flatMap((e) => e.data.samples ?? []);
  return (
    <section aria-labelledby="rollback-heading">
      <h2 id="rollback-heading">Rollback evidence</h2>
      {rolledBack ? (
        <p>
          Rolled back ({rolledBack.data.initiator}) at {formatInstant(rolledBack.data.at)}: {rolledBack.data.reason}
        </p>
      ) : null}
      {fired.map((f) => {
        const evidence = f.data.evidence;
        const series: Point[] = samples.filter((s) => s.metric === evidence.metric).map((s) => ({ at: s.at, value: s.value }));
        const points = series.length > 0 ? series : (evidence.observed as Point[]);
        return (
          <div key={f.position}>
            <p>
              Trigger <strong>{f.data.triggerId}</strong>: {f.data.reason}
            </p>
            <MetricChart title={`${evidence.metric} (${evidence.operator} ${evidence.threshold} for ${evidence.durationSeconds}s)`} points={points} threshold={evidence.threshold} breach={{ start: evidence.windowStart, end: evidence.windowEnd }} />
          </div>
        );
      })}
    </section>
  );
}

function Story({ story, error }: { story: Json; error: string | undefined }) {
  if (error !== undefined) return <Problem message={error} />;
  if (story === undefined) return <p>Loading…</p>;
  return (
    <table>
      <caption>
        Every step of the change with actor, policy version and reasons (status {story.state.status}; policy {String(story.state.policyVersion ?? '—').slice(0, 19)})
      </caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">What</th>
          <th scope="col">Who</th>
          <th scope="col">Policy</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        {story.events.map((e: Json) => (
          <tr key={e.globalPosition}>
            <td>{formatInstant(e.occurredAt ?? e.recordedAt)}</td>
            <td>{e.type}</td>
            <td>
              {e.actor ?? '—'}
              {e.data?.role ? ` as ${e.data.role}` : ''}
            </td>
            <td>{e.policyVersion ? String(e.policyVersion).slice(7, 19) : '—'}</td>
            <td>{reasonsOf(e.data)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EventList({ events }: { events: LiveEvent[] }) {
  return (
    <>
      <p className="meta">The full story (actors, policy versions) is for audit-reader roles; the events of the change:</p>
      <ol>
        {events.map((e) => (
          <li key={e.position}>
            {formatInstant(e.occurredAt)} — {e.type} {reasonsOf(e.data)}
          </li>
        ))}
      </ol>
    </>
  );
}

function reasonsOf(data: Json): string {
  if (data === null || typeof data !== 'object') return '';
  const parts: string[] = [];
  if (Array.isArray(data.reasons)) parts.push(data.reasons.map((r: Json) => (typeof r === 'string' ? r : (r.message ?? JSON.stringify(r)))).join('; '));
  if (typeof data.reason === 'string') parts.push(data.reason);
  if (typeof data.comment === 'string') parts.push(`“${data.comment}”`);
  if (typeof data.nextAllowedAt === 'string') parts.push(`next allowed ${formatInstant(data.nextAllowedAt)}`);
  return parts.join(' — ');
}
