import { formatInstant, type Json } from '../api.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';

const LABEL: Record<string, string> = { operational: 'Operational', maintenance: 'Maintenance in progress', degraded: 'Degraded', incident: 'Incident' };

/** The public status page: no sign-in, and only what GET /api/status publishes (no names, reasons or ids). */
export function StatusPage() {
  const { data, error, loading } = useApi(null, '/api/status');
  return (
    <section>
      <h1>Service status</h1>
      <Loading when={loading && data === undefined} />
      <Problem message={error} />
      {data !== undefined ? (
        <>
          <p className={`overall status-${data.overall}`} role="status">
            {data.overall === 'operational' ? 'All services operational' : LABEL[data.overall]} · {data.environment} · updated {formatInstant(data.generatedAt)}
          </p>
          <table>
            <caption>Services and uptime over the last {data.uptimeDays} days</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Status</th>
                <th scope="col">Uptime</th>
              </tr>
            </thead>
            <tbody>
              {data.services.length === 0 ? (
                <tr>
                  <td colSpan={3}>No services deployed yet.</td>
                </tr>
              ) : (
                data.services.map((s: Json) => (
                  <tr key={s.service}>
                    <td>{s.service}</td>
                    <td>
                      <span className={`badge status-${s.status}`}>{LABEL[s.status]}</span>
                    </td>
                    <td>{s.uptimePercent.toFixed(3)}%</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <h2>Scheduled maintenance</h2>
          {data.maintenance.length === 0 ? (
            <p>None scheduled.</p>
          ) : (
            <ul>
              {data.maintenance.map((m: Json, i: number) => (
                <li key={i}>
                  {m.service}: {formatInstant(m.start)} – {formatInstant(m.end)}
                </li>
              ))}
            </ul>
          )}
          <h2>Incident history</h2>
          {data.incidents.length === 0 ? (
            <p>No incidents in the last 90 days.</p>
          ) : (
            <ul>
              {data.incidents.map((incident: Json, i: number) => (
                <li key={i}>
                  {incident.service}: {incident.kind === 'hotfix' ? `incident${incident.severity ? ` (${incident.severity})` : ''}, fixed through the hotfix lane` : 'release rolled back'} — {formatInstant(incident.startedAt)} to{' '}
                  {incident.resolvedAt ? formatInstant(incident.resolvedAt) : 'ongoing'}
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
    </section>
  );
}
