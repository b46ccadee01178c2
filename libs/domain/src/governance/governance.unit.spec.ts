import path from 'node:path';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadPolicySet, type PolicySet } from '@gatehouse/policy';
import { EmergencyPathNotAllowedError } from '../approvals/requiredApprovals.js';
import { PromotionPrerequisiteError } from '../release/release.js';
import { carriesMigration, migrationSources } from './migration.js';
import { decideSubmission, ReleaseRequiredError, type SubmissionFacts } from './submission.js';

const POLICIES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../deploy/policies');
const policies: PolicySet = loadPolicySet(readdirSync(POLICIES).filter((f) => f.endsWith('.yaml')).map((name) => ({ name, contents: readFileSync(path.join(POLICIES, name), 'utf8') })));

describe('migration sources: any one makes the migration approval required', () => {
  it('given no flag, no migration change and nothing reported, then no migration', () => {
    expect(carriesMigration({ changeFlag: false, releaseChanges: [{ kind: 'feature', description: 'time zones' }], recordedMigrations: [] })).toBe(false);
  });

  it('given a migration change listed in the release, then a migration, whatever the change says', () => {
    expect(migrationSources({ changeFlag: false, releaseChanges: [{ kind: 'migration', description: 'analytics tables' }], recordedMigrations: [] })).toEqual([
      'the release lists a migration change: analytics tables',
    ]);
  });

  it('given the flag and a migration CI reported, then both sources are named', () => {
    expect(migrationSources({ changeFlag: true, releaseChanges: [], recordedMigrations: [{ migrationId: '0042_add_index' }] })).toEqual([
      'the change request sets includesMigration',
      'CI reported migration 0042_add_index for the release',
    ]);
  });
});

describe('submission decision', () => {
  const stagedRelease = { releaseType: 'minor' as const, version: '2.2.0', deployments: { staging: { status: 'succeeded' } } };
  const facts = (environment: string, overrides: Partial<SubmissionFacts> = {}): SubmissionFacts => ({ environment, policy: policies.environments[environment], kind: 'normal', release: stagedRelease, ...overrides });

  it('given a production change naming no release, then refused with the rule named', () => {
    const decision = decideSubmission(facts('production', { release: null }));
    expect(decision.allowed).toBe(false);
    expect(decision.refusal).toBeInstanceOf(ReleaseRequiredError);
    expect(decision.refusal?.message).toMatch(/^production\/progression\/release-required: a change to production must name its release/);
    expect(decision.reasons).toEqual([expect.objectContaining({ ruleId: 'production/progression/release-required', kind: 'deny' })]);
  });

  it('given an emergency production change naming no release, then refused too (the hotfix lane needs its hotfix release)', () => {
    expect(decideSubmission(facts('production', { kind: 'emergency', release: null })).refusal).toBeInstanceOf(ReleaseRequiredError);
  });

  it('given a development change naming no release, then allowed (development promotes from nothing)', () => {
    expect(decideSubmission(facts('development', { release: null }))).toEqual({ allowed: true, reasons: [] });
  });

  it('given a release that never reached staging, then production refuses it by progression', () => {
    const decision = decideSubmission(facts('production', { release: { ...stagedRelease, deployments: {} } }));
    expect(decision.refusal).toBeInstanceOf(PromotionPrerequisiteError);
    expect(decision.reasons[0]).toMatchObject({ ruleId: 'production/progression/staging', kind: 'deny' });
  });

  it('given a release that succeeded in staging, then production allows it with the reason', () => {
    expect(decideSubmission(facts('production'))).toEqual({ allowed: true, reasons: [{ ruleId: 'production/progression/staging', kind: 'allow', message: '2.2.0 deployed successfully to staging' }] });
  });

  it('given an emergency where the policy has no emergency path, then refused by the emergency rule', () => {
    const policy = { ...policies.environments['production']!, emergency: { ...policies.environments['production']!.emergency, allowed: false } };
    expect(decideSubmission(facts('production', { policy, kind: 'emergency' })).refusal).toBeInstanceOf(EmergencyPathNotAllowedError);
  });
});
