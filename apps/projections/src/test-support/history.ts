/**
 * A small, realistic history for read-model tests: per change a release, the change request's and its
 * approval's events (made by the domain deciders themselves), and, for some, a booking and a deployment.
 */
import { approvalDecider, changeRequestDecider, type ApprovalEvent, type ChangeRequestEvent } from '@gatehouse/domain';
import type { AuditableEventStore } from '@gatehouse/eventstore';
import { visibleHead } from '@gatehouse/testing';

const NOW = new Date('2026-11-24T09:00:00Z');
const rules = { production: { runbookRequired: true, standardChangesPreApproved: true, standardChangeTemplates: [], exposure: 'production' as const } };

export interface ChangeHistoryPart {
  streamId: string;
  events: Array<{ type: string; data: unknown }>;
  actor: string;
}

/** The streams of change `n`, in the order they are appended; `deploy` adds a booking and a finished deployment. */
export function changeHistory(n: number, { approve = n % 2 === 0, deploy = n % 3 === 0 } = {}): ChangeHistoryPart[] {
  const cr = `cr-${n}`;
  const releaseId = `rel-${n}`;
  const service = `svc-${n % 4}`;
  const version = `1.${n}.0`;
  const draft = {
    title: `${service} ${version} to production`,
    description: 'test change',
    type: 'enhancement',
    priority: 'medium',
    impact: 'medium',
    risk: 'medium',
    environments: ['production'],
    schedule: { planned: '2026-12-01T10:00:00Z', duration: 120, maintenance: false },
    implementationPlan: 'canary',
    rollbackPlan: 'shift traffic back',
    testingPlan: 'E2E in staging',
    runbookRef: 'RB-7',
    releaseId,
    author: 'alice',
  };
  const changeEvents: ChangeRequestEvent[] = [];
  let change = changeRequestDecider.initialState();
  const decideChange = (command: Parameters<typeof changeRequestDecider.decide>[0]) => {
    const events = changeRequestDecider.decide(command, change);
    change = events.reduce(changeRequestDecider.evolve, change);
    changeEvents.push(...events);
  };
  decideChange({ type: 'SubmitChangeRequest', data: { changeRequestId: cr, kind: 'normal', draft, environmentRules: rules, outsideWindows: false, now: NOW } });
  decideChange({ type: 'StartChangeReview', data: { changeRequestId: cr, reviewer: 'bob', now: NOW } });
  decideChange({ type: 'CompleteChangeReview', data: { changeRequestId: cr, reviewer: 'bob', notes: 'ok', now: NOW } });

  const approvalEvents: ApprovalEvent[] = [];
  let approval = approvalDecider.initialState();
  const decideApproval = (command: Parameters<typeof approvalDecider.decide>[0]) => {
    const events = approvalDecider.decide(command, approval);
    approval = events.reduce(approvalDecider.evolve, approval);
    approvalEvents.push(...events);
  };
  decideApproval({
    type: 'RequestApprovals',
    data: {
      approvalId: cr,
      subject: { changeRequestId: cr, releaseId, environment: 'production', revision: 1 },
      author: 'alice',
      kind: 'normal',
      includesMigration: false,
      emergencyOutsideWindows: false,
      matrix: { required: [{ role: 'code_reviewer', count: 1, onCall: false }, { role: 'sre', count: 1, onCall: false }], separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true }, standardChangesPreApproved: true, standardChangeTemplates: [] },
      emergency: { allowed: false, approvals: [], enhancedMonitoring: false, branchFromProductionTag: false },
      policyVersion: 'sha256:test',
      now: NOW,
    },
  });
  decideApproval({ type: 'GrantApproval', data: { approvalId: cr, approver: 'carol', approverRoles: ['code_reviewer'], approverOnCall: false, role: 'code_reviewer', now: NOW } });
  if (approve) decideApproval({ type: 'GrantApproval', data: { approvalId: cr, approver: 'sam', approverRoles: ['sre'], approverOnCall: false, role: 'sre', now: NOW } });

  const parts: ChangeHistoryPart[] = [
    { streamId: `release-${releaseId}`, events: [{ type: 'ReleasePlanned', data: { releaseId, service, version, previousVersion: null } }], actor: 'alice' },
    { streamId: `changeRequest-${cr}`, events: changeEvents, actor: 'alice' },
    { streamId: `approval-${cr}`, events: approvalEvents, actor: 'carol' },
  ];
  if (deploy) {
    const ids = { deploymentId: `dep-${cr}`, changeRequestId: cr, releaseId, service, version, environment: 'production' };
    const scheduledFor = `2026-12-01T${String(10 + (n % 8)).padStart(2, '0')}:00:00.000Z`;
    parts.push({ streamId: `schedule-${cr}`, events: [{ type: 'DeploymentScheduled', data: { ...ids, changeType: 'normal', strategy: 'rolling', scheduledFor, windowId: null, policyVersion: 'sha256:test' } }], actor: 'scheduling' });
    parts.push({
      streamId: `deployment-${cr}`,
      events: [
        { type: 'DeploymentStarted', data: { ...ids, strategy: 'rolling', steps: [{ index: 0, name: 'all', trafficPercent: 100 }], startedAt: scheduledFor } },
        { type: 'DeploymentStepStarted', data: { deploymentId: ids.deploymentId, changeRequestId: cr, index: 0, name: 'all', trafficPercent: 100, at: scheduledFor } },
        ...(n % 2 === 0 ? [{ type: 'DeploymentSucceeded', data: { ...ids, completedAt: scheduledFor } }] : []),
      ],
      actor: 'deployments',
    });
  }
  return parts;
}

/** Appends changes [from, to) to the store; returns how many events were appended. */
export async function appendChanges(store: AuditableEventStore, from: number, to: number): Promise<number> {
  let appended = 0;
  for (let n = from; n < to; n += 1) {
    for (const part of changeHistory(n)) {
      await store.appendToStream(part.streamId, part.events.map((e) => ({ type: e.type, data: e.data, metadata: { actor: part.actor } })));
      appended += part.events.length;
    }
  }
  // Once log readers see them: another suite's open transaction on the server can hold them back a moment.
  await visibleHead(store);
  return appended;
}
