import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { loadPackage } from '@nestjs/common/utils/load-package.util.js';
import type { Logger } from 'pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { DEFAULT_ERROR_STATUS, type ErrorStatusMap } from './errors.js';
import { HttpErrorFilter } from './http-error.filter.js';
import { HTTP_LOGGER, PinoNestLogger } from './logging.js';
import { applyOpenApiConventions } from './openapi-conventions.js';
import { ZodRequestValidationPipe } from './validation.js';

/** Requests larger than this are refused with 413 before any handler runs. */
export const DEFAULT_BODY_LIMIT_BYTES = 256 * 1024;
export const CORRELATION_HEADER = 'x-correlation-id';
/** A body declared larger than the limit but not larger than this is read and thrown away before the 413. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface HttpAppOptions {
  /** Title and version shown at /docs. */
  title: string;
  version: string;
  description?: string;
  /** Maps named errors to statuses, on top of the defaults. */
  errorStatus?: ErrorStatusMap;
  /** @defaultValue DEFAULT_BODY_LIMIT_BYTES */
  bodyLimitBytes?: number;
  /** Log Nest and every request to the module's pino logger (the module must import loggingModule). @defaultValue true */
  pinoLogger?: boolean;
}

/** A client's correlation id is kept when well-formed, so one id follows a request across services. */
export function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers[CORRELATION_HEADER];
  return typeof given === 'string' && CORRELATION_ID.test(given) ? given : randomUUID();
}

/** Builds a Fastify-backed Nest app with Gatehouse's HTTP conventions: JSON errors, zod validation, /docs. */
export async function createHttpApp(module: Type<unknown> | DynamicModule, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const { bodyLimitBytes = DEFAULT_BODY_LIMIT_BYTES, errorStatus = {}, pinoLogger = true } = options;
  const adapter = new FastifyAdapter({ bodyLimit: bodyLimitBytes, genReqId: correlationIdOf });
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, { bufferLogs: pinoLogger });
  if (pinoLogger) {
    const logger = app.get<Logger>(HTTP_LOGGER);
    app.useLogger(new PinoNestLogger(logger));
    app.getHttpAdapter().getInstance().addHook('onResponse', async (request, reply) => {
      // Health probes and scrapes would drown the log.
      if (/^\/(health|metrics)/.test(request.url)) return;
      logger.info(
        { [CORRELATION_HEADER]: request.id, correlationId: request.id, req: { method: request.method, url: request.url }, res: { statusCode: reply.statusCode }, responseTime: Math.round(reply.elapsedTime) },
        'request completed',
      );
    });
  }
  app.useGlobalPipes(new ZodRequestValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter({ ...DEFAULT_ERROR_STATUS, ...errorStatus }));
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    const declared = Number(request.headers['content-length']);
    if (!(declared > bodyLimitBytes) || declared > DRAIN_LIMIT_BYTES) return done();
    // Fastify would answer 413 at once and close while the client is still sending: closing a socket with unread
    // data resets the connection, and the client may get ECONNRESET/EPIPE instead of the 413. So the body is read
    // and thrown away first (up to DRAIN_LIMIT_BYTES; beyond that the connection is closed as Fastify does).
    request.raw.resume();
    request.raw.once('end', () => void reply.code(413).header('connection', 'close').send({ error: 'PayloadTooLarge', message: 'Request body is too large', correlationId: request.id }));
  });
  app.getHttpAdapter().getInstance().addHook('onSend', async (request, reply) => {
    reply.header(CORRELATION_HEADER, request.id);
  });
  await setupOpenApi(app, options);
  app.enableShutdownHooks();
  return app;
}

async function setupOpenApi(app: INestApplication, options: HttpAppOptions): Promise<void> {
  const config = new DocumentBuilder()
    .setTitle(options.title)
    .setVersion(options.version)
    .setDescription(options.description ?? '')
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .addServer('/')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  // Swagger loads its static-file plugin with a dynamic import that fails inside jest's VM;
  // loading it here first fills Nest's package cache, so the same module serves both.
  await loadPackage('@fastify/static', 'SwaggerModule', () => import('@fastify/static'));
  SwaggerModule.setup('docs', app, applyOpenApiConventions(cleanupOpenApiDoc(document)), { jsonDocumentUrl: 'docs/openapi.json' });
}
