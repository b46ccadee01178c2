import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.js';

/** Parses a payload with zod; on failure throws `ValidationError` naming each field and reason. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, subject: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(subject, result.error.issues.map(toFieldIssue));
}

function toFieldIssue(issue: z.core.$ZodIssue): FieldIssue {
  return { field: issue.path.map(String).join('.'), reason: issue.message };
}
