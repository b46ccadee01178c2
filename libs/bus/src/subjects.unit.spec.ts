import { InvalidSubjectTokenError } from './errors.js';
import { categoryOf, commandSubject, eventFilter, eventSubjectFor, eventSubjectSelector, allEventsSubject, deadLetterSubject } from './subjects.js';

describe('subjects', () => {
  it('routes an event by the category before the first dash of its stream id', () => {
    expect(categoryOf('changeRequest-0193a1b2-7c3d-7e4f')).toBe('changeRequest');
    expect(eventSubjectFor('changeRequest-0193a1b2', 'ChangeApproved')).toBe('gatehouse.evt.changeRequest.ChangeApproved');
    expect(categoryOf('policies')).toBe('policies');
  });

  it('honours a custom prefix, including a multi-token one', () => {
    expect(eventSubjectFor('release-1', 'ReleaseBuilt', 'acme.gh')).toBe('acme.gh.evt.release.ReleaseBuilt');
    expect(allEventsSubject('t1')).toBe('t1.evt.>');
    expect(deadLetterSubject('release', 'ReleaseBuilt', 't1')).toBe('t1.dlq.release.ReleaseBuilt');
    expect(commandSubject('approvals', 'ApproveChange')).toBe('gatehouse.cmd.approvals.ApproveChange');
  });

  it.each([
    ['a dot', 'change.request-1', 'ChangeApproved'],
    ['a space', 'change request-1', 'ChangeApproved'],
    ['a wildcard', 'changeRequest-1', 'Change*'],
    ['a tail wildcard', 'changeRequest-1', '>'],
    ['an empty category', '-0193', 'ChangeApproved'],
    ['an empty type', 'changeRequest-1', ''],
  ])('rejects %s with a typed error naming the token', (_label, streamId, type) => {
    expect(() => eventSubjectFor(streamId, type)).toThrow(InvalidSubjectTokenError);
    try {
      eventSubjectFor(streamId, type);
    } catch (error) {
      expect((error as InvalidSubjectTokenError).code).toBe('INVALID_SUBJECT_TOKEN');
    }
  });

  it('rejects a bad prefix and bad command tokens', () => {
    expect(() => allEventsSubject('a..b')).toThrow(InvalidSubjectTokenError);
    expect(() => commandSubject('approvals', 'Approve Change')).toThrow(/command 'Approve Change'/);
  });

  it('builds consumer filters with wildcards only where asked', () => {
    expect(eventFilter({})).toBe('gatehouse.evt.*.*');
    expect(eventFilter({ category: 'changeRequest' })).toBe('gatehouse.evt.changeRequest.*');
    expect(eventFilter({ eventType: 'ChangeApproved' }, 'x')).toBe('x.evt.*.ChangeApproved');
  });
});

describe('eventSubjectSelector', () => {
  const select = eventSubjectSelector({ categories: ['order', 'deployment'], eventTypes: ['Done'] }, 'acme.gh');
  it('selects the subjects of the chosen categories and types, and only those', () => {
    expect(select('acme.gh.evt.order.Done')).toBe(true);
    expect(select('acme.gh.evt.deployment.Done')).toBe(true);
    expect(select('acme.gh.evt.order.Started')).toBe(false);
    expect(select('acme.gh.evt.watch.Done')).toBe(false);
    expect(select('acme.gh.evt.orders.Done')).toBe(false);
  });
  it('leaves what is not an event subject of its prefix to the consumer (parsed, and parked if it is no event)', () => {
    expect(select('acme.gh.dlq._redrive.some-consumer')).toBe(true);
    expect(select('acme.gh.evt.order')).toBe(true);
    expect(select('acme.gh.evt.order.Done.extra')).toBe(true);
    expect(select('other.evt.watch.Done')).toBe(true);
  });
  it('selects everything on a side left open', () => {
    expect(eventSubjectSelector({ eventTypes: ['Done'] })('gatehouse.evt.anything.Done')).toBe(true);
    expect(eventSubjectSelector({ categories: ['order'] })('gatehouse.evt.order.Anything')).toBe(true);
  });
});
