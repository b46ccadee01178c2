import { EXIT_BAD_INPUT, run, type CliIo } from '../index.js';

async function gatehouse(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: process.cwd(), now: () => new Date() };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

// Talking to a running gateway (and its refusals, exit 4) is proven end to end in test/e2e/src/dead-letters.e2e.spec.ts.
describe('gatehouse dlq: input refused before any request', () => {
  it('needs a token', async () => {
    expect(await gatehouse(['dlq', 'list'])).toEqual({ code: EXIT_BAD_INPUT, stdout: '', stderr: expect.stringContaining('no token: pass --token or set GATEHOUSE_TOKEN') });
  });

  it('needs a dead letter id that is a positive whole number', async () => {
    const reply = await gatehouse(['dlq', 'redrive', '../1'], { GATEHOUSE_TOKEN: 't' });
    expect(reply).toEqual({ code: EXIT_BAD_INPUT, stdout: '', stderr: expect.stringContaining("dead letter id '../1' must be a positive whole number") });
  });
});
