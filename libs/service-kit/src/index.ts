export { type ErrorBody, type ErrorStatusMap, type FieldIssue, DEFAULT_ERROR_STATUS, issuesFromZod, RequestValidationError } from './errors.js';
export { HttpErrorFilter } from './http-error.filter.js';
export { ZodRequestValidationPipe } from './validation.js';
export { HealthModule, type ReadinessCheck, READINESS_TIMEOUT_MS } from './health.js';
export { createMetricsRegistry, MetricsModule, METRICS_REGISTRY } from './metrics.js';
export { createHttpApp, correlationIdOf, CORRELATION_HEADER, DEFAULT_BODY_LIMIT_BYTES, type HttpAppOptions } from './http-app.js';
export { loggingModule } from './logging.js';
export { handleCommand, type CommandDecider, type CommandResult, type HandleCommandOptions, DEFAULT_COMMAND_ATTEMPTS } from './command-handler.js';
export { PolicyRegistry } from './policy/policy-registry.js';
export { readPolicyDirectory } from './policy/policy-files.js';
export { POLICY_STREAM, type PolicyHistoryEntry, type PolicyVersionActivated } from './policy/policy-history.js';
export type { RunningService, ServiceContext, ServiceDefinition, ServiceLogger } from './service.js';
export { startEmbeddedServices, type EmbeddedHost, type EmbeddedHostOptions } from './embedded-host.js';
export { measuredEvents } from './consumer-metrics.js';
export { DEFAULT_CHECK_CACHE_SIZE, EventNotInStoreError, type EventMismatchReason, type RefusedEventSink, storeCheckedEvents, storeEventCheck, type StoreEventCheck } from './store-checked-events.js';
export { commandMetrics, type CommandMetrics, type CommandOutcome, registeredCounter, timedCommandBus } from './command-metrics.js';
export { closeOnSignals, exitOnStartupFailure, EXIT_BAD_CONFIGURATION } from './startup.js';
export { startTicker, type Ticker } from './ticker.js';
export * from './standalone/index.js';
export {
  CLOCK_CONTROL_IN_PRODUCTION,
  ClockControlDisabledError,
  ClockControlSetting,
  ClockSetting,
  clockSetting,
  controlledClock,
  localClockControl,
  type ClockControl,
  type ClockSetReport,
  type ControlledClock,
} from './clock-control.js';
export { createEffectRunner, DEFAULT_EFFECT_LEASE_MS, type EffectPort, PermanentEffectError, type EffectRunner, type EffectRunnerOptions } from './effect-runner.js';
export { armTimer, cancelTimer, createTimerRunner, DEFAULT_TIMER_INTERVAL_MS, type FiredTimer, startTimerRunner, timerIndexConsumer, type TimerRecorder, type TimerRunner, type TimerRunnerOptions, type TimerTarget } from './timer-runner.js';
export { AwaitingFactError, DEFAULT_MAX_AWAIT_DELIVERIES, type PreparedInput, runWorkflow, workflowReaction, type WorkflowReactionOptions, type WorkflowRunnerOptions } from './workflow-runner.js';
export {
  busCommand,
  type BusCommandPattern,
  busConsumer,
  type BusConsumerPattern,
  busEvents,
  type BusEventsExtras,
  BusErrorPassThrough,
  CommandRpcContext,
  EventRpcContext,
  GATEHOUSE_TRANSPORT,
  GatehouseTransport,
  type GatehouseTransportOptions,
} from './nest/transport.js';
export { nestService, SERVICE_CONTEXT } from './nest/nest-service.js';
export { CommandOutcomes } from './nest/command-outcomes.js';
