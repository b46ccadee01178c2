import { parseTimestamptz } from './parseTimestamptz.js';

const fallbackCalls: string[] = [];
const fallback = (text: string): Date => {
  fallbackCalls.push(text);
  return new Date(Number.NaN);
};

describe('parseTimestamptz', () => {
  beforeEach(() => fallbackCalls.splice(0));

  it.each([
    ['2026-11-23 05:01:40.123+00', '2026-11-23T05:01:40.123Z'],
    ['2026-11-23 05:01:40.123456+00', '2026-11-23T05:01:40.123Z'],
    ['2026-11-23 05:01:40+00', '2026-11-23T05:01:40.000Z'],
    ['2026-11-23 05:01:40.5+05:30', '2026-11-22T23:31:40.500Z'],
    ['2026-03-29 01:00:00-07', '2026-03-29T08:00:00.000Z'],
    ['0099-01-01 00:00:00+00', '0099-01-01T00:00:00.000Z'],
  ])('reads %s as %s without the fallback', (text, iso) => {
    expect(parseTimestamptz(text, fallback).toISOString()).toBe(iso);
    expect(fallbackCalls).toEqual([]);
  });

  it.each(['infinity', '0044-03-15 12:00:00+00 BC', '1890-01-01 00:00:00+00:09:21'])('hands %s to the fallback', (text) => {
    parseTimestamptz(text, fallback);
    expect(fallbackCalls).toEqual([text]);
  });
});
