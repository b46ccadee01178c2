/** OID of timestamptz, whose text form the event reads parse once per row. */
export const TIMESTAMPTZ_OID = 1184;

/**
 * Parses PostgreSQL's ISO output ("2026-11-23 05:01:40.123456+00", "... +05:30") with the
 * engine's native ISO parser, which is several times faster than the regex-based default;
 * the catch-up read parses one per event. Anything unusual (BC, infinity, offsets with
 * seconds) goes to `fallback`, the driver's own parser.
 */
export function parseTimestamptz(text: string, fallback: (text: string) => Date): Date {
  const offsetSign = text.charCodeAt(text.length - 3);
  // '+' or '-' three characters from the end: an hours-only offset, which ISO 8601 needs as ±HH:MM.
  const iso = `${text.slice(0, 10)}T${text.slice(11)}${offsetSign === 43 || offsetSign === 45 ? ':00' : ''}`;
  const millis = Date.parse(iso);
  return Number.isNaN(millis) ? fallback(text) : new Date(millis);
}
