import { DeciderSpecification } from '@gatehouse/testing';
import { IllegalTransitionError, ReasonRequiredError, SeparationOfDutiesViolation, UnknownEnvironmentError, ValidationError } from '../errors.js';
import {
  changeRequestDecider,
  changeRulesFromPolicy,
  PostImplementationReviewRequiredError,
  RunbookRequiredError,
  ScheduleOutsideWindowError,
  StandardChangeNotEligibleError,
  StandardChangeTemplateRequiredError,
  type ChangeKind,
  type ChangeRequestDraft,
  type ChangeRequestEvent,
  type EnvironmentChangeRules,
} from './changeRequest.js';

const spec = DeciderSpecification.for(changeRequestDecider);
const NOW = new Date('2026-11-23T09:00:00Z'); // Monday of Black Friday week 2026
const rules: Record<string, EnvironmentChangeRules> = {
  development: { runbookRequired: false, standardChangesPreApproved: true, standardChangeTemplates: ['feature-flag-toggle'], exposure: 'internal' },
  staging: { runbookRequired: false, standardChangesPreApproved: true, standardChangeTemplates: ['feature-flag-toggle', 'certificate-rotation'], exposure: 'pre_production' },
  // No catalogue: production takes no standard change.
  production: { runbookRequired: true, standardChangesPreApproved: true, standardChangeTemplates: [], exposure: 'production' },
};

const draft = {
  title: 'Add campaign time zones',
  description: 'Schedules campaigns in the recipient time zone',
  type: 'enhancement',
  priority: 'medium',
  impact: 'medium',
  risk: 'medium',
  likelihood: 'low',
  size: 'medium',
  environments: ['staging', 'production'],
  schedule: { planned: '2026-12-01T10:00:00Z', duration: 45, maintenance: false },
  implementationPlan: 'blue-green switch',
  rollbackPlan: 'switch back to blue',
  testingPlan: 'E2E suite in staging',
  runbookRef: 'RB-123',
  includesMigration: false,
  author: 'alice',
};

const submit = (overrides: Record<string, unknown> = {}, kind: ChangeKind = 'normal', outsideWindows = false) =>
  ({ type: 'SubmitChangeRequest', data: { changeRequestId: 'cr-1', kind, draft: { ...draft, ...overrides }, environmentRules: rules, outsideWindows, now: NOW } }) as const;

function submittedEvent(kind: ChangeKind = 'normal', overrides: Partial<ChangeRequestDraft> = {}): ChangeRequestEvent {
  const [event] = changeRequestDecider.decide(submit(overrides, kind), changeRequestDecider.initialState());
  if (event === undefined) throw new Error('no event');
  return event;
}

const at = (iso: string) => new Date(iso);
const ev = {
  reviewStarted: { type: 'ChangeReviewStarted', data: { changeRequestId: 'cr-1', reviewer: 'bob', startedAt: '2026-11-23T10:00:00.000Z' } },
  reviewCompleted: { type: 'ChangeReviewCompleted', data: { changeRequestId: 'cr-1', reviewer: 'bob', notes: 'ok', completedAt: '2026-11-23T11:00:00.000Z' } },
  approved: { type: 'ChangeRequestApproved', data: { changeRequestId: 'cr-1', approvalId: 'apr-1', approvedAt: '2026-11-24T09:00:00.000Z' } },
  scheduled: { type: 'ChangeScheduled', data: { changeRequestId: 'cr-1', windowStart: '2026-12-01T10:00:00.000Z', windowEnd: '2026-12-01T12:00:00.000Z', scheduledBy: 'sched', scheduledAt: '2026-11-24T09:00:00.000Z' } },
  implementing: { type: 'ChangeImplementationStarted', data: { changeRequestId: 'cr-1', implementer: 'sre-sam', startedAt: '2026-12-01T10:00:00.000Z' } },
  implemented: { type: 'ChangeImplemented', data: { changeRequestId: 'cr-1', implementer: 'sre-sam', completedAt: '2026-12-01T10:40:00.000Z' } },
} satisfies Record<string, ChangeRequestEvent>;

