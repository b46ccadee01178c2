import { validate, version } from 'uuid';
import { newEventId } from './eventId.js';

describe('newEventId', () => {
  it('makes lower-case UUIDv7s carrying the millisecond they were made in', () => {
    const now = Date.parse('2026-12-06T18:00:00.123Z');
    const id = newEventId(now);
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(id).toBe(id.toLowerCase());
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
    expect('89ab').toContain(id.charAt(19));
  });

  it('sorts ids in the order they were made, within one millisecond and across them, and never repeats', () => {
    const ids: string[] = [];
    const start = Date.parse('2026-12-06T18:00:01Z');
    for (let ms = 0; ms < 5; ms++) for (let i = 0; i < 2_000; i++) ids.push(newEventId(start + ms));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps its order when the clock steps back', () => {
    const later = newEventId(Date.parse('2026-12-06T18:00:05Z'));
    const earlier = newEventId(Date.parse('2026-12-06T18:00:04Z'));
    expect(earlier > later).toBe(true);
  });
});
