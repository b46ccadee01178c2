/** The `gatehouse` program: one command group per file under commands/, registered here. */
import { Command, CommanderError } from 'commander';
import { PolicyError } from '@gatehouse/policy';
import { registerPolicyCommands } from './commands/policy.js';
import { registerTokenCommand } from './commands/token.js';
import { registerServeCommand } from './commands/serve.js';
import { registerBusAuthCommands } from './commands/bus-auth.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerAuditReportCommands } from './commands/auditReports.js';
import { registerPolicyWhatIfCommand } from './commands/policyWhatIf.js';
import { registerWhyCommand } from './commands/why.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerAdminCommands } from './commands/admin.js';
import { registerRulesCommands } from './commands/rules.js';
import { registerFlagsCommands } from './commands/flags.js';
import { registerLifecycleCommands } from './commands/lifecycle.js';
import { registerCiCommands } from './commands/ci.js';
import { registerLoginCommand } from './commands/login.js';
import { CliInputError, EXIT_BAD_INPUT, EXIT_CODES_HELP, EXIT_OK, type CliIo } from './io.js';

/** Commander's codes for output the user asked for (help, version): not errors. */
const INFORMATIONAL_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Holds the exit code a command decided on (0 allowed/valid, 3 refused). */
export interface ExitCode {
  value: number;
}

export function buildProgram(io: CliIo, exit: ExitCode): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse release-governance control plane')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\nTalks to a running gateway: --url or $GATEHOUSE_URL, --token or $GATEHOUSE_TOKEN, else what gatehouse login stored.\n${EXIT_CODES_HELP}`);
  registerLoginCommand(program, io, exit);
  registerLifecycleCommands(program, io, exit);
  registerCiCommands(program, io, exit);
  registerPolicyCommands(program, io, exit);
  registerPolicyWhatIfCommand(program, io, exit);
  registerTokenCommand(program, io, exit);
  registerServeCommand(program, io, exit);
  registerBusAuthCommands(program, io, exit);
  registerAuditCommands(program, io, exit);
  registerAuditReportCommands(program, io, exit);
  registerWhyCommand(program, io, exit);
  registerDlqCommands(program, io, exit);
  registerAdminCommands(program, io, exit);
  registerRulesCommands(program, io, exit);
  registerFlagsCommands(program, io, exit);
  return program;
}

/** Run the CLI with `argv` (without node and script), returning the process exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const exit: ExitCode = { value: EXIT_OK };
  try {
    await buildProgram(io, exit).parseAsync([...argv], { from: 'user' });
    return exit.value;
  } catch (error) {
    if (error instanceof CommanderError) return INFORMATIONAL_CODES.has(error.code) ? EXIT_OK : EXIT_BAD_INPUT;
    if (error instanceof CliInputError || error instanceof PolicyError) {
      io.stderr(`error: ${error.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw error;
  }
}
