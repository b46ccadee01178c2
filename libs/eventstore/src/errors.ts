import type { ExpectedVersion } from './types.js';

export type EventStoreErrorCode = 'WRONG_EXPECTED_VERSION' | 'INVALID_ARGUMENT' | 'STORE_CLOSED';

/** Base of every error the event store throws; switch on `code`, not on messages. */
export abstract class EventStoreError extends Error {
  abstract readonly code: EventStoreErrorCode;
  override get name(): string {
    return this.constructor.name;
  }
}

export class WrongExpectedVersionError extends EventStoreError {
  readonly code = 'WRONG_EXPECTED_VERSION' as const;
  constructor(
    readonly streamId: string,
    readonly expectedVersion: ExpectedVersion,
    /** Current version of the stream; undefined when the stream does not exist. */
    readonly actualVersion: bigint | undefined,
  ) {
    super(
      `Stream '${streamId}': expected version ${String(expectedVersion)}, actual ${actualVersion === undefined ? 'no stream' : String(actualVersion)}`,
    );
  }
}

export class InvalidArgumentError extends EventStoreError {
  readonly code = 'INVALID_ARGUMENT' as const;
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }
}

export class StoreClosedError extends EventStoreError {
  readonly code = 'STORE_CLOSED' as const;
  constructor() {
    super('The event store has been closed');
  }
}
