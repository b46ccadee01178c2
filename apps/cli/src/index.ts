export { run, buildProgram, type ExitCode } from './program.js';
export { type CliIo, CliInputError, EXIT_OK, EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, processIo } from './io.js';
