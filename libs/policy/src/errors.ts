/**
 * Named errors of the policy library. Callers switch on `code`, never on message text;
 * every error carries the facts needed to say what was wrong and what to do.
 */

/** One problem found in a policy file. */
export interface PolicyIssue {
  /** File name as given by the caller, e.g. "production.yaml". */
  readonly file: string;
  /** Dotted path inside the file, e.g. "blackouts[1].to"; "" for the whole file. */
  readonly path: string;
  readonly problem: string;
  /** 1-based line of the offending node when known. */
  readonly line?: number;
  readonly column?: number;
}

export type PolicyErrorCode = 'POLICY_INVALID' | 'POLICY_SYNTAX' | 'UNKNOWN_ENVIRONMENT' | 'INVALID_EVALUATION_INPUT';

export abstract class PolicyError extends Error {
  abstract readonly code: PolicyErrorCode;
}

export function formatIssue(issue: PolicyIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}`;
  return issue.path === '' ? `${where}: ${issue.problem}` : `${where}: ${issue.path}: ${issue.problem}`;
}

/** One or more policy files do not satisfy the schema or the cross-file rules. */
export class PolicyValidationError extends PolicyError {
  readonly code: PolicyErrorCode = 'POLICY_INVALID';
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(`invalid policy files (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.name = 'PolicyValidationError';
  }
}

/** A policy file is not well-formed YAML; `line`/`column` point at the error. */
export class PolicySyntaxError extends PolicyValidationError {
  override readonly code: PolicyErrorCode = 'POLICY_SYNTAX';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super([{ file, path: '', problem, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) }]);
    this.name = 'PolicySyntaxError';
  }
}

export class UnknownEnvironmentError extends PolicyError {
  readonly code = 'UNKNOWN_ENVIRONMENT' as const;
  constructor(
    readonly environment: string,
    readonly knownEnvironments: readonly string[],
  ) {
    super(`unknown environment '${environment}'; known environments: ${knownEnvironments.join(', ')}`);
    this.name = 'UnknownEnvironmentError';
  }
}

/** The question asked of the policy is malformed (e.g. an invalid instant or a reversed interval). */
export class InvalidEvaluationInputError extends PolicyError {
  readonly code = 'INVALID_EVALUATION_INPUT' as const;
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'InvalidEvaluationInputError';
  }
}
