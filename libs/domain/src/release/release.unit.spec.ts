import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, InvalidVersionError, NotFoundError, ValidationError } from '../errors.js';
import {
  HotfixLaneNotAllowedError,
  MigrationAfterDeploymentError,
  MigrationConflictError,
  PromotionPrerequisiteError,
  releaseDecider,
  ReleaseTypeMismatchError,
  StaleApprovalError,
  UnknownDeploymentError,
  VersionNotIncreasingError,
  type ReleaseEvent,
  type ReleasePlanned,
} from './release.js';

const spec = DeciderSpecification.for(releaseDecider);
// Tuesday 2026-12-01, the first production window after Black Friday week.
const TUESDAY_WINDOW = new Date('2026-12-01T10:00:00Z');

const content = {
  service: 'campaign-api',
  version: '2.1.0',
  type: 'minor',
  title: 'Campaign scheduling',
  description: 'Time-zone aware scheduling',
  changes: [
    { kind: 'feature', description: 'Advanced campaign scheduling with time zones' },
    { kind: 'migration', description: 'Database migration required for analytics tables' },
  ],
};

const planned: ReleasePlanned = {
  type: 'ReleasePlanned',
  data: {
    releaseId: 'rel-1',
    service: 'campaign-api',
    version: '2.1.0',
    releaseType: 'minor',
    title: 'Campaign scheduling',
    description: 'Time-zone aware scheduling',
    changes: [
      { kind: 'feature', description: 'Advanced campaign scheduling with time zones' },
      { kind: 'migration', description: 'Database migration required for analytics tables' },
    ],
    previousVersion: '2.0.3',
    plannedBy: 'alice',
    plannedAt: '2026-11-23T09:00:00.000Z',
  },
};
const approved: ReleaseEvent = { type: 'ReleaseApproved', data: { releaseId: 'rel-1', approvalId: 'apr-1', revision: 1, approvedAt: '2026-11-24T09:00:00.000Z' } };
const stagingStarted: ReleaseEvent = {
  type: 'ReleaseDeploymentStarted',
  data: {
    releaseId: 'rel-1',
    deploymentId: 'dep-stg',
    service: 'campaign-api',
    version: '2.1.0',
    environment: 'staging',
    lane: 'normal',
    promotion: { from: 'development', basis: 'deployed' },
    startedBy: 'ci',
    startedAt: '2026-11-24T14:00:00.000Z',
  },
};
const stagingSucceeded: ReleaseEvent = {
  type: 'ReleaseDeploymentSucceeded',
  data: { releaseId: 'rel-1', deploymentId: 'dep-stg', environment: 'staging', version: '2.1.0', completedAt: '2026-11-24T14:20:00.000Z' },
};
const prodStarted: ReleaseEvent = {
  type: 'ReleaseDeploymentStarted',
  data: {
    releaseId: 'rel-1',
    deploymentId: 'dep-prod',
    service: 'campaign-api',
    version: '2.1.0',
    environment: 'production',
    lane: 'normal',
    promotion: { from: 'staging', basis: 'deployed' },
    startedBy: 'sre-sam',
    startedAt: '2026-12-01T10:00:00.000Z',
  },
};
const prodSucceeded: ReleaseEvent = {
  type: 'ReleaseDeploymentSucceeded',
  data: { releaseId: 'rel-1', deploymentId: 'dep-prod', environment: 'production', version: '2.1.0', completedAt: '2026-12-01T10:30:00.000Z' },
};

const plan = (overrides: Record<string, unknown> = {}, previousVersion: string | undefined = '2.0.3') =>
  ({
    type: 'PlanRelease',
    data: { releaseId: 'rel-1', content: { ...content, ...overrides }, previousVersion, plannedBy: 'alice', now: new Date('2026-11-23T09:00:00Z') },
  }) as const;

