import pino from 'pino';
import { Writable } from 'node:stream';
import { logFormatOf, prettyLine, quietNestStartup } from './log-format.js';

describe('log format', () => {
  it('is JSON unless a person is at a terminal; LOG_FORMAT decides when set', () => {
    expect(logFormatOf({}, false)).toBe('json');
    expect(logFormatOf({}, true)).toBe('pretty');
    expect(logFormatOf({ LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatOf({ LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('prints a request as one readable line: time, level, service, message, method, path, status, duration, other fields', () => {
    const line = JSON.stringify({ level: 30, time: Date.UTC(2026, 10, 30, 9, 0, 0, 123), service: 'gateway', msg: 'request completed', req: { method: 'POST', url: '/api/releases' }, res: { statusCode: 201 }, responseTime: 12, correlationId: 'c-1', releaseId: 'r-1' });
    expect(prettyLine(line, false)).toBe('09:00:00.123 INFO  gateway request completed POST /api/releases → 201 12 ms releaseId=r-1');
    expect(prettyLine('not json', false)).toBe('not json');
  });

  it("drops Nest's route mapping at info, and keeps it at debug", () => {
    const logged = (level: string): string[] => {
      const lines: string[] = [];
      const sink = new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(chunk.toString()).msg), done()) });
      const logger = pino({ level, hooks: { logMethod: quietNestStartup } }, sink);
      logger.info({ context: 'RouterExplorer' }, 'Mapped {/api/releases, GET} route');
      logger.info({ context: 'ReleasesController' }, 'release planned');
      logger.warn({ context: 'RouterExplorer' }, 'a warning is never noise');
      return lines;
    };
    expect(logged('info')).toEqual(['release planned', 'a warning is never noise']);
    expect(logged('debug')).toEqual(['Mapped {/api/releases, GET} route', 'release planned', 'a warning is never noise']);
  });
});
