import { Command } from 'commander';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_OK, type CliIo } from '../io.js';
import type { ExitCode } from '../program.js';
import { entryFor, registerServeCommand, SERVABLE } from './serve.js';

const appsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function harness(code = 0, built = true) {
  const launched: { entry: string; env: Readonly<Record<string, string | undefined>> }[] = [];
  const io: CliIo = { stdout: () => {}, stderr: () => {}, env: { DATABASE_URL: 'postgres://pg/x', NATS_URL: 'nats://n:4222' }, cwd: '/', now: () => new Date(0) };
  const exit: ExitCode = { value: EXIT_OK };
  const program = new Command('gatehouse').exitOverride();
  const launch = async (entry: string, env: Readonly<Record<string, string | undefined>>) => {
    launched.push({ entry, env });
    return code;
  };
  registerServeCommand(program, io, exit, { launch, exists: () => built });
  return { launched, exit, run: (args: string[]) => program.parseAsync(args, { from: 'user' }) };
}

describe('gatehouse serve', () => {
  it('resolves each service to apps/<service>/dist/main.js, from sources and from the build alike', () => {
    expect(entryFor('approvals')).toBe(path.join(appsDir, 'approvals/dist/main.js'));
    expect(entryFor('relay', path.join(appsDir, 'cli/dist/commands'))).toBe(path.join(appsDir, 'relay/dist/main.js'));
    expect(SERVABLE).toEqual(['gateway', 'change-requests', 'approvals', 'scheduling', 'deployments', 'monitoring', 'projections', 'relay']);
  });

  it('refuses an unknown service without starting anything', async () => {
    const { launched, run } = harness();
    await expect(run(['serve', 'billing'])).rejects.toThrow(/unknown service 'billing'/);
    expect(launched).toEqual([]);
  });

  it('spawns a built entry with the environment and exits with its code', async () => {
    const { launched, exit, run } = harness(2);
    await run(['serve', 'scheduling']);
    expect(launched).toEqual([{ entry: entryFor('scheduling'), env: expect.objectContaining({ NATS_URL: 'nats://n:4222' }) }]);
    expect(exit.value).toBe(2);
  });

  it('asks for a build when the entry does not exist', async () => {
    const { launched, run } = harness(0, false);
    await expect(run(['serve', 'relay'])).rejects.toThrow(/build first/);
    expect(launched).toEqual([]);
  });
});
