/**
 * `gatehouse admin rebuild-read-models`: rebuild the projections' read models and monitoring's watch index of a
 * running Gatehouse from the whole log, swapped in when complete (`POST /api/admin/read-models/rebuild`, for SREs and
 * release engineers). The views keep answering from the current tables meanwhile.
 */
import type { Command } from 'commander';
import { EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { call, EXIT_REQUEST_FAILED, type ConnectionOptions } from './dlq.js';

export function registerAdminCommands(program: Command, io: CliIo, exit: ExitCode): void {
  const admin = program.command('admin').description('operate a running Gatehouse (sre, release_engineer)');
  admin
    .command('rebuild-read-models')
    .description('rebuild the read models from the whole log into fresh tables and swap them in; prints events read, position and time')
    .option('--url <url>', 'gateway base URL (default: $GATEHOUSE_URL, else http://127.0.0.1:8080)')
    .option('--token <jwt>', 'bearer token (default: $GATEHOUSE_TOKEN)')
    .option('--json', 'print the gateway reply as JSON')
    .action(async (options: ConnectionOptions) => {
      const reply = await call(io, options, 'POST', '/api/admin/read-models/rebuild');
      if (reply === null) return void (exit.value = EXIT_REQUEST_FAILED);
      const r = reply.rebuilt;
      if (options.json) io.stdout(`${JSON.stringify(reply, null, 2)}\n`);
      else {
        io.stdout(`read models rebuilt: ${r.events} events to position ${r.position} in ${r.durationMs} ms${r.generation === null ? '' : ` (tables generation ${r.generation})`}, requested by ${r.requestedBy}\n`);
        const w = reply.watchIndex;
        if (w !== undefined) io.stdout(`watch index rebuilt: ${w.events} events, ${w.entries} entries, to position ${w.position} in ${w.durationMs} ms\n`);
      }
      exit.value = EXIT_OK;
    });
}
