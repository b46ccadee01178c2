import type { ApprovalMatrix, EmergencyPath } from '@gatehouse/policy';

/** The seeds' production approval matrix and emergency path, inline (no YAML in domain tests). */
export const productionMatrix: ApprovalMatrix = {
  required: [
    { role: 'code_reviewer', count: 1, onCall: false },
    { role: 'tech_lead', count: 1, onCall: false },
    { role: 'sre', count: 1, onCall: false },
  ],
  separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true },
  migrationApproval: { role: 'dba', count: 1, onCall: false },
  standardChangesPreApproved: true,
  standardChangeTemplates: [],
};

export const productionEmergency: EmergencyPath = {
  allowed: true,
  approvals: [
    { role: 'tech_lead', count: 1, onCall: false },
    { role: 'sre', count: 1, onCall: true },
  ],
  windowBypassRole: 'vp_engineering',
  stagingValidationMaxMinutes: 30,
  postIncidentReviewWithinHours: 24,
  slaMinutes: 120,
  enhancedMonitoring: true,
  branchFromProductionTag: true,
};

export const stagingMatrix: ApprovalMatrix = {
  required: [
    { role: 'code_reviewer', count: 1, onCall: false },
    { role: 'tech_lead', count: 1, onCall: false },
  ],
  separationOfDuties: { authorCannotApprove: true, distinctApproverPerRole: true },
  standardChangesPreApproved: true,
  standardChangeTemplates: [{ id: 'certificate-rotation', name: 'Certificate rotation', description: 'Same issuer and names' }],
};
