import type { CommandBus, CommandHandler } from '../commands/types.js';
import type { CommandKeys } from './keys.js';
import { createCommandVerifier, signerFrom, type CallerIdentity } from './signed-command.js';

/** This process holds no signing key, so it cannot send commands. */
export class MissingSigningKeyError extends Error {
  override readonly name = 'MissingSigningKeyError';
  constructor(readonly signer: string) {
    super(`${signer} has no command signing key (GATEHOUSE_COMMAND_SIGNING_KEY), so it cannot send commands`);
  }
}

export interface AuthenticatedCommandBusOptions {
  keys: CommandKeys;
  /** This process's signer name: the gateway or the service's name. */
  name: string;
  /** Wall clock for signatures, in ms. @defaultValue Date.now */
  now?: () => number;
}

/**
 * The bus as a service (or the gateway) uses it: every command it sends is signed (as the caller
 * given in `SendOptions.caller`, else as itself), and every handler it registers runs only for a
 * command whose signature verifies, with the payload that was signed and the verified caller in
 * `CommandContext.caller`. Anything else is answered with `ForbiddenCommand` before the handler
 * runs, so nothing is written. The same code runs on NATS and in process.
 */
export function authenticatedCommandBus(bus: CommandBus, { keys, name, now }: AuthenticatedCommandBusOptions): CommandBus {
  const signer = signerFrom(keys, name, now === undefined ? {} : { now });
  const verifier = createCommandVerifier({ trusted: keys.trusted, ...(now === undefined ? {} : { now }) });
  const itself: CallerIdentity = { subject: name, roles: [] };
  return {
    register: <Payload, Result>(context: string, command: string, handler: CommandHandler<Payload, Result>) =>
      bus.register(context, command, (data: unknown, meta) => {
        const { payload, caller } = verifier.verify(context, command, data);
        return handler(payload as Payload, { ...meta, caller });
      }),
    async send(context, command, payload, options = {}) {
      if (signer === undefined) throw new MissingSigningKeyError(name);
      const { caller = itself, ...rest } = options;
      return bus.send(context, command, signer.sign(context, command, payload, caller), rest);
    },
    close: () => bus.close(),
  };
}
