/**
 * What every operation of the OpenAPI document states, whatever its controller declared: its security
 * (bearer, or `security: []` when it is public) and the 4xx answers it can give, each with the body
 * every Gatehouse error has (HttpErrorFilter): `{ error, message, correlationId, issues?, details? }`.
 */
import type { OpenAPIObject } from '@nestjs/swagger';

export const ERROR_SCHEMA_NAME = 'Error';

type SchemaObject = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];

const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'Name of the error, e.g. ValidationError, SlotRefusedError', example: 'ValidationError' },
    message: { type: 'string', description: 'What was wrong and what to do' },
    correlationId: { type: 'string', description: 'The request id (x-correlation-id) to find it in the logs' },
    issues: {
      type: 'array',
      description: 'Each field that was wrong and why (400)',
      items: { type: 'object', required: ['field', 'reason'], properties: { field: { type: 'string' }, reason: { type: 'string' } } },
    },
    details: { type: 'object', additionalProperties: true, description: 'Facts of a refusal, e.g. reasons and nextAllowedAt' },
  },
};

const DESCRIPTIONS: Record<string, string> = {
  '400': 'Bad input: the issues name each field and reason; nothing was written',
  '401': 'Missing, malformed, badly signed or expired bearer token',
  '403': 'The token’s roles may not do this (the message names the roles that would), or separation of duties forbids it',
  '404': 'No such resource',
  '409': 'The resource’s state does not allow it (e.g. already decided)',
  '413': 'The request body is too large',
  '422': 'A rule refused it: the message and details give the reasons and, for windows, the next allowed time',
};

type Operation = { security?: unknown[]; responses?: Record<string, unknown> };
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

export function applyOpenApiConventions(document: OpenAPIObject): OpenAPIObject {
  const schemas = { ...(document.components?.schemas ?? {}), [ERROR_SCHEMA_NAME]: ERROR_SCHEMA };
  const errorResponse = (status: string) => ({ description: DESCRIPTIONS[status]!, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA_NAME}` } } } });
  for (const [route, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = (item as Record<string, Operation | undefined>)[method];
      if (operation === undefined) continue;
      const secured = Array.isArray(operation.security) && operation.security.length > 0;
      if (!secured) operation.security = [];
      const statuses = ['400', ...(secured ? ['401', '403'] : []), ...(route.includes('{') ? ['404'] : []), ...(method === 'get' ? [] : ['409', '413', '422'])];
      const responses = (operation.responses ??= {});
      for (const status of statuses) responses[status] ??= errorResponse(status);
    }
  }
  return { ...document, components: { ...document.components, schemas } };
}
