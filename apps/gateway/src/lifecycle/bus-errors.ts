import { HttpException, HttpStatus } from '@nestjs/common';
import { BusUnavailableError, CommandFailedError, CommandTimeoutError, InvalidCommandPayloadError, NoResponderError } from '@gatehouse/bus';
import type { FieldIssue } from '@gatehouse/service-kit';

/**
 * Status of a domain error a service answered with. SeparationOfDutiesViolation is 403: the request
 * is well-formed and the state allows it, but this caller may not do it (an author approving their
 * own change). Any other named domain error (it has a `code`) is a rule refusing the command: 422.
 */
export const REMOTE_ERROR_STATUS: Readonly<Record<string, HttpStatus>> = {
  ValidationError: HttpStatus.BAD_REQUEST,
  InvalidVersionError: HttpStatus.BAD_REQUEST,
  ReasonRequiredError: HttpStatus.BAD_REQUEST,
  UnknownEnvironmentError: HttpStatus.NOT_FOUND,
  NotFoundError: HttpStatus.NOT_FOUND,
  SeparationOfDutiesViolation: HttpStatus.FORBIDDEN,
  AnalysisDecisionForbiddenError: HttpStatus.FORBIDDEN,
  FlagChangeForbiddenError: HttpStatus.FORBIDDEN,
  ReleasePlanRoleRequiredError: HttpStatus.FORBIDDEN,
  SignOffRoleRequiredError: HttpStatus.FORBIDDEN,
  IllegalTransitionError: HttpStatus.CONFLICT,
  AlreadyExistsError: HttpStatus.CONFLICT,
  WrongExpectedVersionError: HttpStatus.CONFLICT,
  // The service did not accept the gateway's signature: the keys are misconfigured, not the request.
  ForbiddenCommand: HttpStatus.BAD_GATEWAY,
  InvalidCommandPayloadError: HttpStatus.BAD_REQUEST,
  // The service is up but its database is not: retry later.
  StoreUnavailableError: HttpStatus.SERVICE_UNAVAILABLE,
  // The service is up but another service it asks is not (restarting, or NATS is down): retry later, as when the gateway asks directly.
  NoResponderError: HttpStatus.SERVICE_UNAVAILABLE,
  CommandTimeoutError: HttpStatus.SERVICE_UNAVAILABLE,
  BusUnavailableError: HttpStatus.SERVICE_UNAVAILABLE,
  // The service has not yet caught up with an event the command needs (approvals not yet opened for a change): retry shortly.
  ApprovalsNotOpenedYetError: HttpStatus.SERVICE_UNAVAILABLE,
};

/** Why a service answered 503, by the error it relayed; otherwise another service it asks did not answer. */
const UNAVAILABLE_BECAUSE: Readonly<Record<string, string>> = {
  StoreUnavailableError: 'cannot reach its database',
  ApprovalsNotOpenedYetError: 'is catching up on the log',
};

/** Turns a bus failure into the HTTP error the client sees; other errors pass through unchanged. */
export function httpErrorForBusFailure(error: unknown, context: string): unknown {
  if (error instanceof InvalidCommandPayloadError) {
    const status = error.limit === 'size' ? HttpStatus.PAYLOAD_TOO_LARGE : HttpStatus.BAD_REQUEST;
    return new HttpException({ error: 'ValidationError', message: `Invalid request: ${error.issues.map((i) => (i.field ? `${i.field}: ${i.reason}` : i.reason)).join('; ')}`, issues: error.issues }, status);
  }
  if (error instanceof BusUnavailableError) {
    return new HttpException(
      { error: 'ServiceUnavailable', message: `NATS (the message bus to the ${context} service) is unreachable: ${error.reason}; retry with the same Idempotency-Key once it is back` },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
  if (error instanceof NoResponderError) {
    return new HttpException(
      { error: 'ServiceUnavailable', message: `the ${context} service is not running or does not handle this command (${error.subject}); nothing was changed` },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
  if (error instanceof CommandTimeoutError) {
    return new HttpException(
      {
        error: 'ServiceUnavailable',
        message: `the ${context} service did not answer within ${error.timeoutMs} ms; retry with the same Idempotency-Key to apply the command at most once`,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
  if (error instanceof CommandFailedError) {
    const details = (error.details ?? {}) as Record<string, unknown>;
    const status = REMOTE_ERROR_STATUS[error.remoteName] ?? (typeof details['code'] === 'string' ? HttpStatus.UNPROCESSABLE_ENTITY : HttpStatus.BAD_GATEWAY);
    const message =
      status === HttpStatus.BAD_GATEWAY
        ? `the ${context} service failed: ${error.remoteMessage}`
        : status === HttpStatus.SERVICE_UNAVAILABLE
          ? `the ${context} service ${UNAVAILABLE_BECAUSE[error.remoteName] ?? 'cannot reach a service it depends on'}: ${error.remoteMessage}; retry with the same Idempotency-Key (a command is applied at most once)`
          : error.remoteMessage;
    const name = status === HttpStatus.BAD_GATEWAY ? 'ServiceError' : status === HttpStatus.SERVICE_UNAVAILABLE ? 'ServiceUnavailable' : error.remoteName;
    return new HttpException(
      { error: name, message, ...issuesOf(details), details },
      status,
    );
  }
  return error;
}

function issuesOf(details: Record<string, unknown>): { issues?: FieldIssue[] } {
  const issues = details['issues'];
  if (!Array.isArray(issues)) return {};
  return { issues: issues.map((i: { field?: unknown; reason?: unknown }) => ({ field: String(i.field ?? ''), reason: String(i.reason ?? '') })) };
}
