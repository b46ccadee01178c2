import { formatInstant, type Json } from '../api.js';
import { Link } from '../components/Link.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import type { Session } from '../session.js';

export function EnvironmentsPage({ session }: { session: Session }) {
  const { data, error, loading } = useApi(session, '/api/environments');
  return (
    <section>
      <h1>Environments</h1>
      <Loading when={loading && data === undefined} />
      <Problem message={error} />
      {data !== undefined ? (
        <>
          <p className="meta">
            As of {formatInstant(data.asOf)} · policy {String(data.policyVersion).slice(0, 19)}
          </p>
          <div className="cards">
            {data.environments.map((env: Json) => (
              <EnvironmentCard key={env.environment} env={env} />
            ))}
          </div>
        </>
      ) : null}
    </section>
  );
}

function EnvironmentCard({ env }: { env: Json }) {
  return (
    <article className="card" aria-labelledby={`env-${env.environment}`}>
      <h2 id={`env-${env.environment}`}>
        {env.environment} <span className={`badge health-${env.health}`}>{env.health}</span>
      </h2>
      <p className="meta">{env.purpose}</p>
      <p className="meta">{env.healthReason}</p>
      <dl className="facts">
        <dt>Cadence</dt>
        <dd>{env.frequency}</dd>
        <dt>Current window</dt>
        <dd>{env.currentWindow ? `${env.currentWindow.name}, until ${formatInstant(env.currentWindow.end)}` : 'none open now'}</dd>
        <dt>Next window</dt>
        <dd>{env.nextWindow ? `${env.nextWindow.name}, ${formatInstant(env.nextWindow.start)} – ${formatInstant(env.nextWindow.end)}` : '—'}</dd>
        <dt>Next allowed start</dt>
        <dd>{formatInstant(env.nextAllowedAt)}</dd>
      </dl>
      {env.activeBlock ? (
        <p className="block" role="status">
          <strong>
            {env.activeBlock.kind === 'freeze' ? 'Freeze' : 'Blackout'}: {env.activeBlock.name}
          </strong>{' '}
          until {formatInstant(env.activeBlock.end)}
          {env.activeBlock.reason ? ` — ${env.activeBlock.reason}` : ''}
        </p>
      ) : null}
      {env.deployments.length > 0 ? (
        <ul className="plain">
          {env.deployments.map((d: Json) => (
            <li key={d.deploymentId}>
              Deploying <Link to={`/changes/${d.changeRequestId}`}>{`${d.service} ${d.version}`}</Link>: step {d.currentStep}/{d.totalSteps} ({d.trafficPercent}% traffic)
            </li>
          ))}
        </ul>
      ) : null}
      <table>
        <caption>What runs where in {env.environment}</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Version</th>
            <th scope="col">Clusters (region)</th>
            <th scope="col">Since</th>
          </tr>
        </thead>
        <tbody>
          {env.services.length === 0 ? (
            <tr>
              <td colSpan={4}>Nothing deployed through Gatehouse yet.</td>
            </tr>
          ) : (
            env.services.map((s: Json) => (
              <tr key={s.service}>
                <td>{s.service}</td>
                <td>
                  <Link to={`/changes/${s.changeRequestId}`}>{s.version}</Link>
                  {s.previous ? <span className="meta"> (was {s.previous})</span> : null}
                </td>
                <td>{env.clusters.length > 0 ? env.clusters.map((c: Json) => `${c.name}${c.region ? ` (${c.region})` : ''}`).join(', ') : env.regions.join(', ')}</td>
                <td>{formatInstant(s.since)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      <p className="meta">
        Regions: {env.regions.join(', ') || '—'} · <a href={`/api/calendar/${env.environment}.ics`}>Subscribe to the {env.environment} calendar (iCalendar)</a>
      </p>
    </article>
  );
}
