import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';
import type { ZodError } from 'zod';

/** One reason a request was refused, naming the field it is about. */
export interface FieldIssue {
  /** Dotted path into the request part, e.g. `windows.0.end`; empty for the whole value. */
  field: string;
  reason: string;
}

/** The JSON body of every error response, so clients can switch on `error`. */
export interface ErrorBody {
  error: string;
  message: string;
  issues?: FieldIssue[];
  details?: Record<string, unknown>;
  correlationId?: string;
}

export function issuesFromZod(error: ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.map(String).join('.'),
    reason: issue.message,
  }));
}

/** 400: the request did not match its schema; nothing was changed. */
export class RequestValidationError extends BadRequestException {
  constructor(readonly issues: FieldIssue[]) {
    const summary = issues.map((i) => (i.field ? `${i.field}: ${i.reason}` : i.reason)).join('; ');
    super({ error: 'ValidationError', message: `Invalid request: ${summary}`, issues } satisfies ErrorBody);
  }
}

/**
 * How a named (domain, store, policy) error maps to an HTTP status. Errors are matched by
 * `name`, so libraries need not know about HTTP.
 */
export type ErrorStatusMap = Readonly<Record<string, HttpStatus>>;

export const DEFAULT_ERROR_STATUS: ErrorStatusMap = {
  WrongExpectedVersionError: HttpStatus.CONFLICT,
  InvalidArgumentError: HttpStatus.BAD_REQUEST,
};

export function toErrorBody(exception: unknown, statusMap: ErrorStatusMap): { status: number; body: ErrorBody } {
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (typeof response === 'object' && response !== null && 'error' in response && 'message' in response) {
      const r = response as Record<string, unknown>;
      return {
        status,
        body: {
          error: String(r['error']).replace(/\s+/g, ''),
          message: Array.isArray(r['message']) ? r['message'].join('; ') : String(r['message']),
          ...(Array.isArray(r['issues']) ? { issues: r['issues'] as FieldIssue[] } : {}),
          ...(isRecord(r['details']) ? { details: r['details'] } : {}),
        },
      };
    }
    return { status, body: { error: statusName(status), message: exception.message } };
  }
  if (exception instanceof Error) {
    const status = statusMap[exception.name];
    if (status !== undefined) {
      return { status, body: { error: exception.name, message: exception.message, details: publicFacts(exception) } };
    }
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { error: 'InternalError', message: 'Unexpected error; the server log has the details under this correlation id' },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `PayloadTooLarge` for 413: a stable name when the exception carries none of its own. */
function statusName(status: number): string {
  const constant = HttpStatus[status] as string | undefined;
  if (constant === undefined) return 'HttpError';
  return constant
    .toLowerCase()
    .split('_')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** The facts a named error carries (stream, expected version, ...), without the stack. */
function publicFacts(error: Error): Record<string, unknown> | undefined {
  const facts: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'stack' || key === 'message') continue;
    facts[key] = typeof value === 'bigint' ? value.toString() : value;
  }
  return Object.keys(facts).length > 0 ? facts : undefined;
}