describe('Release: planning', () => {
  it('plans a release with validated content', () => {
    spec.given([]).when(plan()).then([planned]);
  });

  it('normalises a version with a leading "v" to plain semver', () => {
    spec
      .given([])
      .when(plan({ version: 'v2.1.0' }))
      .thenEvents(([e]) => expect(e?.type === 'ReleasePlanned' && e.data.version).toBe('2.1.0'));
  });

  it.each(['2.1', 'two', '2.1.0.4', ''])('refuses the invalid semver "%s"', (version) => {
    if (version === '') {
      spec.given([]).when(plan({ version })).thenThrows(ValidationError, (e) => e.issues.some((i) => i.field === 'version'));
    } else {
      spec.given([]).when(plan({ version })).thenThrows(InvalidVersionError, (e) => e.version === version);
    }
  });

  it('refuses an unknown release type and an unknown change kind, naming each field', () => {
    spec
      .given([])
      .when(plan({ type: 'mega', changes: [{ kind: 'refactor', description: 'x' }] }))
      .thenThrows(ValidationError, (e) => e.issues.map((i) => i.field).sort().join() === 'changes.0.kind,type');
  });

  it('refuses a payload without service and title', () => {
    spec
      .given([])
      .when({ type: 'PlanRelease', data: { releaseId: 'rel-1', content: { version: '1.0.0', type: 'major' }, plannedBy: 'alice', now: TUESDAY_WINDOW } })
      .thenThrows(ValidationError, (e) => ['service', 'title'].every((f) => e.issues.some((i) => i.field === f)));
  });

  it('refuses a type that contradicts the version bump', () => {
    spec
      .given([])
      .when(plan({ type: 'patch' }))
      .thenThrows(ReleaseTypeMismatchError, (e) => e.bump === 'minor' && e.releaseType === 'patch');
  });

  it('accepts a hotfix as a patch bump, but not as a major bump', () => {
    spec.given([]).when(plan({ version: '2.0.4', type: 'hotfix' })).thenEvents((events) => expect(events).toHaveLength(1));
    spec.given([]).when(plan({ version: '3.0.0', type: 'hotfix' })).thenThrows(ReleaseTypeMismatchError, (e) => e.bump === 'major');
  });

  it('refuses a version that does not increase', () => {
    spec.given([]).when(plan({ version: '2.0.3', type: 'patch' })).thenThrows(VersionNotIncreasingError, (e) => e.previousVersion === '2.0.3');
  });

  it('refuses planning the same release twice', () => {
    spec.given([planned]).when(plan()).thenThrows(Error, (e) => e.name === 'AlreadyExistsError');
  });
});

