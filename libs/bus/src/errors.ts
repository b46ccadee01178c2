/** Discriminant of every error the bus throws; switch on `code`, not on messages. */
export type BusErrorCode =
  | 'INVALID_SUBJECT_TOKEN'
  | 'INVALID_ENVELOPE'
  | 'COMMAND_TIMEOUT'
  | 'NO_RESPONDER'
  | 'COMMAND_FAILED'
  | 'DUPLICATE_HANDLER'
  | 'RELAY_PUBLISH_FAILED'
  | 'INVALID_COMMAND_PAYLOAD'
  | 'BUS_UNAVAILABLE';

/** Base of every error thrown by `@gatehouse/bus`. */
export abstract class BusError extends Error {
  abstract readonly code: BusErrorCode;
  override get name(): string {
    return this.constructor.name;
  }
}

/** A subject token (category, event type, context, command, prefix segment) would corrupt the subject tree. */
export class InvalidSubjectTokenError extends BusError {
  readonly code = 'INVALID_SUBJECT_TOKEN' as const;
  constructor(
    /** Which part of the subject was being built, e.g. "category" or "command". */
    readonly part: string,
    readonly token: string,
  ) {
    super(
      `Invalid ${part} '${token}' for a NATS subject: tokens must be non-empty and contain no '.', whitespace, '*' or '>'`,
    );
  }
}

/** An incoming message is not a valid Gatehouse CloudEvents envelope. */
export class InvalidEnvelopeError extends BusError {
  readonly code = 'INVALID_ENVELOPE' as const;
  constructor(
    readonly reason: string,
    /** Zod issues or a parse error message, for DLQ records and logs. */
    readonly details?: unknown,
  ) {
    super(`Invalid event envelope: ${reason}`);
  }
}

/** A command was sent but no reply arrived within the timeout (a responder may exist but be slow or stuck). */
export class CommandTimeoutError extends BusError {
  readonly code = 'COMMAND_TIMEOUT' as const;
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`No reply on '${subject}' within ${timeoutMs} ms: is the service handling it running and healthy?`);
  }
}

/** Nobody listens on the command subject: the owning service is not running (or the command name is wrong). */
export class NoResponderError extends BusError {
  readonly code = 'NO_RESPONDER' as const;
  constructor(readonly subject: string) {
    super(`No service answers '${subject}': start the service that owns this context or check the command name`);
  }
}

/** The handler answered with a failure; the remote error's name, message and details travel with it. */
export class CommandFailedError extends BusError {
  readonly code = 'COMMAND_FAILED' as const;
  constructor(
    readonly subject: string,
    /** `name` of the error thrown by the handler, e.g. "WrongExpectedVersionError". */
    readonly remoteName: string,
    readonly remoteMessage: string,
    readonly details?: unknown,
  ) {
    super(`${subject} failed with ${remoteName}: ${remoteMessage}`);
  }
}

/** Two in-process handlers were registered for one command. */
export class DuplicateHandlerError extends BusError {
  readonly code = 'DUPLICATE_HANDLER' as const;
  constructor(readonly subject: string) {
    super(`A handler for '${subject}' is already registered`);
  }
}

/** The relay could not get an event acknowledged by JetStream; it resumes from its checkpoint. */
export class RelayPublishError extends BusError {
  readonly code = 'RELAY_PUBLISH_FAILED' as const;
  constructor(
    readonly eventId: string,
    readonly globalPosition: bigint,
    override readonly cause: unknown,
  ) {
    super(
      `JetStream did not acknowledge event ${eventId} at position ${globalPosition}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  }
}

/** The NATS connection is down (the client is reconnecting): nothing was sent. */
export class BusUnavailableError extends BusError {
  readonly code = 'BUS_UNAVAILABLE' as const;
  constructor(
    readonly subject: string,
    readonly reason: string,
  ) {
    super(`NATS is unreachable, '${subject}' was not sent (${reason}); the client keeps reconnecting`);
  }
}
