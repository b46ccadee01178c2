import type { DynamicModule } from '@nestjs/common';
import { LoggerModule, type Params } from 'nestjs-pino';
import { CORRELATION_HEADER } from './http-app.js';
import { logFormatOf, prettyLogStream, quietNestStartup } from './log-format.js';

/**
 * Logs (pino) carrying the service name and each request's correlation id: JSON lines, or readable
 * lines on a terminal (LOG_FORMAT=json|pretty overrides); Nest's route mapping only at debug level.
 */
export function loggingModule(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): DynamicModule {
  const format = logFormatOf(process.env, process.stdout.isTTY === true);
  const options: Exclude<NonNullable<Params['pinoHttp']>, unknown[]> = {
    level,
    hooks: { logMethod: quietNestStartup },
    base: { service },
    customProps: (request) => ({ correlationId: request.id }),
    // Health probes and scrapes would drown the log.
    autoLogging: { ignore: (request) => /^\/(health|metrics)/.test(request.url ?? '') },
    serializers: { req: (req: { method: string; url: string; id: unknown }) => ({ method: req.method, url: req.url, id: req.id }) },
    redact: ['req.headers.authorization'],
    customAttributeKeys: { reqId: CORRELATION_HEADER },
  };
  return LoggerModule.forRoot({ pinoHttp: format === 'pretty' ? [options, prettyLogStream()] : options });
}