describe('Release: status transitions', () => {
  it('approves the current revision', () => {
    spec
      .given([planned])
      .when({ type: 'ApproveRelease', data: { releaseId: 'rel-1', approvalId: 'apr-1', revision: 1, now: new Date('2026-11-24T09:00:00Z') } })
      .then([approved]);
  });

  it('refuses an approval of a superseded revision', () => {
    spec
      .given([planned, { type: 'ReleaseRevised', data: { ...planned.data, revision: 2, revisedBy: 'alice', revisedAt: '2026-11-23T10:00:00.000Z' } }])
      .when({ type: 'ApproveRelease', data: { releaseId: 'rel-1', approvalId: 'apr-1', revision: 1, now: TUESDAY_WINDOW } })
      .thenThrows(StaleApprovalError, (e) => e.approvedRevision === 1 && e.currentRevision === 2);
  });

  it('refuses deploying a release that was never approved', () => {
    spec
      .given([planned])
      .when({ type: 'StartReleaseDeployment', data: { releaseId: 'rel-1', deploymentId: 'd', environment: 'development', promotesFrom: undefined, lane: 'normal', startedBy: 'ci', now: TUESDAY_WINDOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'planned' && e.allowedFrom.join() === 'approved,deployed');
  });

  it('refuses commands on a release that does not exist', () => {
    spec
      .given([])
      .when({ type: 'ApproveRelease', data: { releaseId: 'rel-9', approvalId: 'a', revision: 1, now: TUESDAY_WINDOW } })
      .thenThrows(NotFoundError, (e) => e.id === 'rel-9');
  });

  it('completes only the active deployment', () => {
    spec
      .given([planned, approved, stagingStarted])
      .when({ type: 'CompleteReleaseDeployment', data: { releaseId: 'rel-1', deploymentId: 'dep-other', now: TUESDAY_WINDOW } })
      .thenThrows(UnknownDeploymentError, (e) => e.activeDeploymentId === 'dep-stg');
  });

  it('records a failed deployment and then refuses further deployments (failed is terminal)', () => {
    const failed: ReleaseEvent = { type: 'ReleaseDeploymentFailed', data: { releaseId: 'rel-1', deploymentId: 'dep-stg', environment: 'staging', reason: 'crash loop', failedAt: '2026-11-24T14:10:00.000Z' } };
    spec
      .given([planned, approved, stagingStarted])
      .when({ type: 'FailReleaseDeployment', data: { releaseId: 'rel-1', deploymentId: 'dep-stg', reason: 'crash loop', now: new Date('2026-11-24T14:10:00Z') } })
      .then([failed]);
    spec
      .given([planned, approved, stagingStarted, failed])
      .when({ type: 'StartReleaseDeployment', data: { releaseId: 'rel-1', deploymentId: 'd2', environment: 'staging', promotesFrom: 'development', lane: 'normal', startedBy: 'ci', now: TUESDAY_WINDOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'failed');
  });
});

describe('Release: environment progression', () => {
  const deployTo = (environment: string, promotesFrom: string | undefined, extra: Record<string, unknown> = {}) =>
    ({
      type: 'StartReleaseDeployment',
      data: { releaseId: 'rel-1', deploymentId: 'dep-prod', environment, promotesFrom, lane: 'normal', startedBy: 'sre-sam', now: TUESDAY_WINDOW, ...extra },
    }) as const;

  it('promotes to production after a successful staging deployment of the same version', () => {
    spec.given([planned, approved, stagingStarted, stagingSucceeded]).when(deployTo('production', 'staging')).then([prodStarted]);
  });

  it('refuses production when the version never reached staging', () => {
    spec
      .given([planned, approved])
      .when(deployTo('production', 'staging'))
      .thenThrows(PromotionPrerequisiteError, (e) => e.requires === 'staging' && e.found === 'none' && e.version === '2.1.0');
  });

  it('deploys to an environment without promotesFrom (development) directly', () => {
    spec
      .given([planned, approved])
      .when(deployTo('development', undefined))
      .thenEvents(([e]) => expect(e?.type === 'ReleaseDeploymentStarted' && e.data.promotion).toBeNull());
  });

  describe('hotfix lane', () => {
    const hotfixPlanned: ReleaseEvent = { ...planned, data: { ...planned.data, version: '2.0.4', releaseType: 'hotfix' } };
    const hotfixStaging: ReleaseEvent[] = [
      { ...stagingStarted, data: { ...(stagingStarted.data as object), version: '2.0.4', lane: 'hotfix', promotion: null } } as ReleaseEvent,
      { ...stagingSucceeded, data: { ...(stagingSucceeded.data as object), version: '2.0.4' } } as ReleaseEvent,
    ];
    const at = new Date('2026-11-26T03:40:00Z'); // Black Friday week: emergency path only

    it('goes to production once staging validation hit its 30 min cap', () => {
      spec
        .given([hotfixPlanned, approved, ...hotfixStaging])
        .when(deployTo('production', 'staging', { lane: 'hotfix', now: at, hotfixValidation: { outcome: 'time_capped', startedAt: '2026-11-26T03:05:00.000Z', concludedAt: '2026-11-26T03:35:00.000Z' } }))
        .thenEvents(([e]) => expect(e?.type === 'ReleaseDeploymentStarted' && e.data.promotion).toEqual({ from: 'staging', basis: 'hotfix_validation_time_capped' }));
    });

    it('refuses production while staging validation has not concluded', () => {
      spec
        .given([hotfixPlanned, approved, ...hotfixStaging])
        .when(deployTo('production', 'staging', { lane: 'hotfix', now: at }))
        .thenThrows(PromotionPrerequisiteError, (e) => e.lane === 'hotfix' && e.found.includes('validation not concluded'));
    });

    it('refuses the hotfix lane for a non-hotfix release', () => {
      spec
        .given([planned, approved, stagingStarted, stagingSucceeded])
        .when(deployTo('production', 'staging', { lane: 'hotfix', hotfixValidation: { outcome: 'passed', startedAt: '', concludedAt: '' } }))
        .thenThrows(HotfixLaneNotAllowedError, (e) => e.releaseType === 'minor');
    });
  });
});

describe('Release: content changes invalidate approvals', () => {
  it('revising an approved release emits the invalidation and returns it to planned', () => {
    spec
      .given([planned, approved])
      .when({ type: 'ReviseRelease', data: { releaseId: 'rel-1', revision: { title: 'Campaign scheduling v2' }, revisedBy: 'bob', now: new Date('2026-11-24T10:00:00Z') } })
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['ReleaseRevised', 'ReleaseApprovalsInvalidated']);
        expect(events[1]?.data).toMatchObject({ approvalId: 'apr-1', previousRevision: 1, revision: 2 });
        expect(state.status).toBe('planned');
      });
  });

  it('refuses content changes once deploying', () => {
    spec
      .given([planned, approved, stagingStarted])
      .when({ type: 'ReviseRelease', data: { releaseId: 'rel-1', revision: { title: 'late' }, revisedBy: 'bob', now: TUESDAY_WINDOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'deploying');
  });

  it('refuses an empty revision', () => {
    spec
      .given([planned])
      .when({ type: 'ReviseRelease', data: { releaseId: 'rel-1', revision: {}, revisedBy: 'bob', now: TUESDAY_WINDOW } })
      .thenThrows(ValidationError, (e) => e.issues[0]?.reason === 'nothing to revise');
  });
});

describe('Release: migrations CI reports', () => {
  const MIGRATION_REPORTED = new Date('2026-11-24T11:00:00Z');
  const addIndex = { migrationId: '0042_add_campaign_index', description: 'Adds an index on campaigns.send_at', reversible: false, database: 'campaigns' };
  const record = (migration: Record<string, unknown> = addIndex) => ({ type: 'RecordReleaseMigration', data: { releaseId: 'rel-1', migration, recordedBy: 'ci-bot', now: MIGRATION_REPORTED } }) as const;
  const recorded: ReleaseEvent = {
    type: 'ReleaseMigrationRecorded',
    data: { releaseId: 'rel-1', ...addIndex, revision: 2, recordedBy: 'ci-bot', recordedAt: '2026-11-24T11:00:00.000Z' },
  };

  it('records a migration on a planned release as a new revision, invalidating approvals collected so far', () => {
    spec
      .given([planned])
      .when(record())
      .then([
        recorded,
        {
          type: 'ReleaseApprovalsInvalidated',
          data: { releaseId: 'rel-1', approvalId: null, previousRevision: 1, revision: 2, reason: 'irreversible migration 0042_add_campaign_index added by ci-bot', invalidatedAt: '2026-11-24T11:00:00.000Z' },
        },
      ]);
  });

  it('a migration after approval invalidates the standing approval and returns the release to planned, keeping the migration in its state', () => {
    spec
      .given([planned, approved])
      .when(record({ ...addIndex, reversible: true, database: undefined }))
      .thenEvents(([migration, invalidated], state) => {
        expect(migration?.data).toMatchObject({ reversible: true, database: null, revision: 2 });
        expect(invalidated?.data).toMatchObject({ approvalId: 'apr-1', previousRevision: 1, revision: 2, reason: expect.stringContaining('reversible migration 0042_add_campaign_index') });
        if (state.status === 'not_planned') throw new Error('expected a release');
        expect(state).toMatchObject({ status: 'planned', approvalId: null, revision: 2 });
        expect(state.migrations).toEqual([{ migrationId: '0042_add_campaign_index', description: 'Adds an index on campaigns.send_at', reversible: true, database: null, recordedAt: '2026-11-24T11:00:00.000Z' }]);
      });
  });

  it('the same migration reported again changes nothing, even once the release deploys', () => {
    spec.given([planned, recorded]).when(record()).thenNothingHappened();
    spec.given([planned, recorded, approved, stagingStarted]).when(record()).thenNothingHappened();
  });

  it('refuses the same migration id with other content, naming what differs', () => {
    spec
      .given([planned, recorded])
      .when(record({ ...addIndex, reversible: true }))
      .thenThrows(MigrationConflictError, (e) => e.migrationId === '0042_add_campaign_index' && e.differingFields.join() === 'reversible');
  });

  it('refuses a new migration once the release is deploying or deployed: its artefact is frozen', () => {
    spec
      .given([planned, approved, stagingStarted])
      .when(record())
      .thenThrows(MigrationAfterDeploymentError, (e) => e.status === 'deploying' && e.environments.join() === 'staging' && e.message.includes('new release'));
    spec
      .given([planned, approved, stagingStarted, stagingSucceeded])
      .when(record())
      .thenThrows(MigrationAfterDeploymentError, (e) => e.status === 'deployed');
  });

  it('refuses an invalid migration and one for a release that does not exist', () => {
    spec
      .given([planned])
      .when(record({ migrationId: ' ', description: 'x' }))
      .thenThrows(ValidationError, (e) => e.issues.map((i) => i.field).sort().join() === 'migrationId,reversible');
    spec.given([]).when(record()).thenThrows(NotFoundError, (e) => e.id === 'rel-1');
  });

  it('approval of the revision the migration started approves the release again', () => {
    const invalidation: ReleaseEvent = {
      type: 'ReleaseApprovalsInvalidated',
      data: { releaseId: 'rel-1', approvalId: 'apr-1', previousRevision: 1, revision: 2, reason: 'x', invalidatedAt: '2026-11-24T11:00:00.000Z' },
    };
    spec
      .given([planned, approved, recorded, invalidation])
      .when({ type: 'ApproveRelease', data: { releaseId: 'rel-1', approvalId: 'apr-1', revision: 1, now: TUESDAY_WINDOW } })
      .thenThrows(StaleApprovalError, (e) => e.currentRevision === 2);
    spec
      .given([planned, approved, recorded, invalidation])
      .when({ type: 'ApproveRelease', data: { releaseId: 'rel-1', approvalId: 'apr-2', revision: 2, now: TUESDAY_WINDOW } })
      .thenEvents((_events, state) => expect(state).toMatchObject({ status: 'approved', approvalId: 'apr-2' }));
  });
});

describe('Release: a rollback is recorded where it happened', () => {
  const deployed = [planned, approved, stagingStarted, stagingSucceeded, prodStarted, prodSucceeded];
  const record = (extra: Record<string, unknown> = {}) =>
    ({
      type: 'RecordReleaseRollback',
      data: { releaseId: 'rel-1', deploymentId: 'dep-prod', environment: 'production', requestedBy: 'sre-sam', reason: 'checkout errors', initiator: 'manual', basis: 'within_window', now: new Date('2026-12-01T14:30:00Z'), ...extra },
    }) as const;

  it('records a manual rollback with the basis the deployments context decided; production no longer stands', () => {
    spec
      .given(deployed)
      .when(record())
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ basis: 'within_window', deploymentId: 'dep-prod', incidentReviewRef: null });
        expect(state).toMatchObject({ status: 'rolled_back', deployments: { production: { status: 'rolled_back' }, staging: { status: 'succeeded' } } });
      });
  });

  it('records a manual rollback beyond the window with its incident review, days later', () => {
    spec
      .given(deployed)
      .when(record({ basis: 'incident_review', incidentReviewRef: 'IR-77', now: new Date('2026-12-09T09:00:00Z') }))
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ basis: 'incident_review', incidentReviewRef: 'IR-77' }));
  });

  it('records an automatic rollback as the trigger’s', () => {
    spec
      .given(deployed)
      .when(record({ initiator: 'automatic', requestedBy: 'monitoring', basis: undefined }))
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ basis: 'automatic_trigger' }));
  });

  it('a rolled-back staging deployment is no ground to promote to production any more', () => {
    const stagingOnly = [planned, approved, stagingStarted, stagingSucceeded];
    const rolledBack = decideAll(stagingOnly, record({ deploymentId: 'dep-stg', environment: 'staging' }));
    spec
      .given([...stagingOnly, ...rolledBack])
      .when({ type: 'StartReleaseDeployment', data: { releaseId: 'rel-1', deploymentId: 'dep-prod', environment: 'production', promotesFrom: 'staging', lane: 'normal', startedBy: 'deployments', now: TUESDAY_WINDOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'rolled_back');
  });

  it('changes nothing when the same rollback is recorded again', () => {
    const once = decideAll(deployed, record());
    spec.given([...deployed, ...once]).when(record()).thenNothingHappened();
  });

  it('refuses a manual rollback without its basis, and a deployment the release does not have there', () => {
    spec.given(deployed).when(record({ basis: undefined })).thenThrows(ValidationError, (e) => e.issues.some((i) => i.field === 'basis'));
    spec
      .given(deployed)
      .when(record({ environment: 'eu-canary' }))
      .thenThrows(Error, (e) => e.name === 'NotDeployedToEnvironmentError');
  });
});

function decideAll(history: ReleaseEvent[], command: Parameters<typeof releaseDecider.decide>[0]): ReleaseEvent[] {
  return releaseDecider.decide(command, history.reduce(releaseDecider.evolve, releaseDecider.initialState()));
}
