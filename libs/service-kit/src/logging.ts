import { type DynamicModule, Global, type LoggerService, Module } from '@nestjs/common';
import { pino, type Level, type Logger, type LoggerOptions } from 'pino';
import { logFormatOf, prettyLogStream, quietNestStartup } from './log-format.js';

/** The HTTP side's pino logger, provided by {@link loggingModule}; createHttpApp logs Nest and each request to it. */
export const HTTP_LOGGER = Symbol('HTTP_LOGGER');

@Global()
@Module({})
class LoggingModule {}

/**
 * Logs (pino) carrying the service name: JSON lines, or readable lines on a terminal (LOG_FORMAT=json|pretty
 * overrides); Nest's route mapping only at debug level. createHttpApp adds one line per request with its
 * correlation id (health probes and scrapes left out).
 */
export function loggingModule(service: string, level = process.env['LOG_LEVEL'] ?? 'info'): DynamicModule {
  const format = logFormatOf(process.env, process.stdout.isTTY === true);
  const options: LoggerOptions = { level, hooks: { logMethod: quietNestStartup }, base: { service } };
  const logger = format === 'pretty' ? pino(options, prettyLogStream()) : pino(options);
  return { module: LoggingModule, global: true, providers: [{ provide: HTTP_LOGGER, useValue: logger }], exports: [HTTP_LOGGER] };
}

/**
 * Nest's own logging (start-up, exceptions) written to pino. Nest passes the context (the class that logs) as the
 * last string argument, and error() a stack before it.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    const params = [...rest];
    const context = typeof params.at(-1) === 'string' ? (params.pop() as string) : undefined;
    const fields: Record<string, unknown> = context === undefined ? {} : { context };
    if (level === 'error' && typeof params[0] === 'string') fields['stack'] = params[0];
    if (message instanceof Error) this.logger[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null) this.logger[level]({ ...fields, ...(message as Record<string, unknown>) });
    else this.logger[level](fields, String(message));
  }
}
