/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (e.g. the default deploy/policies) are resolved against. */
  readonly cwd: string;
  /** The clock, for commands whose instant defaults to "now". */
  readonly now: () => Date;
  /** Standard output is a terminal (live progress bars instead of one line per change). */
  readonly isTty?: boolean;
  /** Reads all of standard input (a pasted token); undefined when there is none to read. */
  readonly readStdin?: () => Promise<string>;
  /** Waits; tests may pass a faster one. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const EXIT_OK = 0;
/** Unknown environment, unparsable date, invalid policy files, bad options. */
export const EXIT_BAD_INPUT = 2;
/** A rule refused it: the policy, separation of duties, a state that does not allow it (HTTP 403, 409, 422). */
export const EXIT_REFUSED = 3;
/** The change, release, hotfix or deployment does not exist (HTTP 404). */
export const EXIT_NOT_FOUND = 4;
/** The gateway or a service behind it is unreachable or failing (HTTP 5xx, connection refused, a wait that timed out). */
export const EXIT_UNAVAILABLE = 5;

/** What `--help` prints under every command. */
export const EXIT_CODES_HELP = 'Exit codes: 0 ok, 2 bad input, 3 refused by a rule, 4 not found, 5 unavailable.';

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
    isTty: process.stdout.isTTY === true,
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
