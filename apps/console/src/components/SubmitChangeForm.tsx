import { type FormEvent, useState } from 'react';
import { api, ApiError, formatInstant, type Json } from '../api.js';
import { navigate } from '../router.js';
import type { Session } from '../session.js';
import { Problem } from './Status.js';

const TYPES = ['enhancement', 'bug_fix', 'security', 'infrastructure'];
const LEVELS = ['low', 'medium', 'high', 'critical'];
const IMPACTS = ['none', 'low', 'medium', 'high', 'system_wide'];

function Field({ id, label, children }: { id: string; label: string; children: React.ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

/** Submits a change request (POST /api/change-requests); a refusal shows the gateway's reasons and next allowed time. */
export function SubmitChangeForm({ session, environments, now }: { session: Session; environments: string[]; now: string }) {
  const [form, setForm] = useState({
    releaseId: '',
    environment: environments[0] ?? 'development',
    title: '',
    description: '',
    type: 'enhancement',
    priority: 'medium',
    impact: 'low',
    risk: 'low',
    planned: now.slice(0, 16),
    duration: '120',
    implementationPlan: '',
    rollbackPlan: '',
    testingPlan: '',
    runbookRef: '',
  });
  const [refusal, setRefusal] = useState<{ message: string; nextAllowedAt: string | null } | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value });
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setRefusal(null);
    try {
      const body: Json = {
        kind: 'normal',
        title: form.title,
        description: form.description,
        type: form.type,
        priority: form.priority,
        impact: form.impact,
        risk: form.risk,
        environments: [form.environment],
        schedule: { planned: new Date(`${form.planned}Z`).toISOString(), duration: Number(form.duration) },
        implementationPlan: form.implementationPlan,
        rollbackPlan: form.rollbackPlan,
        testingPlan: form.testingPlan,
        ...(form.releaseId ? { releaseId: form.releaseId } : {}),
        ...(form.runbookRef ? { runbookRef: form.runbookRef } : {}),
      };
      const { changeRequestId } = await api(session, 'POST', '/api/change-requests', body);
      navigate(`/changes/${changeRequestId}`);
    } catch (error) {
      const body = error instanceof ApiError ? (error.body as Json) : null;
      setRefusal({ message: (error as Error).message, nextAllowedAt: typeof body?.nextAllowedAt === 'string' ? body.nextAllowedAt : null });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="form" aria-labelledby="submit-heading">
      <h2 id="submit-heading">Submit a change request</h2>
      <div className="fields">
        <Field id="cr-release" label="Release id">
          <input id="cr-release" value={form.releaseId} onChange={set('releaseId')} placeholder="release-campaign-api-2.2.0" />
        </Field>
        <Field id="cr-env" label="Environment">
          <select id="cr-env" value={form.environment} onChange={set('environment')}>
            {environments.map((e) => (
              <option key={e}>{e}</option>
            ))}
          </select>
        </Field>
        <Field id="cr-title" label="Title">
          <input id="cr-title" value={form.title} onChange={set('title')} required />
        </Field>
        <Field id="cr-description" label="Description">
          <input id="cr-description" value={form.description} onChange={set('description')} required />
        </Field>
        <Field id="cr-type" label="Type">
          <select id="cr-type" value={form.type} onChange={set('type')}>
            {TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field id="cr-priority" label="Priority">
          <select id="cr-priority" value={form.priority} onChange={set('priority')}>
            {LEVELS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field id="cr-impact" label="Impact">
          <select id="cr-impact" value={form.impact} onChange={set('impact')}>
            {IMPACTS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field id="cr-risk" label="Risk">
          <select id="cr-risk" value={form.risk} onChange={set('risk')}>
            {LEVELS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <Field id="cr-planned" label="Planned start (UTC)">
          <input id="cr-planned" type="datetime-local" value={form.planned} onChange={set('planned')} required />
        </Field>
        <Field id="cr-duration" label="Duration (minutes)">
          <input id="cr-duration" type="number" min={1} value={form.duration} onChange={set('duration')} required />
        </Field>
        <Field id="cr-impl" label="Implementation plan">
          <textarea id="cr-impl" value={form.implementationPlan} onChange={set('implementationPlan')} required />
        </Field>
        <Field id="cr-rollback" label="Rollback plan">
          <textarea id="cr-rollback" value={form.rollbackPlan} onChange={set('rollbackPlan')} required />
        </Field>
        <Field id="cr-testing" label="Testing plan">
          <textarea id="cr-testing" value={form.testingPlan} onChange={set('testingPlan')} required />
        </Field>
        <Field id="cr-runbook" label="Runbook reference (production)">
          <input id="cr-runbook" value={form.runbookRef} onChange={set('runbookRef')} />
        </Field>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? 'Submitting…' : 'Submit change request'}
      </button>
      {refusal !== null ? (
        <div role="alert" className="problem refusal">
          <p>Refused: {refusal.message}</p>
          {refusal.nextAllowedAt !== null ? <p>Next allowed time: {formatInstant(refusal.nextAllowedAt)}</p> : null}
        </div>
      ) : null}
    </form>
  );
}
