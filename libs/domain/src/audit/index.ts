export { type AuditEvent, happenedBy, inPeriod, type LogMoment, type LoggedEvent, type Period, toAuditEvent } from './auditEvent.js';
export { foldGovernanceHistory, type ChangeFact, type GovernanceHistory, type PolicyActivationFact } from './history.js';
export {
  checkSeparationOfDuties,
  complianceCsv,
  complianceMarkdown,
  complianceReport,
  csvField,
  type ComplianceReport,
  type EmergencyChangeLine,
  type PolicyChangeLine,
  type ProductionChangeLine,
  type RollbackLine,
} from './compliance.js';
export { doraMarkdown, doraMetrics, summarise, type DoraLine, type DoraReport, type DurationSummary } from './dora.js';
export { environmentStateAsOf, environmentStateMarkdown, type EnvironmentState } from './stateAsOf.js';
export { type Finding, rederivationMarkdown, rederiveDecisions, type RederivationReport, type RederivedDecision } from './rederive.js';
export { type WhatIfLine, whatIfPolicy, type WhatIfReport, whatIfTable, type WhatIfVerdict } from './whatIf.js';
