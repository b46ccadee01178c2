import { useState } from 'react';
import { formatInstant, type Json } from '../api.js';
import { Link } from '../components/Link.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import { CHANGE_AUTHOR_ROLES, holdsAny, type Session } from '../session.js';
import { SubmitChangeForm } from '../components/SubmitChangeForm.js';

const STATUSES = ['', 'submitted', 'in_review', 'awaiting_approval', 'approved', 'scheduled', 'implementing', 'validating', 'validated', 'validation_failed', 'closed', 'rejected', 'cancelled', 'rolled_back', 'failed'];

export function ChangesPage({ session }: { session: Session }) {
  const [status, setStatus] = useState('');
  const { data, error, loading } = useApi(session, `/api/change-requests${status ? `?status=${status}` : ''}`);
  const policies = useApi(session, '/api/policies');
  const clock = useApi(session, '/api/environments');
  return (
    <section>
      <h1>Changes</h1>
      {holdsAny(session, CHANGE_AUTHOR_ROLES) && policies.data !== undefined && clock.data !== undefined ? (
        <SubmitChangeForm session={session} environments={policies.data.environments.map((e: Json) => e.environment)} now={clock.data.asOf} />
      ) : null}
      <h2>Change requests</h2>
      <label htmlFor="status-filter">Status</label>{' '}
      <select id="status-filter" value={status} onChange={(e) => setStatus(e.target.value)}>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {s === '' ? 'any' : s}
          </option>
        ))}
      </select>
      <Loading when={loading && data === undefined} />
      <Problem message={error} />
      {data !== undefined ? (
        <table>
          <caption>Change requests, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Change</th>
              <th scope="col">Service</th>
              <th scope="col">Environments</th>
              <th scope="col">Status</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {[...data.items]
              .sort((a: Json, b: Json) => String(b.updatedAt).localeCompare(String(a.updatedAt)))
              .map((c: Json) => (
                <tr key={c.changeRequestId}>
                  <td>
                    <Link to={`/changes/${c.changeRequestId}`}>{c.title}</Link>
                  </td>
                  <td>{c.service ? `${c.service} ${c.version ?? ''}` : '—'}</td>
                  <td>{c.environments.join(', ')}</td>
                  <td>
                    <span className="badge">{c.status}</span>
                  </td>
                  <td>{formatInstant(c.updatedAt)}</td>
                </tr>
              ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
