export { migrationSources, carriesMigration, type MigrationFacts } from './migration.js';
export { decideSubmission, ReleaseRequiredError, type SubmissionFacts, type SubmissionDecision, type SubmissionReason } from './submission.js';
