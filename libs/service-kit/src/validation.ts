import { createZodValidationPipe } from 'nestjs-zod';
import { ZodError } from 'zod';
import { issuesFromZod, RequestValidationError } from './errors.js';

/** Validates @Body/@Query/@Param against their zod DTOs; failures are 400s naming each field. */
export const ZodRequestValidationPipe = createZodValidationPipe({
  createValidationException: (error: unknown) =>
    new RequestValidationError(error instanceof ZodError ? issuesFromZod(error) : [{ field: '', reason: String(error) }]),
});
