import { EXIT_BAD_INPUT, run, type CliIo } from '../index.js';

async function gatehouse(argv: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env, cwd: process.cwd(), now: () => new Date() };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

// Against a running gateway (settings, refusals with exit 4, evaluation): apps/gatehouse/src/flags.int.spec.ts.
describe('gatehouse flags: input refused before any request', () => {
  it('needs a token', async () => {
    expect(await gatehouse(['flags', 'list'])).toEqual({ code: EXIT_BAD_INPUT, stdout: '', stderr: expect.stringContaining('no token: pass --token or set GATEHOUSE_TOKEN') });
  });

  it('refuses contradictory or incomplete settings, naming the option', async () => {
    const token = { GATEHOUSE_TOKEN: 't', GATEHOUSE_URL: 'http://127.0.0.1:9' };
    expect(await gatehouse(['flags', 'set', 'f', '--environment', 'production', '--on', '--off', '--rollout', 'immediate'], token)).toMatchObject({ code: EXIT_BAD_INPUT, stderr: expect.stringContaining('--on and --off') });
    expect(await gatehouse(['flags', 'set', 'f', '--environment', 'production', '--on'], token)).toMatchObject({ code: EXIT_BAD_INPUT, stderr: expect.stringContaining('give --rollout') });
    expect(await gatehouse(['flags', 'set', 'f', '--environment', 'production', '--on', '--rollout', 'canary'], token)).toMatchObject({ code: EXIT_BAD_INPUT, stderr: expect.stringContaining("--rollout must be one of") });
    expect(await gatehouse(['flags', 'set', 'f', '--environment', 'production', '--on', '--rollout', 'percentage', '--percentage', 'lots'], token)).toMatchObject({ code: EXIT_BAD_INPUT, stderr: expect.stringContaining('--percentage must be a number') });
    expect(await gatehouse(['flags', 'set', 'f', '--on', '--rollout', 'immediate'], token)).toMatchObject({ code: EXIT_BAD_INPUT });
  });
});
