/**
 * Named domain errors. Callers switch on `code` (never on message text); each error carries the
 * facts that made the command illegal, and its message says what to do about it.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. "schedule.duration". */
  readonly field: string;
  readonly reason: string;
}

/** Payload failed validation; every offending field is listed. */
export class ValidationError extends DomainError {
  override readonly name = 'ValidationError';
  readonly code = 'VALIDATION_FAILED' as const;
  constructor(
    readonly subject: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(`invalid ${subject}: ${issues.map((i) => `${i.field || '(root)'}: ${i.reason}`).join('; ')}`);
  }
}

export class InvalidVersionError extends DomainError {
  override readonly name = 'InvalidVersionError';
  readonly code = 'INVALID_VERSION' as const;
  constructor(readonly version: string) {
    super(`"${version}" is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. "2.1.0")`);
  }
}

/** A command arrived in a state where it is not allowed. */
export class IllegalTransitionError extends DomainError {
  override readonly name = 'IllegalTransitionError';
  readonly code = 'ILLEGAL_TRANSITION' as const;
  constructor(
    readonly aggregate: string,
    readonly command: string,
    readonly status: string,
    readonly allowedFrom: readonly string[],
  ) {
    super(`${aggregate}: ${command} is not allowed while ${status}; allowed from: ${allowedFrom.join(', ') || 'nothing'}`);
  }
}

export class AlreadyExistsError extends DomainError {
  override readonly name = 'AlreadyExistsError';
  readonly code = 'ALREADY_EXISTS' as const;
  constructor(
    readonly aggregate: string,
    readonly id: string,
  ) {
    super(`${aggregate} ${id} already exists`);
  }
}

export class NotFoundError extends DomainError {
  override readonly name = 'NotFoundError';
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly aggregate: string,
    readonly id: string,
  ) {
    super(`${aggregate} ${id} does not exist; create it first`);
  }
}

export class UnknownEnvironmentError extends DomainError {
  override readonly name = 'UnknownEnvironmentError';
  readonly code = 'UNKNOWN_ENVIRONMENT' as const;
  constructor(
    readonly environment: string,
    readonly known: readonly string[],
  ) {
    super(`unknown environment "${environment}"; known: ${known.join(', ')}`);
  }
}

/** An action that must be explained (rejection, override, rollback, cancellation) came without a reason. */
export class ReasonRequiredError extends DomainError {
  override readonly name = 'ReasonRequiredError';
  readonly code = 'REASON_REQUIRED' as const;
  constructor(readonly action: string) {
    super(`${action} needs a reason; it is recorded in the audit trail`);
  }
}

export type SeparationOfDutiesRule =
  | 'author_cannot_approve'
  | 'one_person_one_role'
  | 'author_cannot_review'
  /** Staging validation (hotfix lane) or a change's validation by its author or CI initiator. */
  | 'author_cannot_validate'
  /** The post-incident / post-implementation review of an emergency change by its author or CI initiator. */
  | 'author_cannot_review_incident'
  /** Nobody puts themselves on the on-call roster. */
  | 'roster_self_assignment';

/** Separation of duties: who may not do what, and why. */
export class SeparationOfDutiesViolation extends DomainError {
  override readonly name = 'SeparationOfDutiesViolation';
  readonly code = 'SEPARATION_OF_DUTIES' as const;
  constructor(
    readonly approver: string,
    readonly rule: SeparationOfDutiesRule,
    readonly reason: string,
  ) {
    super(`separation of duties: ${reason}`);
  }
}

export function requireReason(reason: string | undefined, action: string): string {
  if (reason === undefined || reason.trim() === '') throw new ReasonRequiredError(action);
  return reason.trim();
}
