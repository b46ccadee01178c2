/** `gatehouse login`: checks a pasted token against the gateway and stores it (owner-only file) for the lifecycle commands. */
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { CliInputError, EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { gatewayClient } from '../gateway/client.js';
import { DEFAULT_URL, readStoredLogin, writeStoredLogin } from '../gateway/connection.js';
import { documentExitCodes, runGatewayCommand } from '../gateway/output.js';

export function registerLoginCommand(program: Command, io: CliIo, exit: ExitCode): void {
  documentExitCodes(
    program
      .command('login')
      .description('store a token for the lifecycle commands (pass --token, or paste it on standard input); checked against the gateway first')
      .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_URL})`)
      .option('--token <jwt>', 'the token (default: read from standard input)')
      .option('--json', 'print who you are as JSON'),
  ).action(async (o: { url?: string; token?: string; json?: boolean }) => {
    await runGatewayCommand(io, exit, o.json, async () => {
      const url = o.url ?? io.env['GATEHOUSE_URL'] ?? readStoredLogin(io)?.url ?? DEFAULT_URL;
      if (!/^https?:\/\/\S+$/.test(url)) throw new CliInputError(`--url ${url} must be an http:// or https:// URL`);
      const token = (o.token ?? (io.readStdin === undefined ? '' : await io.readStdin())).trim();
      if (token === '') throw new CliInputError('no token: pass --token <jwt> or paste it on standard input (gatehouse token --sub <you> --roles <roles> | gatehouse login)');
      let claims: { sub?: unknown; roles?: unknown; exp?: unknown };
      try {
        claims = decodeJwt(token);
      } catch {
        throw new CliInputError('that is not a JWT (three base64url parts separated by dots)');
      }
      // Any valid token may read the clock: the gateway checks signature, expiry and roles here, before anything is stored.
      await gatewayClient(url, token).call('GET', '/api/admin/clock');
      const file = writeStoredLogin(io, { url, token });
      const roles = Array.isArray(claims.roles) ? claims.roles.join(', ') : '-';
      const expires = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'never';
      if (o.json === true) io.stdout(`${JSON.stringify({ url, sub: claims.sub, roles: claims.roles, expiresAt: expires, file }, null, 2)}\n`);
      else io.stdout(`logged in to ${url} as ${String(claims.sub)} (${roles}); token expires ${expires}; stored in ${file}\n`);
      return EXIT_OK;
    });
  });
}