describe('Change request: submission', () => {
  it('records the validated draft with a computed risk assessment', () => {
    spec
      .given([])
      .when(submit())
      .thenEvents(([e], state) => {
        expect(e?.type).toBe('ChangeRequestSubmitted');
        if (e?.type !== 'ChangeRequestSubmitted') return;
        expect(e.data.draft.author).toBe('alice');
        // impact 2×10 + likelihood 1×10 + production 2×5 + medium size 1×5 = 45 → medium
        expect(e.data.riskAssessment).toMatchObject({ score: 45, level: 'medium' });
        expect(state.status).toBe('submitted');
      });
  });

  it('names every invalid field: unknown enum, missing field, bad instant', () => {
    const { title: _omitted, ...withoutTitle } = draft;
    spec
      .given([])
      .when({ ...submit(), data: { ...submit().data, draft: { ...withoutTitle, impact: 'huge', schedule: { planned: 'next tuesday', duration: 45 } } } })
      .thenThrows(ValidationError, (e) => {
        const fields = e.issues.map((i) => i.field).sort();
        return fields.join() === 'impact,schedule.planned,title' && e.message.includes('ISO-8601');
      });
  });

  it('refuses a production change without a runbook reference', () => {
    spec
      .given([])
      .when(submit({ runbookRef: undefined }))
      .thenThrows(RunbookRequiredError, (e) => e.environment === 'production');
  });

  it('accepts a staging-only change without a runbook', () => {
    spec.given([]).when(submit({ runbookRef: undefined, environments: ['staging'] })).thenEvents((events) => expect(events).toHaveLength(1));
  });

  it('refuses an unknown environment', () => {
    spec.given([]).when(submit({ environments: ['qa-east'] })).thenThrows(UnknownEnvironmentError, (e) => e.environment === 'qa-east');
  });

  it('pre-approves a low-risk standard change', () => {
    spec
      .given([])
      .when(submit({ impact: 'low', size: 'small', environments: ['staging'], standardTemplateId: 'certificate-rotation' }, 'standard'))
      .thenEvents((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['ChangeRequestSubmitted', 'ChangeRequestPreApproved']);
        expect(state.status).toBe('approved');
      });
  });

  it('refuses a standard change that names no template of the catalogue', () => {
    spec
      .given([])
      .when(submit({ impact: 'low', size: 'small', environments: ['staging'] }, 'standard'))
      .thenThrows(StandardChangeTemplateRequiredError, (e) => e.environment === 'staging' && e.templateId === null && e.message.includes('certificate-rotation'));
    spec
      .given([])
      .when(submit({ impact: 'low', size: 'small', environments: ['staging'], standardTemplateId: 'database-upgrade' }, 'standard'))
      .thenThrows(StandardChangeTemplateRequiredError, (e) => e.templateId === 'database-upgrade');
  });

  it('refuses any standard change to production, whose policy lists no template, however low its risk', () => {
    spec
      .given([])
      .when(submit({ impact: 'low', size: 'small', risk: 'low', standardTemplateId: 'feature-flag-toggle' }, 'standard'))
      .thenThrows(StandardChangeTemplateRequiredError, (e) => e.environment === 'production' && e.message.includes('pre-approves no change templates'));
  });

  it('refuses a high-risk change as standard', () => {
    spec
      .given([])
      .when(submit({ impact: 'system_wide', includesMigration: true, environments: ['staging'], standardTemplateId: 'feature-flag-toggle' }, 'standard'))
      .thenThrows(StandardChangeNotEligibleError, (e) => e.riskLevel === 'high' || e.riskLevel === 'critical');
  });

  it('fast-tracks an emergency change straight to approval', () => {
    spec.given([]).when(submit({}, 'emergency')).thenEvents((_, state) => expect(state.status).toBe('awaiting_approval'));
  });

  it('derives the rules from an environment policy', () => {
    expect(
      changeRulesFromPolicy({
        environment: 'production',
        promotesFrom: 'staging',
        requirements: { runbook: true, migrationApproval: true },
        approvals: {
          required: [],
          separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true },
          standardChangesPreApproved: false,
          standardChangeTemplates: [{ id: 'certificate-rotation', name: 'Certificate rotation', description: 'Same issuer' }],
        },
      }),
    ).toEqual({ runbookRequired: true, standardChangesPreApproved: false, standardChangeTemplates: ['certificate-rotation'], exposure: 'production' });
  });
});

