import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

/** apps/console/dist beside this app (src/ under jest, dist/ when built; the Docker image keeps the same layout). */
export const DEFAULT_CONSOLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../console/dist');

/** Paths the console never answers: the API and the operational endpoints stay JSON, with their own 404s. */
const NOT_CONSOLE = /^\/(api|docs|metrics|health)(\/|$|\?)/;

/**
 * The console is static: only its own scripts and styles, never framed. It talks to the gateway and,
 * when sign-in goes through an identity provider, to the provider's origin (the PKCE code exchange).
 */
function consoleHeaders(connectOrigins: readonly string[]): Record<string, string> {
  return {
    'content-security-policy': `default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src ${["'self'", ...connectOrigins].join(' ')}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
}

export type ConsoleServing = { served: true; dir: string } | { served: false; dir: string; reason: string };

/**
 * Serves the built console at /: its files (hashed assets cached for a year, index.html never), and
 * index.html for every other path outside /api, /docs, /metrics and /health (SPA fallback), so a
 * bookmarked /changes/<id> opens the console on that page. Not built: the gateway runs without it.
 */
export async function serveConsole(app: NestFastifyApplication, dir: string, { connectOrigins = [] }: { connectOrigins?: readonly string[] } = {}): Promise<ConsoleServing> {
  const CONSOLE_HEADERS = consoleHeaders(connectOrigins);
  const indexFile = path.join(dir, 'index.html');
  if (!existsSync(indexFile)) return { served: false, dir, reason: `${indexFile} does not exist: run npm run build` };
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: false,
    decorateReply: false,
    // Set per file in setHeaders: hashed assets forever, the rest revalidated.
    cacheControl: false,
    setHeaders: (res, file) => {
      for (const [name, value] of Object.entries(CONSOLE_HEADERS)) res.setHeader(name, value);
      res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const sendIndex = async (request: { url: string }, reply: import('fastify').FastifyReply): Promise<void> => {
    if (NOT_CONSOLE.test(request.url)) return reply.callNotFound();
    const html = await readFile(indexFile, 'utf8');
    await reply.headers({ ...CONSOLE_HEADERS, 'cache-control': 'no-cache' }).type('text/html; charset=utf-8').send(html);
  };
  fastify.get('/', sendIndex);
  fastify.get('/*', sendIndex);
  return { served: true, dir };
}
