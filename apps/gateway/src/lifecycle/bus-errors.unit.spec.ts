import { HttpException, HttpStatus } from '@nestjs/common';
import { BusUnavailableError, CommandFailedError, CommandTimeoutError, ForbiddenCommandError, NoResponderError, replyError, unwrapReply } from '@gatehouse/bus';
import { ApprovalsNotOpenedYetError } from '@gatehouse/domain';
import { httpErrorForBusFailure } from './bus-errors.js';

describe('a service refusing the gateway’s signature', () => {
  it('given ForbiddenCommand from approvals, when mapped, then 502 naming the service and the reason (keys misconfigured, not a bad request)', () => {
    // The reply exactly as a service sends it when the gateway's key is not among its trusted keys.
    const reply = replyError(new ForbiddenCommandError('unknown_signer', 'approvals.grant', "'gateway' is not a trusted signer"));
    let failure: unknown;
    try {
      unwrapReply('gatehouse.cmd.approvals.grant', reply);
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(CommandFailedError);
    const http = httpErrorForBusFailure(failure, 'approvals') as HttpException;
    expect(http.getStatus()).toBe(HttpStatus.BAD_GATEWAY);
    expect(http.getResponse()).toMatchObject({ error: 'ServiceError', message: expect.stringMatching(/the approvals service failed: command approvals.grant refused \(unknown_signer\)/) });
  });
});

describe('a service whose own request to another service finds no one to answer', () => {
  it.each([
    ['NoResponderError', new NoResponderError('gatehouse.cmd.changeRequests.getChange')],
    ['CommandTimeoutError', new CommandTimeoutError('gatehouse.cmd.changeRequests.getChange', 5_000)],
    ['BusUnavailableError', new BusUnavailableError('gatehouse.cmd.changeRequests.getChange', 'disconnected')],
  ])('given %s relayed by approvals, when mapped, then 503 with a retry, as when the gateway asks directly (not a 4xx rule refusal)', (_, nested) => {
    // approvals asked change-requests while it restarted; its handler failed with the bus error, relayed as its reply.
    let failure: unknown;
    try {
      unwrapReply('gatehouse.cmd.approvals.grant', replyError(nested));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(CommandFailedError);
    const http = httpErrorForBusFailure(failure, 'approvals') as HttpException;
    expect(http.getStatus()).toBe(HttpStatus.SERVICE_UNAVAILABLE);
    expect(http.getResponse()).toMatchObject({ error: 'ServiceUnavailable', message: expect.stringMatching(/the approvals service cannot reach a service it depends on: .*retry with the same Idempotency-Key/) });
  });
});

describe('a service that has not yet caught up with the event a command needs', () => {
  it('given ApprovalsNotOpenedYetError from approvals, when mapped, then 503 saying it is catching up, with a retry', () => {
    let failure: unknown;
    try {
      unwrapReply('gatehouse.cmd.approvals.grant', replyError(new ApprovalsNotOpenedYetError('cr-1', 3_000)));
    } catch (error) {
      failure = error;
    }
    const http = httpErrorForBusFailure(failure, 'approvals') as HttpException;
    expect(http.getStatus()).toBe(HttpStatus.SERVICE_UNAVAILABLE);
    expect(http.getResponse()).toMatchObject({
      error: 'ServiceUnavailable',
      message: expect.stringMatching(/^the approvals service is catching up on the log: change cr-1 awaits approval, but its approval request was not opened within 3000 ms.*retry with the same Idempotency-Key/),
    });
  });
});
