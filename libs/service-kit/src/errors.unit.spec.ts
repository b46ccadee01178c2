import { ConflictException } from '@nestjs/common';
import { toErrorBody } from './errors.js';

describe('toErrorBody', () => {
  it('keeps the facts an HTTP exception carries, so a refused transition says where it may go', () => {
    const exception = new ConflictException({
      error: 'IllegalTransitionError',
      message: 'CloseChange is not allowed while implementing',
      details: { status: 'implementing', allowedFrom: ['validated', 'rolled_back', 'failed'] },
    });
    expect(toErrorBody(exception, {})).toEqual({
      status: 409,
      body: {
        error: 'IllegalTransitionError',
        message: 'CloseChange is not allowed while implementing',
        details: { status: 'implementing', allowedFrom: ['validated', 'rolled_back', 'failed'] },
      },
    });
  });
});
