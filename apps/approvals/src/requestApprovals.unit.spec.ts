import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChangeView } from '@gatehouse/contracts';
import { computeRequiredApprovals, UnknownEnvironmentError as DomainUnknownEnvironment } from '@gatehouse/domain';
import { loadPolicySet, type PolicySet } from '@gatehouse/policy';
import { readPolicyDirectory } from '@gatehouse/service-kit';
import { requestApprovalsFor } from './approvals.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/policies');

type ReleaseMigrationView = NonNullable<ChangeView['release']>['migrations'][number];

function change(environment: string, overrides: Partial<Pick<ChangeView, 'kind'>> & { planned?: string; includesMigration?: boolean; migrations?: ReleaseMigrationView[]; changes?: NonNullable<ChangeView['release']>['changes'] } = {}): ChangeView {
  return {
    changeRequestId: 'cr-1',
    status: 'awaiting_approval',
    kind: overrides.kind ?? 'normal',
    draft: {
      title: 't',
      description: 'd',
      type: 'enhancement',
      priority: 'medium',
      impact: 'medium',
      risk: 'medium',
      likelihood: 'medium',
      size: 'medium',
      environments: [environment],
      schedule: { planned: overrides.planned ?? '2026-12-01T10:00:00Z', duration: 60, maintenance: false },
      implementationPlan: 'i',
      rollbackPlan: 'r',
      testingPlan: 't',
      includesMigration: overrides.includesMigration ?? false,
      author: 'alice',
    },
    riskLevel: 'medium',
    approvalId: null,
    window: null,
    release: { releaseId: 'rel-1', service: 'campaign-api', version: '2.1.0', releaseType: 'minor', title: 'Campaign API 2.1.0', description: '', status: 'deployed', revision: 3, approvalId: null, deployments: {}, migrations: overrides.migrations ?? [], changes: overrides.changes ?? [] },
  };
}

describe('requestApprovalsFor', () => {
  let policies: PolicySet;
  beforeAll(async () => {
    policies = loadPolicySet(await readPolicyDirectory(POLICIES));
  });
  const requirements = (view: ChangeView, now = '2026-11-30T09:00:00Z') => {
    const command = requestApprovalsFor(view, policies, new Date(now));
    if (command instanceof Error) throw new Error(`expected RequestApprovals, got ${String(command)}`);
    const { subject, matrix, emergency, kind, includesMigration, emergencyOutsideWindows } = command.data;
    return { subject, emergencyOutsideWindows, roles: computeRequiredApprovals(subject.environment, matrix, emergency, { kind, includesMigration, emergencyOutsideWindows }).map((r) => r.role) };
  };

  it('covers the release revision the change was reviewed against', () => {
    expect(requirements(change('production')).subject).toEqual({ changeRequestId: 'cr-1', releaseId: 'rel-1', environment: 'production', revision: 3 });
  });

  it('adds the dba only where the policy requires migration approval', () => {
    expect(requirements(change('production', { includesMigration: true })).roles).toEqual(['code_reviewer', 'tech_lead', 'sre', 'dba']);
    expect(requirements(change('staging', { includesMigration: true })).roles).toEqual(['code_reviewer', 'tech_lead']);
  });

  it('adds the dba when the release has migrations, whatever the draft said', () => {
    const migration = { migrationId: '0042_add_index', description: 'index on send_at', reversible: false, database: 'campaigns', recordedAt: '2026-11-30T08:00:00.000Z' };
    expect(requirements(change('production', { includesMigration: false, migrations: [migration] })).roles).toEqual(['code_reviewer', 'tech_lead', 'sre', 'dba']);
    expect(requirements(change('production', { includesMigration: false })).roles).toEqual(['code_reviewer', 'tech_lead', 'sre']);
  });

  it('adds the dba when the release lists a migration change, whatever the draft said', () => {
    const changes = [{ kind: 'feature', description: 'time zones' }, { kind: 'migration', description: 'analytics tables' }];
    expect(requirements(change('production', { includesMigration: false, changes })).roles).toEqual(['code_reviewer', 'tech_lead', 'sre', 'dba']);
    expect(requirements(change('production', { includesMigration: false, changes: [changes[0]!] })).roles).toEqual(['code_reviewer', 'tech_lead', 'sre']);
  });

  it('asks for the VP bypass only when the emergency would deploy outside the windows or in a blackout', () => {
    const inWindow = requirements(change('production', { kind: 'emergency', planned: '2026-12-01T10:30:00Z' }));
    expect(inWindow).toMatchObject({ emergencyOutsideWindows: false, roles: ['tech_lead', 'sre'] });
    const blackFriday = requirements(change('production', { kind: 'emergency', planned: '2026-11-24T03:00:00Z' }), '2026-11-24T02:00:00Z');
    expect(blackFriday).toMatchObject({ emergencyOutsideWindows: true, roles: ['tech_lead', 'sre', 'vp_engineering'] });
    // A planned time already past means "now": judged at now, inside Tuesday's window.
    const late = requirements(change('production', { kind: 'emergency', planned: '2026-11-24T03:00:00Z' }), '2026-12-01T10:15:00Z');
    expect(late.emergencyOutsideWindows).toBe(false);
  });

  it('returns the refusal for an environment the policy does not know', () => {
    const refusal = requestApprovalsFor(change('moon'), policies, new Date('2026-11-30T09:00:00Z'));
    // A domain error, so the process manager records the refusal instead of retrying it.
    expect(refusal).toBeInstanceOf(DomainUnknownEnvironment);
    expect(refusal).toMatchObject({ environment: 'moon' });
  });
});
