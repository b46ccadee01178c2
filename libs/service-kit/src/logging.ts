import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { CORRELATION_HEADER } from './http-app.js';

/** JSON logs (pino) carrying the service name and each request's correlation id. */
export function loggingModule(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      base: { service },
      customProps: (request) => ({ correlationId: request.id }),
      // Health probes and scrapes would drown the log.
      autoLogging: { ignore: (request) => /^\/(health|metrics)/.test(request.url ?? '') },
      serializers: { req: (req: { method: string; url: string; id: unknown }) => ({ method: req.method, url: req.url, id: req.id }) },
      redact: ['req.headers.authorization'],
      customAttributeKeys: { reqId: CORRELATION_HEADER },
    },
  });
}
