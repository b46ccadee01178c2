import { Writable } from 'node:stream';
import { pino } from 'pino';
import { quietNestStartup } from './log-format.js';
import { PinoNestLogger } from './logging.js';

function capture(level = 'info'): { lines: Array<Record<string, unknown>>; nest: PinoNestLogger } {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  return { lines, nest: new PinoNestLogger(pino({ level, base: { service: 'probe' }, hooks: { logMethod: quietNestStartup } }, out)) };
}

describe('PinoNestLogger', () => {
  it("writes Nest's messages with their context as pino fields", () => {
    const { lines, nest } = capture();
    nest.log('gateway ready', 'Bootstrap');
    nest.warn({ event: 'slow' }, 'Scheduler');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, service: 'probe', context: 'Bootstrap', msg: 'gateway ready' }),
      expect.objectContaining({ level: 40, context: 'Scheduler', event: 'slow' }),
    ]);
  });

  it('keeps the stack error() is given before the context, and an Error as err', () => {
    const { lines, nest } = capture();
    nest.error('handler failed', 'Error: boom\n    at x', 'ExceptionsHandler');
    nest.error(new Error('kaput'), 'ExceptionsHandler');
    expect(lines[0]).toMatchObject({ level: 50, context: 'ExceptionsHandler', stack: 'Error: boom\n    at x', msg: 'handler failed' });
    expect(lines[1]).toMatchObject({ level: 50, context: 'ExceptionsHandler', msg: 'kaput', err: expect.objectContaining({ message: 'kaput' }) });
  });

  it("leaves Nest's route-mapping chatter out unless the level is debug", () => {
    const quiet = capture('info');
    quiet.nest.log('Mapped {/api, GET} route', 'RouterExplorer');
    expect(quiet.lines).toEqual([]);
    const chatty = capture('debug');
    chatty.nest.log('Mapped {/api, GET} route', 'RouterExplorer');
    expect(chatty.lines).toHaveLength(1);
  });
});
