import { useMemo, useState } from 'react';
import { formatInstant, type Json } from '../api.js';
import { Link } from '../components/Link.js';
import { Loading, Problem } from '../components/Status.js';
import { useApi } from '../components/useApi.js';
import type { Session } from '../session.js';

const DAY = 24 * 60 * 60 * 1000;
type View = 'month' | 'week';

interface Entry {
  kind: 'window' | 'blackout' | 'freeze' | 'change' | 'conflict';
  label: string;
  start: number;
  end: number;
  link?: string;
}

/** Midnight UTC of the first day shown: the Monday on or before the 1st (month) or before the day (week). */
function rangeOf(view: View, anchor: Date): { from: Date; days: number } {
  const base = view === 'month' ? Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), 1) : Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate());
  const weekday = (new Date(base).getUTCDay() + 6) % 7;
  return { from: new Date(base - weekday * DAY), days: view === 'month' ? 42 : 7 };
}

/** Bookings inside a blackout or freeze, or two changes of one service in one window: what a release manager must resolve. */
export function conflictsOf(bookings: readonly Json[], blocked: readonly Json[], windows: readonly Json[]): Entry[] {
  const conflicts: Entry[] = [];
  for (const booking of bookings) {
    const at = Date.parse(booking.scheduledFor);
    const block = blocked.find((b) => Date.parse(b.start) <= at && at < Date.parse(b.end));
    if (block !== undefined) conflicts.push({ kind: 'conflict', label: `${booking.service} ${booking.version} booked inside ${block.name}`, start: at, end: at + 1, link: `/changes/${booking.changeRequestId}` });
  }
  for (const window of windows) {
    const inside = bookings.filter((b) => Date.parse(b.scheduledFor) >= Date.parse(window.start) && Date.parse(b.scheduledFor) < Date.parse(window.end));
    const byService = new Map<string, Json[]>();
    for (const b of inside) byService.set(b.service, [...(byService.get(b.service) ?? []), b]);
    for (const [service, list] of byService) {
      if (list.length > 1) conflicts.push({ kind: 'conflict', label: `${list.length} changes of ${service} in one window`, start: Date.parse(window.start), end: Date.parse(window.end) });
    }
  }
  return conflicts;
}

export function CalendarPage({ session }: { session: Session }) {
  const policies = useApi(session, '/api/policies');
  const [environment, setEnvironment] = useState('production');
  const [view, setView] = useState<View>('month');
  const [anchor, setAnchor] = useState<Date | null>(null);
  const environmentsView = useApi(session, anchor === null ? '/api/environments' : null);
  const now = anchor ?? (environmentsView.data ? new Date(environmentsView.data.asOf) : null);
  const range = now === null ? null : rangeOf(view, now);
  const to = range === null ? null : new Date(range.from.getTime() + range.days * DAY);
  const calendar = useApi(session, range && to ? `/api/policy/calendar?environment=${environment}&from=${range.from.toISOString()}&to=${to.toISOString()}` : null);
  const schedule = useApi(session, `/api/schedule?environment=${environment}`);

  const entries = useMemo<Entry[]>(() => {
    if (calendar.data === undefined) return [];
    const bookings: Json[] = schedule.data?.items ?? [];
    return [
      ...calendar.data.windows.map((w: Json) => ({ kind: 'window' as const, label: w.name, start: Date.parse(w.start), end: Date.parse(w.end) })),
      ...calendar.data.blocked.map((b: Json) => ({ kind: b.kind === 'freeze' ? ('freeze' as const) : ('blackout' as const), label: b.name, start: Date.parse(b.start), end: Date.parse(b.end) })),
      ...bookings.map((b) => ({ kind: 'change' as const, label: `${b.service} ${b.version} (${b.status})`, start: Date.parse(b.scheduledFor), end: Date.parse(b.scheduledFor) + 1, link: `/changes/${b.changeRequestId}` })),
      ...conflictsOf(bookings, calendar.data.blocked, calendar.data.windows),
    ];
  }, [calendar.data, schedule.data]);

  const shift = (direction: 1 | -1): void => {
    if (now === null) return;
    const next = new Date(now);
    if (view === 'month') next.setUTCMonth(next.getUTCMonth() + direction, 1);
    else next.setTime(next.getTime() + direction * 7 * DAY);
    setAnchor(next);
  };

  return (
    <section>
      <h1>Release calendar</h1>
      <div className="toolbar">
        <label htmlFor="cal-env">Environment</label>
        <select id="cal-env" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
          {(policies.data?.environments ?? [{ environment: 'production' }]).map((e: Json) => (
            <option key={e.environment} value={e.environment}>
              {e.environment}
            </option>
          ))}
        </select>
        <fieldset className="segmented">
          <legend>View</legend>
          {(['month', 'week'] as const).map((v) => (
            <label key={v}>
              <input type="radio" name="view" value={v} checked={view === v} onChange={() => setView(v)} /> {v}
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={() => shift(-1)}>
          Previous {view}
        </button>
        <button type="button" onClick={() => shift(1)}>
          Next {view}
        </button>
        <a href={`/api/calendar/${environment}.ics`}>iCalendar feed</a>
      </div>
      <Loading when={calendar.loading && calendar.data === undefined} />
      <Problem message={calendar.error ?? schedule.error ?? environmentsView.error} />
      {range !== null && now !== null ? (
        <>
          <h2>
            {view === 'month' ? now.toLocaleString('en', { month: 'long', year: 'numeric', timeZone: 'UTC' }) : `Week of ${range.from.toISOString().slice(0, 10)}`} · {environment}
          </h2>
          <Legend />
          <div className={`grid grid-${view}`} role="table" aria-label={`${environment} calendar`}>
            {Array.from({ length: range.days / 7 }, (_, week) => (
              <div role="row" key={week} className="week">
                {Array.from({ length: 7 }, (_, day) => {
                  const start = range.from.getTime() + (week * 7 + day) * DAY;
                  const inDay = entries.filter((e) => e.start < start + DAY && e.end > start);
                  const outside = view === 'month' && new Date(start).getUTCMonth() !== now.getUTCMonth();
                  return (
                    <div role="cell" key={day} className={`day${outside ? ' outside' : ''}`}>
                      <div className="date">{new Date(start).toLocaleDateString('en', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' })}</div>
                      <ul className="plain">
                        {inDay.map((e, i) => (
                          <li key={i} className={`entry ${e.kind}`} title={`${formatInstant(new Date(e.start).toISOString())} – ${formatInstant(new Date(e.end).toISOString())}`}>
                            {e.link ? <Link to={e.link}>{e.label}</Link> : e.label}
                            {e.kind === 'window' && view === 'week' ? ` ${new Date(e.start).toISOString().slice(11, 16)}–${new Date(e.end).toISOString().slice(11, 16)} UTC` : ''}
                          </li>
                        ))}
                      </ul>
                    </div>
                  );
                })}
              </div>
            ))}
          </div>
        </>
      ) : null}
    </section>
  );
}

function Legend() {
  return (
    <ul className="legend plain" aria-label="Legend">
      <li className="entry window">window</li>
      <li className="entry blackout">blackout</li>
      <li className="entry freeze">freeze</li>
      <li className="entry change">booked change</li>
      <li className="entry conflict">conflict</li>
    </ul>
  );
}
