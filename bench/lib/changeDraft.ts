/** The change request the benchmarks submit (development, a plain deploy): the body of `POST /api/change-requests`. */
export function benchChangeDraft(title: string, planned: string, releaseId: string): Record<string, unknown> {
  return {
    kind: 'normal',
    title,
    description: 'benchmark',
    type: 'enhancement',
    priority: 'low',
    impact: 'low',
    risk: 'low',
    environments: ['development'],
    schedule: { planned, duration: 30 },
    implementationPlan: 'deploy',
    rollbackPlan: 'roll back',
    testingPlan: 'unit tests',
    releaseId,
  };
}
