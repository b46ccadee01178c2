/**
 * Calendar rules are pure functions of (rule, year). Evaluations ask for the same years over and
 * over (a year-long walk asks thousands of times), and luxon's zone arithmetic is not cheap, so
 * each rule's periods are computed once per year. Keyed weakly by the parsed rule object.
 */
const caches = new WeakMap<object, Map<number, readonly unknown[]>>();

export function perYear<Rule extends object, T>(rule: Rule, year: number, compute: (rule: Rule, year: number) => readonly T[]): readonly T[] {
  let byYear = caches.get(rule);
  if (!byYear) {
    byYear = new Map();
    caches.set(rule, byYear);
  }
  const cached = byYear.get(year) as readonly T[] | undefined;
  if (cached) return cached;
  const computed = compute(rule, year);
  byYear.set(year, computed);
  return computed;
}
