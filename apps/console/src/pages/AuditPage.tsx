import { type FormEvent, useState } from 'react';
import { api, formatInstant, type Json } from '../api.js';
import { Link } from '../components/Link.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import type { Session } from '../session.js';

const PAGE = 100;

/** The event log as a timeline with filters, the replay export and the log's verification. */
export function AuditPage({ session }: { session: Session }) {
  const [filters, setFilters] = useState({ type: '', until: '', stream: '' });
  const [applied, setApplied] = useState(filters);
  const [after, setAfter] = useState('0');
  const query = new URLSearchParams({ after, limit: String(PAGE), ...(applied.type ? { type: applied.type } : {}), ...(applied.until ? { until: new Date(`${applied.until}Z`).toISOString() } : {}) });
  const events = useApi(session, `/api/events?${query.toString()}`);
  const [verification, setVerification] = useState<Json>();
  const [verifying, setVerifying] = useState(false);
  const head = useApi(session, '/api/audit/tree-heads/latest');

  const apply = (event: FormEvent): void => {
    event.preventDefault();
    setAfter('0');
    setApplied(filters);
  };
  const verify = async (): Promise<void> => {
    setVerifying(true);
    try {
      setVerification(await api(session, 'GET', '/api/audit/verify'));
    } catch (error) {
      setVerification({ ok: false, reason: (error as Error).message });
    } finally {
      setVerifying(false);
    }
  };
  const shown = (events.data?.events ?? []).filter((e: Json) => applied.stream === '' || String(e.streamId).includes(applied.stream));

  return (
    <section>
      <h1>Audit</h1>
      <div className="card">
        <h2>Verification</h2>
        <button type="button" onClick={() => void verify()} disabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify the whole log'}
        </button>
        {verification ? (
          <p role="status" className={verification.ok ? 'ok' : 'problem'} data-testid="verify-status">
            {verification.ok
              ? `Intact: ${verification.eventsChecked} events, ${verification.sealsChecked} seals checked up to position ${verification.lastPosition}.`
              : `Tampering or damage found${verification.firstBadPosition ? ` at position ${verification.firstBadPosition}` : ''}: ${verification.reason}`}
          </p>
        ) : null}
        <p className="meta">
          Latest signed tree head: {head.data ? `${head.data.treeSize ?? head.data.head?.treeSize ?? '?'} leaves` : head.error ?? '…'} ·{' '}
          <a href="/api/audit/export" onClick={(e) => downloadExport(e, session)}>
            Download the replay export (NDJSON)
          </a>
        </p>
      </div>
      <form onSubmit={apply} className="toolbar" aria-label="Timeline filters">
        <label htmlFor="f-type">Event type</label>
        <input id="f-type" value={filters.type} onChange={(e) => setFilters({ ...filters, type: e.target.value })} placeholder="ApprovalGranted" />
        <label htmlFor="f-stream">Stream contains</label>
        <input id="f-stream" value={filters.stream} onChange={(e) => setFilters({ ...filters, stream: e.target.value })} placeholder="changeRequest-" />
        <label htmlFor="f-until">Recorded until (UTC)</label>
        <input id="f-until" type="datetime-local" value={filters.until} onChange={(e) => setFilters({ ...filters, until: e.target.value })} />
        <button type="submit">Apply</button>
      </form>
      <Loading when={events.loading} />
      <Problem message={events.error} />
      <table>
        <caption>Timeline from position {after}</caption>
        <thead>
          <tr>
            <th scope="col">Position</th>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Stream</th>
            <th scope="col">Actor</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e: Json) => (
            <tr key={e.globalPosition}>
              <td>{e.globalPosition}</td>
              <td>{formatInstant(e.metadata?.occurredAt ?? e.recordedAt)}</td>
              <td>{e.type}</td>
              <td>{changeLink(e) ?? e.streamId}</td>
              <td>{e.metadata?.actor ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="actions">
        <button type="button" disabled={after === '0'} onClick={() => setAfter('0')}>
          First page
        </button>
        <button type="button" disabled={!events.data?.next} onClick={() => setAfter(events.data.next)}>
          Next page
        </button>
      </div>
    </section>
  );
}

function changeLink(e: Json) {
  const id = typeof e.data?.changeRequestId === 'string' ? e.data.changeRequestId : null;
  return id === null ? null : <Link to={`/changes/${id}`}>{e.streamId}</Link>;
}

/** The export needs the bearer token, so it is fetched and saved rather than opened as a plain link. */
function downloadExport(event: React.MouseEvent, session: Session): void {
  event.preventDefault();
  void fetch('/api/audit/export', { headers: { authorization: `Bearer ${session.token}` } })
    .then((r) => r.blob())
    .then((blob) => {
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = 'gatehouse-replay.ndjson';
      a.click();
      URL.revokeObjectURL(url);
    });
}