describe('Change request: workflow', () => {
  const submitted = submittedEvent();

  it('walks Submission → Review → Approval → Scheduling → Implementation → Validation → Closure', () => {
    const history: ChangeRequestEvent[] = [submitted];
    const steps = [
      { type: 'StartChangeReview', data: { changeRequestId: 'cr-1', reviewer: 'bob', now: at('2026-11-23T10:00:00Z') } },
      { type: 'CompleteChangeReview', data: { changeRequestId: 'cr-1', reviewer: 'bob', notes: 'ok', now: at('2026-11-23T11:00:00Z') } },
      { type: 'RecordChangeApproval', data: { changeRequestId: 'cr-1', approvalId: 'apr-1', now: at('2026-11-24T09:00:00Z') } },
      { type: 'ScheduleChange', data: { changeRequestId: 'cr-1', window: { start: '2026-12-01T10:00:00Z', end: '2026-12-01T12:00:00Z' }, scheduledBy: 'sched', bookedAt: at('2026-11-24T09:00:00Z'), now: at('2026-11-24T09:00:00Z') } },
      { type: 'StartChangeImplementation', data: { changeRequestId: 'cr-1', implementer: 'sre-sam', now: at('2026-12-01T10:00:00Z') } },
      { type: 'CompleteChangeImplementation', data: { changeRequestId: 'cr-1', implementer: 'sre-sam', now: at('2026-12-01T10:40:00Z') } },
      // The post-deployment watch passed where no checks are asked: validated, and closed at once.
      { type: 'CompletePostDeploymentWatch', data: { changeRequestId: 'cr-1', environment: 'production', validation: undefined, closedBy: 'change-lifecycle', now: at('2026-12-01T11:00:00Z') } },
    ] as const;
    const statuses: string[] = [];
    for (const step of steps) {
      spec.given(history).when(step).thenEvents((events, state) => {
        history.push(...events);
        statuses.push(state.status);
      });
    }
    expect(statuses).toEqual(['in_review', 'awaiting_approval', 'approved', 'scheduled', 'implementing', 'validating', 'closed']);
    expect(history.slice(-2)).toMatchObject([{ type: 'ChangeValidated', data: { outcome: 'passed', validator: 'monitoring' } }, { type: 'ChangeClosed', data: { outcome: 'successful' } }]);
  });

  it('refuses a review by the author', () => {
    spec
      .given([submitted])
      .when({ type: 'StartChangeReview', data: { changeRequestId: 'cr-1', reviewer: 'alice', now: NOW } })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'alice' && e.rule === 'author_cannot_review');
  });

  it('refuses the completion of a review someone else started, by the author', () => {
    spec
      .given([submitted, ev.reviewStarted])
      .when({ type: 'CompleteChangeReview', data: { changeRequestId: 'cr-1', reviewer: 'alice', notes: 'lgtm', now: NOW } })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'alice' && e.rule === 'author_cannot_review' && e.reason.includes('complete its review'));
  });

  it('keeps the CI initiator of a change away from its review and validation as if they wrote it', () => {
    const ingested = submittedEvent('normal', { author: 'ingest:github-actions', initiator: 'ivan' });
    spec
      .given([ingested])
      .when({ type: 'StartChangeReview', data: { changeRequestId: 'cr-1', reviewer: 'ivan', now: NOW } })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'ivan' && e.reason.includes('initiated (through CI)'));
    const validating = [ingested, ev.reviewStarted, ev.reviewCompleted, ev.approved, ev.scheduled, ev.implementing, ev.implemented];
    spec
      .given(validating)
      .when({
        type: 'SignOffPostDeploymentValidation',
        data: { changeRequestId: 'cr-1', environment: 'production', validation: { checks: [], timeoutMinutes: 30, onTimeout: 'fail', signOff: { roles: ['qa'], optional: false } }, signer: 'ivan', signerRoles: ['qa'], closedBy: 'change-lifecycle', now: NOW },
      })
      .thenThrows(SeparationOfDutiesViolation, (e) => e.rule === 'author_cannot_validate');
  });

  describe('post-implementation review of an emergency change', () => {
    const emergency = submittedEvent('emergency');
    const deployed = [emergency, ev.approved, ev.scheduled, ev.implementing, ev.implemented];
    const validated: ChangeRequestEvent = { type: 'ChangeValidated', data: { changeRequestId: 'cr-1', validator: 'monitoring', outcome: 'passed', notes: 'watch done', validatedAt: '2026-12-02T10:40:00.000Z' } };

    it('closes a validated emergency change when its post-incident review is recorded', () => {
      spec
        .given([...deployed, validated])
        .when({ type: 'RecordPostImplementationReview', data: { changeRequestId: 'cr-1', reviewRef: 'PIR-7', recordedBy: 'sam', now: NOW } })
        .thenEvents((events, state) => {
          expect(events.map((e) => e.type)).toEqual(['PostImplementationReviewRecorded', 'ChangeClosed']);
          expect(events[1]?.data).toMatchObject({ postImplementationReviewRef: 'PIR-7', closedBy: 'sam' });
          expect(state.status).toBe('closed');
        });
    });

    it('records the review while the watch still runs, and the close at the end of the watch uses it', () => {
      const recorded: ChangeRequestEvent = { type: 'PostImplementationReviewRecorded', data: { changeRequestId: 'cr-1', reviewRef: 'PIR-7', recordedBy: 'sam', recordedAt: '2026-12-01T12:00:00.000Z' } };
      spec
        .given(deployed)
        .when({ type: 'RecordPostImplementationReview', data: { changeRequestId: 'cr-1', reviewRef: 'PIR-7', recordedBy: 'sam', now: NOW } })
        .thenEvents((events, state) => {
          expect(events).toEqual([{ ...recorded, data: { ...recorded.data, recordedAt: NOW.toISOString() } }]);
          expect(state.status).toBe('validating');
        });
      spec
        .given([...deployed, recorded, validated])
        .when({ type: 'CloseChange', data: { changeRequestId: 'cr-1', closedBy: 'change-requests', now: NOW } })
        .thenEvents(([closed]) => expect(closed?.data).toMatchObject({ postImplementationReviewRef: 'PIR-7' }));
    });

    it('refuses the review, and a close with a review reference, by the change’s author', () => {
      spec
        .given([...deployed, validated])
        .when({ type: 'RecordPostImplementationReview', data: { changeRequestId: 'cr-1', reviewRef: 'PIR-7', recordedBy: 'alice', now: NOW } })
        .thenThrows(SeparationOfDutiesViolation, (e) => e.approver === 'alice' && e.rule === 'author_cannot_review_incident');
      spec
        .given([...deployed, validated])
        .when({ type: 'CloseChange', data: { changeRequestId: 'cr-1', closedBy: 'alice', postImplementationReviewRef: 'PIR-7', now: NOW } })
        .thenThrows(SeparationOfDutiesViolation, (e) => e.rule === 'author_cannot_review_incident');
    });
  });

  it('refuses scheduling before approval', () => {
    spec
      .given([submitted, ev.reviewStarted])
      .when({ type: 'ScheduleChange', data: { changeRequestId: 'cr-1', window: { start: '2026-12-01T10:00:00Z', end: '2026-12-01T12:00:00Z' }, scheduledBy: 's', bookedAt: NOW, now: NOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'in_review' && e.allowedFrom.includes('approved'));
  });

  it('rejects with a reason and ends the change', () => {
    spec
      .given([submitted, ev.reviewStarted])
      .when({ type: 'RejectChangeRequest', data: { changeRequestId: 'cr-1', rejectedBy: 'bob', reason: 'no load test', now: NOW } })
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ reason: 'no load test', stage: 'in_review' });
        expect(state.status).toBe('rejected');
      });
  });

  it('refuses a rejection without a reason', () => {
    spec
      .given([submitted, ev.reviewStarted])
      .when({ type: 'RejectChangeRequest', data: { changeRequestId: 'cr-1', rejectedBy: 'bob', reason: '  ', now: NOW } })
      .thenThrows(ReasonRequiredError, (e) => e.action === 'a rejection');
  });

  it('refuses a window shorter than the change duration', () => {
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved])
      .when({ type: 'ScheduleChange', data: { changeRequestId: 'cr-1', window: { start: '2026-12-01T11:30:00Z', end: '2026-12-01T12:00:00Z' }, scheduledBy: 's', bookedAt: NOW, now: NOW } })
      .thenThrows(ScheduleOutsideWindowError, (e) => e.problem === 'window_too_short' && e.message.includes('needs 45 min'));
  });

  it('refuses a window in the past', () => {
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved])
      .when({ type: 'ScheduleChange', data: { changeRequestId: 'cr-1', window: { start: '2026-11-19T10:00:00Z', end: '2026-11-19T12:00:00Z' }, scheduledBy: 's', bookedAt: NOW, now: NOW } })
      .thenThrows(ScheduleOutsideWindowError, (e) => e.problem === 'window_in_past');
  });

  it('records a booking for "now" in a continuous environment however late it is recorded (running clock)', () => {
    // Scheduling booked the slot at the instant it decided; change-requests hears of it 28 ms (or minutes) later.
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved])
      .when({
        type: 'ScheduleChange',
        data: { changeRequestId: 'cr-1', window: { start: '2026-11-23T09:00:33.864Z', end: '2026-11-23T10:00:33.864Z' }, scheduledBy: 'scheduling', bookedAt: at('2026-11-23T09:00:33.864Z'), now: at('2026-11-23T09:00:33.892Z') },
      })
      .then([{ type: 'ChangeScheduled', data: { changeRequestId: 'cr-1', windowStart: '2026-11-23T09:00:33.864Z', windowEnd: '2026-11-23T10:00:33.864Z', scheduledBy: 'scheduling', scheduledAt: '2026-11-23T09:00:33.892Z' } }]);
  });

  it('refuses a window that had already begun when it was booked, naming the booking time', () => {
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved])
      .when({
        type: 'ScheduleChange',
        data: { changeRequestId: 'cr-1', window: { start: '2026-11-23T09:00:00Z', end: '2026-11-23T10:00:00Z' }, scheduledBy: 'scheduling', bookedAt: at('2026-11-23T09:00:00.001Z'), now: at('2026-11-23T09:00:00.001Z') },
      })
      .thenThrows(ScheduleOutsideWindowError, (e) => e.problem === 'window_in_past' && e.message.includes('before it was booked (2026-11-23T09:00:00.001Z)'));
  });

  it('refuses to start implementation outside the scheduled window', () => {
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved, ev.scheduled])
      .when({ type: 'StartChangeImplementation', data: { changeRequestId: 'cr-1', implementer: 'sre-sam', now: at('2026-12-01T12:00:00Z') } })
      .thenThrows(ScheduleOutsideWindowError, (e) => e.problem === 'not_in_window');
  });

  it('rolls back after failed validation and closes with that outcome', () => {
    const base = [submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved, ev.scheduled, ev.implementing, ev.implemented];
    const failed: ChangeRequestEvent = { type: 'ChangeValidated', data: { changeRequestId: 'cr-1', validator: 'qa', outcome: 'failed', notes: 'checkout broken', validatedAt: '2026-12-01T11:00:00.000Z' } };
    const rolledBack: ChangeRequestEvent = { type: 'ChangeRolledBack', data: { changeRequestId: 'cr-1', requestedBy: 'sre-sam', reason: 'checkout broken', rolledBackAt: '2026-12-01T11:05:00.000Z' } };
    spec
      .given([...base, failed])
      .when({ type: 'RollBackChange', data: { changeRequestId: 'cr-1', requestedBy: 'sre-sam', reason: 'checkout broken', now: at('2026-12-01T11:05:00Z') } })
      .then([rolledBack]);
    spec
      .given([...base, failed, rolledBack])
      .when({ type: 'CloseChange', data: { changeRequestId: 'cr-1', closedBy: 'alice', now: at('2026-12-01T12:00:00Z') } })
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ outcome: 'rolled_back' }));
  });

  it('refuses cancelling once implementation started', () => {
    spec
      .given([submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved, ev.scheduled, ev.implementing])
      .when({ type: 'CancelChange', data: { changeRequestId: 'cr-1', cancelledBy: 'alice', reason: 'changed my mind', now: NOW } })
      .thenThrows(IllegalTransitionError, (e) => e.status === 'implementing');
  });

  it('closes an emergency change only with a post-implementation review', () => {
    const emergency = submittedEvent('emergency');
    const history = [emergency, ev.approved, { ...ev.scheduled }, ev.implementing, ev.implemented, { type: 'ChangeValidated', data: { changeRequestId: 'cr-1', validator: 'qa', outcome: 'passed', notes: '', validatedAt: '2026-12-01T11:00:00.000Z' } } as ChangeRequestEvent];
    spec
      .given(history)
      .when({ type: 'CloseChange', data: { changeRequestId: 'cr-1', closedBy: 'alice', now: at('2026-12-01T12:00:00Z') } })
      .thenThrows(PostImplementationReviewRequiredError, (e) => e.changeRequestId === 'cr-1');
    spec
      .given(history)
      // Someone other than the author: the review of an emergency change is not its author's to give.
      .when({ type: 'CloseChange', data: { changeRequestId: 'cr-1', closedBy: 'sam', postImplementationReviewRef: 'PIR-9', now: at('2026-12-01T12:00:00Z') } })
      .thenEvents(([e]) => expect(e?.data).toMatchObject({ postImplementationReviewRef: 'PIR-9' }));
  });
});

