/**
 * Does this change carry a database migration? Every source counts: the change's own flag, a
 * `migration` change listed in its release, and each migration CI reported for the release
 * (`gatehouse.migration.included`). Any one of them makes the migration approval required.
 */
export interface MigrationFacts {
  /** The change request's `includesMigration`. */
  readonly changeFlag: boolean;
  /** The release's listed changes (`changes: [{ kind, description }]`). */
  readonly releaseChanges: readonly { readonly kind: string; readonly description: string }[];
  /** Migrations CI reported for the release. */
  readonly recordedMigrations: readonly { readonly migrationId: string }[];
}

/** Each source that says the change carries a migration, in words an approver reads; empty when none does. */
export function migrationSources(facts: MigrationFacts): string[] {
  return [
    ...(facts.changeFlag ? ['the change request sets includesMigration'] : []),
    ...facts.releaseChanges.filter((c) => c.kind === 'migration').map((c) => `the release lists a migration change: ${c.description}`),
    ...facts.recordedMigrations.map((m) => `CI reported migration ${m.migrationId} for the release`),
  ];
}

export const carriesMigration = (facts: MigrationFacts): boolean => migrationSources(facts).length > 0;
