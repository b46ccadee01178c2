import { type EnvironmentPolicy, environmentCalendar, interval, MS_PER_DAY, openWindows } from '@gatehouse/policy';
import ical, { ICalCalendarMethod, ICalEventBusyStatus, ICalEventTransparency } from 'ical-generator';
import { blockReason } from './environment-overview.js';
import type { ScheduledDeploymentView } from '@gatehouse/contracts';

/** The feed covers this much before now (recent history) and after it (planning horizon). */
export const FEED_PAST_DAYS = 14;
export const FEED_FUTURE_DAYS = 180;
/** A booked change outside any window (continuous environments) is shown this long. */
export const BOOKING_DEFAULT_MS = 60 * 60 * 1000;
/** How often calendar clients should fetch the feed again (REFRESH-INTERVAL / X-PUBLISHED-TTL). */
export const FEED_TTL_SECONDS = 60 * 60;

export interface CalendarFeedInput {
  policy: EnvironmentPolicy;
  bookings: readonly ScheduledDeploymentView[];
  now: Date;
  /** Where the console is reachable (links of booked changes), e.g. "https://gatehouse.example.com". */
  consoleUrl: string;
}

/**
 * An environment's calendar as RFC 5545: deployment windows, blackouts and freezes (with the policy's
 * reason), and booked changes with their console link. UIDs are stable (rule or change id + start), so
 * a subscribed calendar updates events in place instead of duplicating them.
 */
export function calendarFeed({ policy, bookings, now, consoleUrl }: CalendarFeedInput): string {
  const range = interval(new Date(now.getTime() - FEED_PAST_DAYS * MS_PER_DAY), new Date(now.getTime() + FEED_FUTURE_DAYS * MS_PER_DAY));
  const calendar = environmentCalendar(policy, range);
  const feed = ical({
    name: `Gatehouse: ${policy.environment}`,
    description: `Deployment windows, blackouts, freezes and booked changes of ${policy.environment} (${policy.frequency.description})`,
    prodId: { company: 'Gatehouse', product: 'release-calendar', language: 'EN' },
    method: ICalCalendarMethod.PUBLISH,
    timezone: 'UTC',
    ttl: FEED_TTL_SECONDS,
  });
  for (const window of calendar.windows) {
    feed.createEvent({
      id: `window-${policy.environment}-${window.windowId}-${window.start.toISOString()}@gatehouse`,
      start: window.start,
      end: window.end,
      stamp: now,
      summary: `${policy.environment}: ${window.name}`,
      description: `Deployment window of ${policy.environment}: changes may start between ${window.start.toISOString()} and ${window.end.toISOString()}, unless a blackout or freeze applies.`,
      categories: [{ name: 'window' }],
      transparency: ICalEventTransparency.TRANSPARENT,
      busystatus: ICalEventBusyStatus.FREE,
    });
  }
  for (const block of calendar.blocked) {
    const reason = blockReason(policy, block.ruleId);
    const label = block.kind === 'freeze' ? 'Freeze' : 'Blackout';
    feed.createEvent({
      id: `${block.kind === 'freeze' ? 'freeze' : 'blackout'}-${policy.environment}-${block.ruleId}-${block.start.toISOString()}@gatehouse`,
      start: block.start,
      end: block.end,
      stamp: now,
      summary: `${policy.environment}: ${label}: ${block.name}`,
      description: `No deployments to ${policy.environment} until ${block.end.toISOString()}${reason === null ? '' : `: ${reason}`}${block.exempt.length > 0 ? ` (${block.exempt.join(', ')} changes exempt)` : ''}.`,
      categories: [{ name: block.kind === 'freeze' ? 'freeze' : 'blackout' }],
      busystatus: ICalEventBusyStatus.BUSY,
    });
  }
  const windows = openWindows(policy, range);
  for (const booking of bookings) {
    const start = new Date(booking.scheduledFor);
    if (start.getTime() < range.start.getTime() || start.getTime() > range.end.getTime()) continue;
    const window = windows.find((w) => w.start.getTime() <= start.getTime() && start.getTime() < w.end.getTime());
    const link = `${consoleUrl}/changes/${encodeURIComponent(booking.changeRequestId)}`;
    feed.createEvent({
      id: `change-${booking.changeRequestId}@gatehouse`,
      start,
      end: window?.end ?? new Date(start.getTime() + BOOKING_DEFAULT_MS),
      stamp: now,
      summary: `${policy.environment}: deploy ${booking.service} ${booking.version}`,
      description: `Booked ${booking.changeType ?? 'normal'} change ${booking.changeRequestId} (${booking.strategy ?? 'default strategy'}), status ${booking.status}. ${link}`,
      url: link,
      categories: [{ name: 'change' }],
    });
  }
  return feed.toString();
}
