import { DeciderSpecification } from '@gatehouse/testing';
import { foldEvents, type Decider } from './decider.js';
import { DomainError } from './errors.js';

/** A tiny counter decider to check the given/when/then helper itself can fail. */
class LimitReached extends DomainError {
  override readonly name = 'LimitReached';
  readonly code = 'LIMIT' as const;
  constructor(readonly limit: number) {
    super(`limit ${limit}`);
  }
}
type Cmd = { type: 'Increment'; data: { limit: number } };
type Evt = { type: 'Incremented'; data: { to: number } };
const counter: Decider<Cmd, Evt, number> = {
  decide: (c, n) => {
    if (n >= c.data.limit) throw new LimitReached(c.data.limit);
    return [{ type: 'Incremented', data: { to: n + 1 } }];
  },
  evolve: (_, e) => e.data.to,
  initialState: () => 0,
};
const spec = DeciderSpecification.for(counter);
const inc = (limit: number): Cmd => ({ type: 'Increment', data: { limit } });

describe('DeciderSpecification', () => {
  it('passes on the right events and the right error', () => {
    spec.given([{ type: 'Incremented', data: { to: 1 } }]).when(inc(5)).then([{ type: 'Incremented', data: { to: 2 } }]);
    spec.given([{ type: 'Incremented', data: { to: 5 } }]).when(inc(5)).thenThrows(LimitReached, (e) => e.limit === 5);
    expect(foldEvents(counter, [{ type: 'Incremented', data: { to: 3 } }])).toBe(3);
  });

  it('fails when the events differ', () => {
    expect(() => spec.given([]).when(inc(5)).then([{ type: 'Incremented', data: { to: 7 } }])).toThrow();
  });

  it('fails when an error was expected but the command was accepted', () => {
    expect(() => spec.given([]).when(inc(5)).thenThrows(LimitReached)).toThrow(/expected LimitReached but the command was accepted/);
  });

  it('fails when the error does not match the predicate, or is of another type', () => {
    const full = spec.given([{ type: 'Incremented', data: { to: 5 } }]).when(inc(5));
    expect(() => full.thenThrows(LimitReached, (e) => e.limit === 6)).toThrow(/did not match the predicate/);
    expect(() => full.thenThrows(RangeError)).toThrow(/expected RangeError but got LimitReached/);
  });

  it('fails when events were expected but the command threw', () => {
    expect(() => spec.given([{ type: 'Incremented', data: { to: 5 } }]).when(inc(5)).thenNothingHappened()).toThrow(/expected the command to be accepted/);
  });
});
