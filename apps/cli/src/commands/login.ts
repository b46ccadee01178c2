/**
 * `gatehouse login`: gets a token — pasted, or with `--device` from the company's identity provider
 * through the OAuth device flow — checks it against the gateway and stores it (owner-only file) for the
 * lifecycle commands.
 */
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { CliInputError, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, type CliIo } from '../io.js';
import { deviceLogin, SignInError } from './deviceLogin.js';
import type { ExitCode } from '../program.js';
import { gatewayClient } from '../gateway/client.js';
import { DEFAULT_URL, readStoredLogin, writeStoredLogin } from '../gateway/connection.js';
import { documentExitCodes, runGatewayCommand } from '../gateway/output.js';

export function registerLoginCommand(program: Command, io: CliIo, exit: ExitCode): void {
  documentExitCodes(
    program
      .command('login')
      .description('store a token for the lifecycle commands (pass --token, paste it on standard input, or sign in with --device); checked against the gateway first')
      .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else ${DEFAULT_URL})`)
      .option('--token <jwt>', 'the token (default: read from standard input)')
      .option('--device', "sign in with the identity provider the gateway names (OAuth device flow: open the printed URL on any device and enter the code)")
      .option('--json', 'print who you are as JSON'),
  ).action(async (o: { url?: string; token?: string; json?: boolean; device?: boolean }) => {
    await runGatewayCommand(io, exit, o.json, async () => {
      const url = o.url ?? io.env['GATEHOUSE_URL'] ?? readStoredLogin(io)?.url ?? DEFAULT_URL;
      if (!/^https?:\/\/\S+$/.test(url)) throw new CliInputError(`--url ${url} must be an http:// or https:// URL`);
      if (o.device === true && o.token !== undefined) throw new CliInputError('--device and --token exclude each other');
      let token: string;
      if (o.device === true) {
        try {
          token = await deviceLogin(io, { gatewayUrl: url });
        } catch (error) {
          if (!(error instanceof SignInError)) throw error;
          io.stderr(`error: ${error.message}\n`);
          return error.unavailable ? EXIT_UNAVAILABLE : EXIT_REFUSED;
        }
      } else {
        token = (o.token ?? (io.readStdin === undefined ? '' : await io.readStdin())).trim();
      }
      if (token === '') throw new CliInputError('no token: pass --token <jwt> or paste it on standard input (gatehouse token --sub <you> --roles <roles> | gatehouse login)');
      let claims: { sub?: unknown; roles?: unknown; exp?: unknown };
      try {
        claims = decodeJwt(token);
      } catch {
        throw new CliInputError('that is not a JWT (three base64url parts separated by dots)');
      }
      // The gateway checks signature, expiry and roles here, before anything is stored, and says which roles
      // it grants (an identity provider's groups are mapped by the gateway, not named in the token).
      const session = (await gatewayClient(url, token).call('GET', '/api/session')) as { subject?: string; roles?: string[] };
      const file = writeStoredLogin(io, { url, token });
      claims = { ...claims, sub: session.subject ?? claims.sub, roles: session.roles ?? claims.roles };
      const roles = Array.isArray(claims.roles) ? claims.roles.join(', ') : '-';
      const expires = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : 'never';
      if (o.json === true) io.stdout(`${JSON.stringify({ url, sub: claims.sub, roles: claims.roles, expiresAt: expires, file }, null, 2)}\n`);
      else io.stdout(`logged in to ${url} as ${String(claims.sub)} (${roles}); token expires ${expires}; stored in ${file}\n`);
      return EXIT_OK;
    });
  });
}
