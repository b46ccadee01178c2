import { HttpStatus } from '@nestjs/common';
import type { ErrorStatusMap } from '@gatehouse/service-kit';

/** Named library errors a gateway request can meet, and what the client is told. */
export const GATEWAY_ERROR_STATUS: ErrorStatusMap = {
  UnknownEnvironmentError: HttpStatus.NOT_FOUND,
  InvalidEvaluationInputError: HttpStatus.BAD_REQUEST,
  PolicyValidationError: HttpStatus.UNPROCESSABLE_ENTITY,
  // PostgreSQL is down or restarting: nothing was read or written; retry.
  StoreUnavailableError: HttpStatus.SERVICE_UNAVAILABLE,
};
