import type { DeploymentEvent } from '../deployment/deployment.js';
import { rollbackWorkflow, type RollbackInput } from './rollbackWorkflow.js';

const ids = { deploymentId: 'dep-1', changeRequestId: 'cr-1', releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', environment: 'production' };
const started: DeploymentEvent = {
  type: 'DeploymentStarted',
  data: { ...ids, strategy: 'canary', steps: [{ index: 0, name: '5%', trafficPercent: 5, durationMinutes: 40, analysis: true }], previousVersion: '2.0.3', startedAt: '2026-12-01T10:00:00.000Z' },
};
const rolledBack: DeploymentEvent = { type: 'DeploymentRolledBack', data: { ...ids, reason: 'x', initiator: 'manual', actor: 'sam', at: '2026-12-01T10:30:00.000Z' } };
const policy = { manualWindowMinutes: 240, beyondWindow: 'incident_review' } as const;
const now = new Date('2026-12-01T10:20:00Z');
const fired = (action: string): RollbackInput => ({
  type: 'RollbackTriggered',
  eventId: 'evt-7',
  data: { changeRequestId: 'cr-1', triggerId: 'error-rate-above-1-percent', action, reason: 'error_rate > 0.01 held for 300 s', evidence: { metric: 'error_rate' } },
  actor: 'monitoring',
  policy,
  now,
});

/** given: the deployment's events; when: a trigger firing or a request; then: the commands decided. */
const given = (events: DeploymentEvent[]) => ({ when: (input: RollbackInput) => rollbackWorkflow.decide(input, events.reduce(rollbackWorkflow.evolve, rollbackWorkflow.initialState())) });

describe('rollback workflow: the one owner of "trigger fired → roll back"', () => {
  it('a rollback trigger becomes one RollBackDeployment whose id derives from the firing event', () => {
    expect(given([started]).when(fired('rollback'))).toEqual([
      {
        kind: 'send', target: 'deployment',
        streamId: 'deployment-cr-1',
        commandId: 'evt-7:RollBackDeployment',
        command: {
          type: 'RollBackDeployment',
          data: { changeRequestId: 'cr-1', reason: 'automatic rollback: error_rate > 0.01 held for 300 s', initiator: 'automatic', actor: 'monitoring', evidence: { triggerId: 'error-rate-above-1-percent', metric: 'error_rate' }, policy, now },
        },
      },
    ]);
  });

  it('an alert trigger, or a deployment already rolled back or never started, asks for nothing', () => {
    expect(given([started]).when(fired('alert'))).toEqual([]);
    expect(given([started, rolledBack]).when(fired('rollback'))).toEqual([]);
    expect(given([]).when(fired('rollback'))).toEqual([]);
  });

  it("a person's request always reaches the deployment's decider under their command id, so its refusal is theirs to see", () => {
    const request: RollbackInput = { type: 'RollbackRequested', commandId: 'rb-1', data: { changeRequestId: 'cr-1', reason: 'latency', initiator: 'manual', actor: 'sre-sam', incidentReviewRef: 'INC-1' }, policy, now };
    expect(given([]).when(request)).toEqual([
      { kind: 'send', target: 'deployment', streamId: 'deployment-cr-1', commandId: 'rb-1', command: { type: 'RollBackDeployment', data: { changeRequestId: 'cr-1', reason: 'latency', initiator: 'manual', actor: 'sre-sam', incidentReviewRef: 'INC-1', policy, now } } },
    ]);
  });

  it('an aborted post-deployment watch (inconclusive analysis) becomes a rollback by the one owner, with who aborted and why', () => {
    const aborted: RollbackInput = { type: 'WatchAborted', eventId: 'evt-9', data: { changeRequestId: 'cr-1', reason: 'no data for 24 h', actor: 'sre-sam', analysis: { phase: 'Inconclusive' } }, policy, now };
    expect(given([started]).when(aborted)).toEqual([
      {
        kind: 'send', target: 'deployment',
        streamId: 'deployment-cr-1',
        commandId: 'evt-9:RollBackDeployment',
        command: { type: 'RollBackDeployment', data: { changeRequestId: 'cr-1', reason: 'post-deployment watch aborted: no data for 24 h', initiator: 'automatic', actor: 'sre-sam', evidence: { analysis: { phase: 'Inconclusive' } }, policy, now } },
      },
    ]);
    expect(given([started, rolledBack]).when(aborted)).toEqual([]);
  });
});
