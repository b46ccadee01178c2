import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorStatusMap, toErrorBody } from './errors.js';

/** Turns every thrown error into a JSON error body; unknown errors become a logged 500 without internals. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  constructor(private readonly statusMap: ErrorStatusMap) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, body } = toErrorBody(asHttpException(exception), this.statusMap);
    if (status >= HttpStatus.INTERNAL_SERVER_ERROR) {
      this.logger.error({ err: exception, correlationId: request.id }, 'request failed');
    }
    void reply.status(status).send({ ...body, correlationId: String(request.id) });
  }
}

/** Fastify's own client errors (body too large, malformed JSON, wrong content type) carry a 4xx statusCode. */
function asHttpException(exception: unknown): unknown {
  if (exception instanceof HttpException || !(exception instanceof Error)) return exception;
  const { statusCode, code } = exception as Error & { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return exception;
  return new HttpException({ error: typeof code === 'string' ? code : exception.name, message: exception.message }, statusCode);
}
