import { HttpException, HttpStatus } from '@nestjs/common';
import { CommandFailedError, ForbiddenCommandError, replyError, unwrapReply } from '@gatehouse/bus';
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
