/**
 * Re-deriving decisions on the recorded Black Friday week: the history Gatehouse wrote is justified
 * throughout; each alteration an attacker holding the store could make — a decision appended or
 * edited around the rules — is flagged at its position.
 */
import { readFileSync } from 'node:fs';
import { type LoggedEvent, rederivationMarkdown, rederiveDecisions, toAuditEvent } from '../index.js';

type Raw = LoggedEvent & { globalPosition: string; data: Record<string, unknown>; metadata: Record<string, unknown> };
const recorded: Raw[] = readFileSync(new URL('./fixtures/black-friday-week.ndjson', import.meta.url), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Raw);
const rederive = (raw: Raw[]) => rederiveDecisions(raw.map(toAuditEvent));
const copy = (): Raw[] => JSON.parse(JSON.stringify(recorded)) as Raw[];
/** The migration release's production change: code review, tech lead, SRE and DBA. */
const migrationChange = recorded.find((e) => e.type === 'ApprovalsRequested' && (e.data['requirements'] as { role: string }[]).some((r) => r.role === 'dba'))!;
const approvalStream = migrationChange.streamId;
const indexOf = (raw: Raw[], predicate: (e: Raw) => boolean) => raw.findIndex(predicate);
const dbaGrant = (raw: Raw[]) => indexOf(raw, (e) => e.streamId === approvalStream && e.type === 'ApprovalGranted' && e.data['role'] === 'dba');

it('finds every decision of the recorded history justified', () => {
  const report = rederive(recorded);
  expect(report.findings).toEqual([]);
  expect(report.ok).toBe(true);
  const count = (type: string) => recorded.filter((e) => e.type === type).length;
  expect(report.checked).toEqual({
    approval_requirements: count('ApprovalsRequested'),
    approval_grant: count('ApprovalGranted'),
    approval_quorum: count('ChangeFullyApproved'),
    booking: count('DeploymentScheduled'),
    start: count('DeploymentDue'),
    rollback_trigger: count('RollbackTriggerFired'),
  });
});

it('flags a full approval appended before the DBA approved (no quorum)', () => {
  const raw = copy();
  const at = dbaGrant(raw);
  const fully = raw.find((e) => e.streamId === approvalStream && e.type === 'ChangeFullyApproved')!;
  raw.splice(at, 0, { ...fully, globalPosition: String(BigInt(raw[at]!.globalPosition) * 1000n), metadata: { ...raw[at - 1]!.metadata } });
  const report = rederive(raw);
  expect(report.ok).toBe(false);
  expect(report.findings[0]).toMatchObject({ decision: 'approval_quorum', position: raw[at]!.globalPosition, reason: expect.stringMatching(/\(code_reviewer rui, tech_lead tess, sre sam\) do not make the quorum: it needs .*1 dba/) });
  // What follows the forgery no longer fits either: the DBA's grant arrives at an approval already closed.
  expect(report.findings.slice(1).map((f) => f.decision)).toEqual(['approval_grant', 'approval_quorum']);
  expect(rederivationMarkdown(report)).toMatch(/3 decision\(s\) NOT justified/);
});

it('flags the author approving their own change, and requirements weaker than the policy', () => {
  const raw = copy();
  const grant = raw[dbaGrant(raw)]!;
  grant.data['approver'] = 'ana';
  const request = raw.find((e) => e.streamId === approvalStream && e.type === 'ApprovalsRequested')!;
  request.data['requirements'] = (request.data['requirements'] as { role: string }[]).filter((r) => r.role !== 'sre');
  const findings = rederive(raw).findings.map((f) => [f.decision, f.position, f.reason]);
  expect(findings).toEqual(
    expect.arrayContaining([
      ['approval_requirements', request.globalPosition, expect.stringMatching(/requested 1 code_reviewer, 1 tech_lead, 1 dba, but policy .* requires 1 code_reviewer, 1 tech_lead, 1 sre, 1 dba/)],
      ['approval_grant', grant.globalPosition, expect.stringMatching(/separation of duties: ana authored the change/)],
    ]),
  );
});

it('flags a production booking moved into the Black Friday blackout', () => {
  const raw = copy();
  const booking = raw.find((e) => e.type === 'DeploymentScheduled' && e.data['environment'] === 'production' && e.data['changeType'] === 'normal')!;
  booking.data['scheduledFor'] = '2026-11-25T10:00:00.000Z';
  const findings = rederive(raw).findings;
  expect(findings[0]).toMatchObject({ decision: 'booking', position: booking.globalPosition, reason: expect.stringContaining('booked for 2026-11-25T10:00:00.000Z, but decideBooking') });
  // Its start then came at the real slot, not the forged one.
  expect(findings.slice(1)).toEqual([expect.objectContaining({ decision: 'start', reason: expect.stringContaining('not at the booked slot 2026-11-25T10:00:00.000Z') })]);
});

it('flags a rollback trigger that fired on samples that never breached', () => {
  const raw = copy();
  const fired = raw.find((e) => e.type === 'RollbackTriggerFired')!;
  for (const e of raw) {
    if (e.type === 'MetricSamplesRecorded' && e.streamId === fired.streamId) for (const s of e.data['samples'] as { value: number }[]) s.value = 0.001;
  }
  expect(rederive(raw).findings).toEqual([expect.objectContaining({ decision: 'rollback_trigger', position: fired.globalPosition })]);
});
