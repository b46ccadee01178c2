export { type ErrorBody, type ErrorStatusMap, type FieldIssue, DEFAULT_ERROR_STATUS, issuesFromZod, RequestValidationError } from './errors.js';
export { HttpErrorFilter } from './http-error.filter.js';
export { ZodRequestValidationPipe } from './validation.js';
export { HealthModule, type ReadinessCheck, READINESS_TIMEOUT_MS } from './health.js';
export { createMetricsRegistry, MetricsModule, METRICS_REGISTRY } from './metrics.js';
export { createHttpApp, correlationIdOf, CORRELATION_HEADER, DEFAULT_BODY_LIMIT_BYTES, type HttpAppOptions } from './http-app.js';
export { loggingModule } from './logging.js';
export { handleCommand, type CommandDecider, type CommandResult, type HandleCommandOptions, DEFAULT_COMMAND_ATTEMPTS } from './command-handler.js';
