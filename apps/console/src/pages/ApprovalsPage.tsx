import { useEffect, useState } from 'react';
import { api, type Json } from '../api.js';
import { Link } from '../components/Link.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import type { Session } from '../session.js';

/** The queue is read again this often while the page is open: requests arrive and are decided by others. */
const QUEUE_REFRESH_MS = 5_000;

interface Outcome {
  ok: boolean;
  message: string;
  /** The change it was about. */
  title: string;
}

/**
 * The approval requests waiting for the roles the caller holds, with approve / reject and a comment, read again
 * every few seconds. The outcome of a decision is shown by the page, not the request's card: an approval that
 * completes the request takes the card out of the queue when the queue reloads, and the answer must stay on screen.
 */
export function ApprovalsPage({ session }: { session: Session }) {
  const [outcome, setOutcome] = useState<Outcome>();
  const pending = useApi(session, '/api/approvals/pending');
  const reloadQueue = pending.reload;
  useEffect(() => {
    const timer = setInterval(reloadQueue, QUEUE_REFRESH_MS);
    return () => clearInterval(timer);
  }, [reloadQueue]);
  const changes = useApi(session, '/api/change-requests?status=awaiting_approval');
  const mine = (pending.data?.items ?? []).filter((p: Json) => session.roles.includes(p.role));
  const others = (pending.data?.items ?? []).filter((p: Json) => !session.roles.includes(p.role));
  const titleOf = (id: string): string => changes.data?.items.find((c: Json) => c.changeRequestId === id)?.title ?? id;
  return (
    <section>
      <h1>Approval queue</h1>
      <p className="meta">Requests waiting for your roles: {session.roles.join(', ')}. Each is checked against the rules before you decide; the server checks again.</p>
      <Loading when={pending.loading && pending.data === undefined} />
      <Problem message={pending.error} />
      {outcome ? (
        <p role="alert" className={outcome.ok ? 'ok' : 'problem'}>
          {outcome.message} <span className="meta">({outcome.title})</span>
        </p>
      ) : null}
      {pending.data !== undefined && mine.length === 0 ? <p>Nothing waits for your roles.</p> : null}
      <ul className="plain queue">
        {mine.map((p: Json) => (
          <li key={`${p.changeRequestId}-${p.role}`}>
            <ApprovalItem
              session={session}
              item={p}
              title={titleOf(p.changeRequestId)}
              onDecided={(decided) => {
                setOutcome(decided);
                if (decided.ok) pending.reload();
              }}
            />
          </li>
        ))}
      </ul>
      {others.length > 0 ? (
        <>
          <h2>Waiting for other roles</h2>
          <ul>
            {others.map((p: Json) => (
              <li key={`${p.changeRequestId}-${p.role}`}>
                <Link to={`/changes/${p.changeRequestId}`}>{titleOf(p.changeRequestId)}</Link>: {p.missing} × {p.role}
                {p.onCall ? ' (on call)' : ''} in {p.environment}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

function ApprovalItem({ session, item, title, onDecided }: { session: Session; item: Json; title: string; onDecided(outcome: Outcome): void }) {
  const [check, setCheck] = useState<Json>();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const id = `${item.changeRequestId}-${item.role}`;
  useEffect(() => {
    api(session, 'POST', `/api/change-requests/${item.changeRequestId}/approvals/dry-run`, { role: item.role }).then(setCheck, (e: Error) => setCheck({ allowed: false, reason: e.message }));
  }, [session, item.changeRequestId, item.role]);
  const decide = async (action: 'approve' | 'reject'): Promise<void> => {
    setBusy(true);
    try {
      if (action === 'approve') {
        await api(session, 'POST', `/api/change-requests/${item.changeRequestId}/approvals`, { role: item.role, ...(comment ? { comment } : {}) });
        onDecided({ ok: true, message: `Approved as ${item.role}.`, title });
      } else {
        await api(session, 'POST', `/api/change-requests/${item.changeRequestId}/rejections`, { stage: 'approval', reason: comment });
        onDecided({ ok: true, message: 'Rejected.', title });
      }
    } catch (error) {
      onDecided({ ok: false, message: `Refused by the server: ${(error as Error).message}`, title });
    } finally {
      setBusy(false);
    }
  };
  return (
    <article className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>
        <Link to={`/changes/${item.changeRequestId}`}>{title}</Link>
      </h2>
      <p>
        {item.environment}: needs {item.missing} × {item.role}
        {item.onCall ? ' (approver must be on call)' : ''}
      </p>
      {check === undefined ? (
        <p aria-live="polite">Checking the rules…</p>
      ) : check.allowed ? (
        <p className="ok">The rules allow your approval as {item.role}.</p>
      ) : (
        <p className="problem" role="note" data-testid="approval-explanation">
          Your approval would be refused: {check.reason}
        </p>
      )}
      <label htmlFor={`${id}-comment`}>Comment (a rejection needs one)</label>
      <textarea id={`${id}-comment`} value={comment} onChange={(e) => setComment(e.target.value)} rows={2} />
      <div className="actions">
        <button type="button" disabled={busy} onClick={() => void decide('approve')}>
          Approve as {item.role}
        </button>
        <button type="button" className="danger" disabled={busy || comment.trim() === ''} onClick={() => void decide('reject')}>
          Reject
        </button>
      </div>
    </article>
  );
}
