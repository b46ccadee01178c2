import type { CallerIdentity, VerifiedCaller } from '../auth/signed-command.js';

/** Identifies a command: `<prefix>.cmd.<context>.<command>` on NATS. */
export interface CommandContext {
  context: string;
  command: string;
  subject: string;
  /** Who sent it, as its verified signature says (set by `authenticatedCommandBus`; the only identity a handler may trust). */
  caller?: VerifiedCaller;
}

export type CommandHandler<Payload = unknown, Result = unknown> = (payload: Payload, command: CommandContext) => Promise<Result> | Result;

export interface SendOptions {
  /** Give up after this long with `CommandTimeoutError`. @defaultValue the bus's default (5000 ms) */
  timeoutMs?: number;
  /** Whom an `authenticatedCommandBus` signs the command as. @defaultValue the sending process itself */
  caller?: CallerIdentity;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/**
 * Commands, written once against this interface, run on NATS request/reply or
 * in-process. Both implementations raise the same errors: `NoResponderError`
 * (nobody handles the command), `CommandTimeoutError`, `CommandFailedError`
 * (the handler threw; remote name, code and details preserved).
 */
export interface CommandBus {
  /** Serve a command; replicas registering the same command share the load. Returns an unregister function. */
  register<Payload = unknown, Result = unknown>(context: string, command: string, handler: CommandHandler<Payload, Result>): Promise<() => Promise<void>>;
  send<Result = unknown>(context: string, command: string, payload: unknown, options?: SendOptions): Promise<Result>;
  close(): Promise<void>;
}
