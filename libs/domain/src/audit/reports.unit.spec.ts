/**
 * The auditors' reports on a pinned history: Black Friday week as scenarios 1–4 made it
 * (fixtures/black-friday-week.ndjson, recorded by test/e2e/src/record-audit-history.ts):
 * checkout-api 3.4.0 to production on 17–19 Nov; on Black Friday an emergency hotfix 3.4.1 with
 * VP approval whose canary was aborted (inconclusive analysis, no decision) and whose review went
 * overdue; campaign-api 2.2.0 through to a production canary on 1 Dec; 2.2.1 rolled back on its
 * own on 3 Dec. Expected figures are worked out from the events in the test, not copied from output.
 */
import { readFileSync } from 'node:fs';
import { type AuditEvent, complianceCsv, complianceMarkdown, complianceReport, doraMetrics, environmentStateAsOf, toAuditEvent } from '../index.js';

const raw = readFileSync(new URL('./fixtures/black-friday-week.ndjson', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { type: string; streamId: string; globalPosition: string; recordedAt: string; data: Record<string, unknown>; metadata: Record<string, unknown> });
const events: AuditEvent[] = raw.map(toAuditEvent);
const WEEKS = { from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-12-07T00:00:00Z') };
const ms = (iso: unknown) => Date.parse(iso as string);
const of = (type: string) => raw.filter((e) => e.type === type);
const production = of('ChangeRequestSubmitted').filter((e) => (e.data['draft'] as { environments: string[] }).environments.includes('production'));
const hotfixChange = production.find((e) => e.data['kind'] === 'emergency')!;
const rolledBack = of('DeploymentRolledBack')[0]!;

describe('compliance report', () => {
  const report = complianceReport(events, WEEKS);

  it('lists every production change with who approved it as what, and separation of duties held', () => {
    expect(report.productionChanges.map((c) => c.changeRequestId)).toEqual(production.map((e) => e.data['changeRequestId']));
    for (const line of report.productionChanges) {
      const grants = of('ApprovalGranted').filter((e) => e.streamId === `approval-${line.changeRequestId}`);
      expect(line.approvals.map((a) => [a.role, a.approver, a.position])).toEqual(grants.map((g) => [g.data['role'], g.data['approver'], g.globalPosition]));
      expect(line.approvals.map((a) => a.approver)).not.toContain(line.author);
      expect(line.separationOfDuties).toEqual({ held: true, violations: [] });
    }
    expect(report.summary).toMatchObject({ productionChanges: 4, separationOfDutiesViolations: 0, policyChanges: 1 });
    const closed = new Set(of('ChangeClosed').map((e) => e.data['changeRequestId']));
    expect(report.productionChanges.map((c) => [c.changeRequestId, c.status])).toEqual(production.map((e) => [e.data['changeRequestId'], closed.has(e.data['changeRequestId']) ? 'closed' : expect.any(String)]));
  });

  it('shows the emergency change with its VP approval and its overdue post-incident review', () => {
    const vp = of('ApprovalGranted').find((e) => e.streamId === `approval-${hotfixChange.data['changeRequestId']}` && e.data['role'] === 'vp_engineering')!;
    const due = of('PostIncidentReviewDue')[0]!;
    expect(report.emergencyChanges).toEqual([
      expect.objectContaining({
        changeRequestId: hotfixChange.data['changeRequestId'],
        incidentId: 'INC-7001',
        windowBypass: true,
        vpApproval: { approver: vp.data['approver'], grantedAt: vp.metadata['occurredAt'], position: vp.globalPosition },
        postIncidentReview: expect.objectContaining({ status: 'overdue', dueAt: due.data['dueAt'], completedAt: null }),
      }),
    ]);
  });

  it('lists rollbacks with their evidence and the aborted canary with the version it restored', () => {
    expect(report.rollbacks.map((r) => [r.ending, r.changeRequestId, r.version, r.restoredVersion])).toEqual([
      ['aborted', hotfixChange.data['changeRequestId'], '3.4.1', '3.4.0'],
      ['rolled_back', rolledBack.data['changeRequestId'], rolledBack.data['version'], rolledBack.data['previousVersion']],
    ]);
    expect(report.rollbacks[1]!.evidence).toEqual(rolledBack.data['evidence']);
    expect(report.rollbacks[1]).toMatchObject({ initiator: 'automatic', position: rolledBack.globalPosition });
  });

  it('names who changed the policy', () => {
    const activation = of('PolicyVersionActivated')[0]!;
    expect(report.policyChanges).toEqual([expect.objectContaining({ policyVersion: activation.data['policyVersion'], actor: activation.metadata['actor'], previousVersion: null })]);
  });

  it('only reports the period asked for: the week before Black Friday has only checkout-api 3.4.0', () => {
    const early = complianceReport(events, { from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-11-23T00:00:00Z') });
    expect(early.productionChanges.map((c) => c.version)).toEqual(['3.4.0']);
    expect(early.emergencyChanges).toEqual([]);
    expect(early.rollbacks).toEqual([]);
  });

  it('flags an approval by the author that got into the log around the rules', () => {
    const target = production[0]!;
    const id = target.data['changeRequestId'] as string;
    const forged = toAuditEvent({
      type: 'ApprovalGranted',
      streamId: `approval-${id}`,
      globalPosition: '100000',
      recordedAt: '2026-11-19T12:00:00Z',
      data: { approvalId: id, role: 'sre', approver: 'ana', onCall: true, comment: null, grantedAt: '2026-11-17T16:00:00Z' },
      metadata: { actor: 'ana', occurredAt: '2026-11-17T16:00:00Z' },
    });
    const position = events.findIndex((e) => e.globalPosition > 79n);
    const tampered = [...events.slice(0, position), forged, ...events.slice(position)];
    const line = complianceReport(tampered, WEEKS).productionChanges.find((c) => c.changeRequestId === id)!;
    expect(line.separationOfDuties.held).toBe(false);
    expect(line.separationOfDuties.violations).toEqual([expect.stringMatching(/ana approved as sre but authored/)]);
  });

  it('renders CSV (RFC 4180 quoting) and Markdown from the same report', () => {
    const csv = complianceCsv(report);
    const rows = csv.trimEnd().split('\r\n');
    expect(rows[0]).toMatch(/^section,id,at,/);
    expect(rows.filter((r) => r.startsWith('production_change,'))).toHaveLength(4);
    expect(rows.some((r) => r.startsWith('rollback,') && r.includes('"{""metric"":""error_rate""'))).toBe(true);
    const markdown = complianceMarkdown(report);
    expect(markdown).toContain('separation of duties held for every one');
    expect(markdown).toContain('INC-7001 (critical)');
  });
});

describe('DORA metrics', () => {
  const dora = doraMetrics(events, WEEKS);
  const line = (service: string, environment: string) => dora.lines.find((l) => l.service === service && l.environment === environment)!;

  it('counts deployments and lead time from the release being planned to production success', () => {
    const succeeded = of('DeploymentSucceeded').filter((e) => e.data['service'] === 'campaign-api' && e.data['environment'] === 'production');
    const planned = of('ReleasePlanned').find((e) => e.data['releaseId'] === succeeded[0]!.data['releaseId'])!;
    const campaign = line('campaign-api', 'production');
    expect(campaign.deployments).toBe(succeeded.length);
    expect(campaign.deploymentsPerDay).toBeCloseTo(succeeded.length / 21);
    expect(campaign.leadTime.medianSeconds).toBe((ms(succeeded[0]!.metadata['occurredAt']) - ms(planned.metadata['occurredAt'])) / 1000);
  });

  it('counts a deployment rolled back during its watch as a failed change, restored from the start of the breach', () => {
    const campaign = line('campaign-api', 'production');
    expect([campaign.failedDeployments, campaign.finishedDeployments, campaign.changeFailureRate]).toEqual([1, 2, 0.5]);
    const evidence = rolledBack.data['evidence'] as { windowStart: string };
    expect(campaign.timeToRestore).toMatchObject({ count: 1, medianSeconds: (ms(rolledBack.metadata['occurredAt']) - ms(evidence.windowStart)) / 1000 });
  });

  it('measures approval latency and the emergency freeze bypass in production', () => {
    const checkout = line('checkout-api', 'production');
    expect([checkout.freezeBypasses, checkout.deploymentsStarted, checkout.freezeBypassRate]).toEqual([1, 2, 0.5]);
    const requested = of('ApprovalsRequested').filter((e) => (e.data['subject'] as { environment: string }).environment === 'production' && e.data['author'] !== undefined);
    const latencies = requested
      .filter((r) => raw.find((e) => e.type === 'DeploymentStarted' && e.data['changeRequestId'] === (r.data['subject'] as { changeRequestId: string }).changeRequestId)?.data['service'] === 'checkout-api')
      .map((r) => ms(of('ChangeFullyApproved').find((f) => f.streamId === r.streamId)!.metadata['occurredAt']) - ms(r.metadata['occurredAt']));
    expect(checkout.approvalLatency.count).toBe(latencies.length);
    expect(checkout.approvalLatency.meanSeconds).toBe(latencies.reduce((a, b) => a + b, 0) / latencies.length / 1000);
  });
});

describe('time travel', () => {
  it('production at 2026-11-27T16:00Z: 3.4.0 running, the hotfix waiting for the VP, under the one policy', () => {
    const state = environmentStateAsOf(events, { at: new Date('2026-11-27T16:00:00Z') }, 'production');
    expect(state.running).toEqual([expect.objectContaining({ service: 'checkout-api', version: '3.4.0' })]);
    expect(state.awaitingApproval).toEqual([expect.objectContaining({ changeRequestId: hotfixChange.data['changeRequestId'], missing: [{ role: 'vp_engineering', missing: 1 }] })]);
    expect(state.policy?.policyVersion).toBe(of('PolicyVersionActivated')[0]!.data['policyVersion']);
  });

  it('production at 2026-12-01T10:05Z: campaign-api 2.2.0 deploying; after the rollback 2.2.0 runs again', () => {
    const during = environmentStateAsOf(events, { at: new Date('2026-12-01T10:05:00Z') }, 'production');
    expect(during.deploying.map((d) => [d.service, d.version])).toEqual([['campaign-api', '2.2.0']]);
    const after = environmentStateAsOf(events, { at: new Date('2026-12-04T00:00:00Z') }, 'production');
    expect(after.running.map((r) => [r.service, r.version])).toEqual([['campaign-api', '2.2.0'], ['checkout-api', '3.4.0']]);
  });

  it('as of a position, only the events up to it count: just before the rollback, 2.2.1 is still in its canary', () => {
    const state = environmentStateAsOf(events, { position: BigInt(rolledBack.globalPosition) - 1n }, 'production');
    expect(state.deploying.map((d) => [d.service, d.version])).toEqual([['campaign-api', '2.2.1']]);
    expect(environmentStateAsOf(events, { position: BigInt(rolledBack.globalPosition) }, 'production').deploying).toEqual([]);
    expect(state.basis.lastPosition).toBe((BigInt(rolledBack.globalPosition) - 1n).toString());
  });
});
