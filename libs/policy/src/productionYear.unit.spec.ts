/**
 * Table test: every hour of 2026 and 2027 in production, evaluated by the engine, against an
 * independent and deliberately naive computation of "Tue/Thu 10–12 UTC minus blackouts".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { evaluateDeployment, loadPolicySet, MS_PER_HOUR } from './index.js';

const POLICY_DIR = new URL('../../../deploy/policies/', import.meta.url);
const policies = loadPolicySet(readdirSync(POLICY_DIR).map((name) => ({ name, contents: readFileSync(new URL(name, POLICY_DIR), 'utf8') })));

const TUESDAY = 2;
const THURSDAY = 4;
const QUARTER_END_MONTHS = [2, 5, 8, 11]; // 0-based: March, June, September, December

/**
 * US holiday weekends derived by hand from a wall calendar (holiday + weekend + bridge day):
 * 2026 New Year Thu→Thu–Sun, Memorial Mon 25 May→Sat–Mon, July 4th Sat (observed Fri)→Fri–Sun,
 * Labor Mon 7 Sep→Sat–Mon, Thanksgiving Thu 26 Nov→Thu–Sun, Christmas Fri→Fri–Sun;
 * 2027 New Year Fri→Fri–Sun, Memorial Mon 31 May, July 4th Sun (observed Mon 5)→Sat–Mon,
 * Labor Mon 6 Sep, Thanksgiving Thu 25 Nov, Christmas Sat (observed Fri 24)→Fri–Sun,
 * New Year 2028 Sat (observed Fri 31 Dec 2027)→Fri–Sun.
 */
const HOLIDAY_WEEKEND_DAYS = new Set([
  '2026-01-01', '2026-01-02', '2026-01-03', '2026-01-04',
  '2026-05-23', '2026-05-24', '2026-05-25',
  '2026-07-03', '2026-07-04', '2026-07-05',
  '2026-09-05', '2026-09-06', '2026-09-07',
  '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-29',
  '2026-12-25', '2026-12-26', '2026-12-27',
  '2027-01-01', '2027-01-02', '2027-01-03',
  '2027-05-29', '2027-05-30', '2027-05-31',
  '2027-07-03', '2027-07-04', '2027-07-05',
  '2027-09-04', '2027-09-05', '2027-09-06',
  '2027-11-25', '2027-11-26', '2027-11-27', '2027-11-28',
  '2027-12-24', '2027-12-25', '2027-12-26',
  '2027-12-31',
]);

function expectedAllowed(at: Date): boolean {
  const day = at.getUTCDay();
  const hour = at.getUTCHours();
  const month = at.getUTCMonth();
  const date = at.getUTCDate();
  const inWindow = (day === TUESDAY || day === THURSDAY) && hour >= 10 && hour < 12;
  const blackFridayWeek = month === 10 && date >= 20 && date <= 27;
  const daysInMonth = new Date(Date.UTC(at.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const quarterEnd = QUARTER_END_MONTHS.includes(month) && date > daysInMonth - 3;
  const holidayWeekend = HOLIDAY_WEEKEND_DAYS.has(at.toISOString().slice(0, 10));
  return inWindow && !blackFridayWeek && !quarterEnd && !holidayWeekend;
}

describe.each([2026, 2027])('production, every hour of %i', (year) => {
  it('the engine allows exactly the hours the simple computation allows', () => {
    const mismatches: string[] = [];
    let allowedHours = 0;
    for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += MS_PER_HOUR) {
      const at = new Date(t);
      const { allowed } = evaluateDeployment(policies, { environment: 'production', at, changeType: 'normal' });
      if (allowed) allowedHours++;
      if (allowed !== expectedAllowed(at)) mismatches.push(`${at.toISOString()} engine=${allowed}`);
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    // 52 weeks × 2 days × 2 hours, minus blackouts: a sanity bound that the walk saw real windows.
    expect(allowedHours).toBeGreaterThan(150);
  });
});
