import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { settableClock } from '@gatehouse/domain';
import { SandboxTarget } from './target.js';

describe('SandboxTarget with a state file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandbox-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('outlives the process that used it: a new instance finds the rollout and the stable version', async () => {
    const stateFile = path.join(dir, 'cluster.json');
    const clock = settableClock('2026-12-01T10:00:00Z');
    const workload = { service: 'campaign-api', environment: 'production' };
    const first = new SandboxTarget({ clock, stateFile, initialVersions: { 'campaign-api/production': '2.1.0' } });
    await first.apply({ ...workload, deploymentId: 'd1', version: '2.2.0', index: 0, name: 'canary 5%', trafficPercent: 5 });

    const restarted = new SandboxTarget({ clock, stateFile });
    expect(await restarted.status(workload)).toMatchObject({ stableVersion: '2.1.0', state: 'progressing', rollout: { deploymentId: 'd1', stepIndex: 0 } });
    await restarted.apply({ ...workload, deploymentId: 'd1', version: '2.2.0', index: 1, name: 'full', trafficPercent: 100 });
    clock.advance(60_000);
    expect(await restarted.status(workload)).toMatchObject({ stableVersion: '2.2.0', state: 'ready' });

    expect(await new SandboxTarget({ clock, stateFile }).status(workload)).toMatchObject({ stableVersion: '2.2.0' });
    expect(SandboxTarget.operationsIn(stateFile).map((op) => (op.kind === 'apply' ? op.step.index : op.kind))).toEqual([0, 1]);
  });

  it('keeps only memory without a state file', async () => {
    const clock = settableClock('2026-12-01T10:00:00Z');
    const target = new SandboxTarget({ clock });
    await target.apply({ service: 's', environment: 'staging', deploymentId: 'd', version: '1.0.0', index: 0, name: 'all', trafficPercent: 100 });
    expect(await new SandboxTarget({ clock }).status({ service: 's', environment: 'staging' })).toEqual({ stableVersion: null, state: 'idle' });
  });

  it('replicas sharing the file see one cluster: what one applies, the other reads before it acts', async () => {
    const stateFile = path.join(dir, 'cluster.json');
    const clock = settableClock('2026-12-01T10:00:00Z');
    const workload = { service: 'campaign-api', environment: 'production' };
    const [a, b] = [0, 1].map(() => new SandboxTarget({ clock, stateFile, initialVersions: { 'campaign-api/production': '2.1.0' } }));
    await a!.apply({ ...workload, deploymentId: 'd1', version: '2.2.0', index: 0, name: 'canary 5%', trafficPercent: 5 });
    expect((await b!.status(workload)).rollout).toMatchObject({ deploymentId: 'd1', stepIndex: 0 });
    await b!.rollback({ ...workload, deploymentId: 'd1', version: '2.1.0' });
    expect(await a!.status(workload)).toEqual({ stableVersion: '2.1.0', state: 'idle' });
  });
});
