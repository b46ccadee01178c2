import { CommandFailedError, CommandTimeoutError, DuplicateHandlerError, NoResponderError } from '../errors.js';
import { createInProcessCommandBus } from './in-process.js';

class ChangeBlockedError extends Error {
  readonly code = 'CHANGE_BLOCKED';
  override name = 'ChangeBlockedError';
  constructor(readonly environment: string, readonly nextAllowed: string) {
    super(`${environment} is in blackout until ${nextAllowed}`);
  }
}

describe('in-process command bus', () => {
  it('answers with the handler result, after a JSON round trip like NATS', async () => {
    const bus = createInProcessCommandBus();
    await bus.register('approvals', 'ApproveChange', (payload: { id: string }, { subject }) => ({ approved: payload.id, subject, at: new Date('2026-01-01T00:00:00Z') }));
    await expect(bus.send('approvals', 'ApproveChange', { id: 'c1' })).resolves.toEqual({
      approved: 'c1',
      subject: 'gatehouse.cmd.approvals.ApproveChange',
      at: '2026-01-01T00:00:00.000Z',
    });
  });

  it('preserves the order of sends to one handler', async () => {
    const bus = createInProcessCommandBus();
    const seen: number[] = [];
    await bus.register('scheduling', 'Book', async (n: number) => {
      seen.push(n);
    });
    await Promise.all([1, 2, 3, 4, 5].map((n) => bus.send('scheduling', 'Book', n)));
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('raises the same NoResponderError as NATS for an unknown command', async () => {
    const bus = createInProcessCommandBus({ subjectPrefix: 'acme' });
    const failure = bus.send('approvals', 'Nope', {});
    await expect(failure).rejects.toBeInstanceOf(NoResponderError);
    await expect(failure).rejects.toMatchObject({ code: 'NO_RESPONDER', subject: 'acme.cmd.approvals.Nope' });
  });

  it('carries a domain error as CommandFailedError with its name, code and facts', async () => {
    const bus = createInProcessCommandBus();
    await bus.register('scheduling', 'Schedule', () => {
      throw new ChangeBlockedError('production', '2026-11-28T00:00Z');
    });
    const failure = bus.send('scheduling', 'Schedule', {});
    await expect(failure).rejects.toBeInstanceOf(CommandFailedError);
    await expect(failure).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      remoteName: 'ChangeBlockedError',
      remoteMessage: 'production is in blackout until 2026-11-28T00:00Z',
      details: { code: 'CHANGE_BLOCKED', environment: 'production', nextAllowed: '2026-11-28T00:00Z' },
    });
  });

  it('times out a handler that never answers', async () => {
    const bus = createInProcessCommandBus();
    await bus.register('deployments', 'Hang', () => new Promise(() => undefined));
    await expect(bus.send('deployments', 'Hang', {}, { timeoutMs: 20 })).rejects.toBeInstanceOf(CommandTimeoutError);
  });

  it('refuses a second handler for one command, and frees it on unregister', async () => {
    const bus = createInProcessCommandBus();
    const unregister = await bus.register('approvals', 'Approve', () => 1);
    await expect(bus.register('approvals', 'Approve', () => 2)).rejects.toBeInstanceOf(DuplicateHandlerError);
    await unregister();
    await expect(bus.send('approvals', 'Approve', {})).rejects.toBeInstanceOf(NoResponderError);
  });
});
