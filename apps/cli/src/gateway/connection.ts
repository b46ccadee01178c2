/**
 * Where the lifecycle commands find the gateway and their token: `--url`/`--token`, else
 * GATEHOUSE_URL/GATEHOUSE_TOKEN, else what `gatehouse login` stored (a JSON file readable by its
 * owner only: $GATEHOUSE_CONFIG, else $XDG_CONFIG_HOME/gatehouse/config.json, else ~/.config/gatehouse/config.json).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliInputError, type CliIo } from '../io.js';
import { gatewayClient, type GatewayClient } from './client.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** Owner read/write only: the file holds a bearer token. */
export const CONFIG_FILE_MODE = 0o600;

export interface StoredLogin {
  url: string;
  token: string;
}

export interface ConnectionOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

export function configFileOf(io: CliIo): string {
  const explicit = io.env['GATEHOUSE_CONFIG'];
  if (explicit !== undefined && explicit !== '') return path.resolve(io.cwd, explicit);
  const xdg = io.env['XDG_CONFIG_HOME'];
  const home = io.env['HOME'] ?? io.env['USERPROFILE'];
  if ((xdg === undefined || xdg === '') && (home === undefined || home === '')) {
    throw new CliInputError('no place for the login file: set GATEHOUSE_CONFIG, XDG_CONFIG_HOME or HOME');
  }
  return path.join(xdg !== undefined && xdg !== '' ? xdg : path.join(home!, '.config'), 'gatehouse', 'config.json');
}

export function readStoredLogin(io: CliIo): StoredLogin | undefined {
  let file: string;
  try {
    file = configFileOf(io);
  } catch {
    return undefined;
  }
  if (!existsSync(file)) return undefined;
  try {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredLogin>;
    return typeof stored.url === 'string' && typeof stored.token === 'string' ? { url: stored.url, token: stored.token } : undefined;
  } catch {
    throw new CliInputError(`${file} is not a Gatehouse login file (JSON with url and token): run gatehouse login again`);
  }
}

export function writeStoredLogin(io: CliIo, login: StoredLogin): string {
  const file = configFileOf(io);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(login, null, 2)}\n`, { mode: CONFIG_FILE_MODE });
  // writeFileSync's mode applies only when it creates the file.
  chmodSync(file, CONFIG_FILE_MODE);
  return file;
}

/** Adds `--url`, `--token` and `--json` to a command that talks to the gateway. */
export function withConnection(command: Command): Command {
  return command
    .option('--url <url>', `gateway base URL (default: $GATEHOUSE_URL, else the login's, else ${DEFAULT_URL})`)
    .option('--token <jwt>', 'bearer token (default: $GATEHOUSE_TOKEN, else the one gatehouse login stored)')
    .option('--json', 'print the answer as JSON');
}

export function connect(io: CliIo, options: ConnectionOptions): GatewayClient {
  const stored = options.url !== undefined && options.token !== undefined ? undefined : readStoredLogin(io);
  const url = options.url ?? nonEmpty(io.env['GATEHOUSE_URL']) ?? stored?.url ?? DEFAULT_URL;
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw new CliInputError(`--url ${url} must be an http:// or https:// URL`);
  const token = options.token ?? nonEmpty(io.env['GATEHOUSE_TOKEN']) ?? stored?.token;
  return gatewayClient(url, token);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