describe('Change request: approval withdrawn before the deployment starts', () => {
  const submitted = submittedEvent();
  const approvedChange = [submitted, ev.reviewStarted, ev.reviewCompleted, ev.approved];
  const REVOKED_AT = at('2026-11-25T09:00:00Z');
  const withdraw = { type: 'WithdrawChangeApproval', data: { changeRequestId: 'cr-1', approvalId: 'apr-1', cause: 'revoked', withdrawnBy: 'sam', reason: 'sam revoked the sre approval: error budget burn', now: REVOKED_AT } } as const;
  const withdrawn: ChangeRequestEvent = {
    type: 'ChangeApprovalWithdrawn',
    data: { changeRequestId: 'cr-1', approvalId: 'apr-1', cause: 'revoked', withdrawnBy: 'sam', reason: 'sam revoked the sre approval: error budget burn', stage: 'scheduled', withdrawnAt: '2026-11-25T09:00:00.000Z' },
  };

  it('sends a scheduled change back to awaiting approval, dropping its window and approval', () => {
    spec
      .given([...approvedChange, ev.scheduled])
      .when(withdraw)
      .thenEvents((events, state) => {
        expect(events).toEqual([withdrawn]);
        expect(state).toMatchObject({ status: 'awaiting_approval', approvalId: null, window: null });
      });
  });

  it('also from approved, before scheduling booked it', () => {
    spec
      .given(approvedChange)
      .when({ ...withdraw, data: { ...withdraw.data, cause: 'invalidated', withdrawnBy: 'approvals' } })
      .thenEvents(([e], state) => {
        expect(e?.data).toMatchObject({ cause: 'invalidated', stage: 'approved' });
        expect(state.status).toBe('awaiting_approval');
      });
  });

  it('a new full approval approves it again, and it can be scheduled again', () => {
    spec
      .given([...approvedChange, ev.scheduled, withdrawn])
      .when({ type: 'RecordChangeApproval', data: { changeRequestId: 'cr-1', approvalId: 'apr-1', now: at('2026-11-26T09:00:00Z') } })
      .thenEvents((_events, state) => expect(state).toMatchObject({ status: 'approved', approvalId: 'apr-1' }));
    const reapproved: ChangeRequestEvent = { ...ev.approved, data: { ...ev.approved.data, approvedAt: '2026-11-26T09:00:00.000Z' } };
    spec
      .given([...approvedChange, ev.scheduled, withdrawn, reapproved])
      .when({ type: 'ScheduleChange', data: { changeRequestId: 'cr-1', window: { start: '2026-12-01T10:00:00Z', end: '2026-12-01T12:00:00Z' }, scheduledBy: 'scheduling', bookedAt: at('2026-11-26T09:00:00Z'), now: at('2026-11-26T09:00:00Z') } })
      .thenEvents((_events, state) => expect(state.status).toBe('scheduled'));
  });

  it('refuses once implementation started: the approval was spent on a running deployment', () => {
    spec
      .given([...approvedChange, ev.scheduled, ev.implementing])
      .when(withdraw)
      .thenThrows(IllegalTransitionError, (e) => e.status === 'implementing' && e.allowedFrom.join() === 'approved,scheduled');
  });

  it('refuses a change still waiting for approval, and a withdrawal without a reason', () => {
    spec.given([submitted, ev.reviewStarted, ev.reviewCompleted]).when(withdraw).thenThrows(IllegalTransitionError, (e) => e.status === 'awaiting_approval');
    spec
      .given(approvedChange)
      .when({ ...withdraw, data: { ...withdraw.data, reason: ' ' } })
      .thenThrows(ReasonRequiredError);
  });
});
