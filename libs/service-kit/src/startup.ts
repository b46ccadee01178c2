/** Exit code for a start refused because of the user's configuration or policy files. */
export const EXIT_BAD_CONFIGURATION = 2;
const EXIT_FAILURE = 1;
/** Errors a user can fix: told plainly, without a stack. */
const USER_ERRORS = new Set(['ConfigurationError', 'PolicyValidationError', 'PolicySyntaxError']);

/** Prints why a process could not start and exits: 2 for the user's configuration, 1 otherwise. */
export function exitOnStartupFailure(program: string, error: unknown): never {
  if (error instanceof Error && USER_ERRORS.has(error.name)) {
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exit(EXIT_BAD_CONFIGURATION);
  }
  process.stderr.write(`${program}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(EXIT_FAILURE);
}

/** Runs `close` once on SIGINT or SIGTERM, then exits. */
export function closeOnSignals(close: () => Promise<void>): void {
  const shutdown = (): void => {
    void close().finally(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
