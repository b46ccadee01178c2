import { createConnection } from 'node:net';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
const PROBE_TIMEOUT_MS = 1_500;
export const NATS_START_COMMAND =
  'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log';

export type NatsAvailability = { available: true; url: string } | { available: false; url: string; reason: string };

/** NATS server URL for integration tests: `NATS_URL` or the local default. */
export function natsUrl(): string {
  return process.env.NATS_URL ?? DEFAULT_NATS_URL;
}

/** Opens a TCP connection and waits for the server's `INFO` line: proves a NATS server, not just an open port. */
export function probeNats(url: string = natsUrl()): Promise<NatsAvailability> {
  const { hostname, port } = new URL(url.includes('://') ? url : `nats://${url}`);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 4222) });
    const finish = (result: NatsAvailability): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish({ available: false, url, reason: `no answer within ${PROBE_TIMEOUT_MS} ms` }));
    socket.once('error', (error) => finish({ available: false, url, reason: error.message }));
    socket.once('data', (chunk) => {
      const line = chunk.toString('utf8');
      finish(line.startsWith('INFO ') ? { available: true, url } : { available: false, url, reason: `not a NATS server (got '${line.slice(0, 40)}')` });
    });
  });
}

/**
 * For the top of an `*.int.spec.ts`: resolves when NATS answers. When it does
 * not, with `CI` set it throws (the suite fails: CI must never pass by
 * skipping); locally it prints a loud notice saying how to start the server
 * and returns `false`, so the suite can `describe.skip`.
 *
 * ```ts
 * const describeNats = (await requireNats()) ? describe : describe.skip;
 * ```
 */
export async function requireNats(url: string = natsUrl()): Promise<boolean> {
  const availability = await probeNats(url);
  if (availability.available) return true;
  const message = `NATS server with JetStream is not reachable at ${url} (${availability.reason}).\nStart it with:\n  ${NATS_START_COMMAND}\nor point NATS_URL at a running server.`;
  if (process.env.CI) throw new Error(message);
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! SKIPPING NATS INTEGRATION TESTS\n${message}\n${bar}\n\n`);
  return false;
}
