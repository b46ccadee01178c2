/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (e.g. the default deploy/policies) are resolved against. */
  readonly cwd: string;
  /** The clock, for commands whose instant defaults to "now". */
  readonly now: () => Date;
}

export const EXIT_OK = 0;
/** Unknown environment, unparsable date, invalid policy files, bad options. */
export const EXIT_BAD_INPUT = 2;
/** The policy refused the deployment. */
export const EXIT_REFUSED = 3;

/** Bad input detected by the CLI itself (not by the policy library). */
export class CliInputError extends Error {
  readonly code = 'CLI_BAD_INPUT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'CliInputError';
  }
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
  };
}
