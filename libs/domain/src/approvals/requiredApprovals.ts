import type { ApprovalMatrix, EmergencyPath, Role } from '@gatehouse/policy';
import { DomainError } from '../errors.js';
import type { ChangeKind } from '../change-request/changeRequest.js';

export type RequirementSource = 'matrix' | 'migration' | 'emergency' | 'window_bypass';

/** One role's approvals a change needs, and which policy rules asked for them. */
export interface RequiredApproval {
  role: Role;
  count: number;
  /** The approver must be the on-call person for the role. */
  onCall: boolean;
  sources: RequirementSource[];
}

export interface ApprovalContext {
  kind: ChangeKind;
  includesMigration: boolean;
  /** Emergency change that must deploy outside windows or during a blackout/freeze (policy evaluation). */
  emergencyOutsideWindows: boolean;
}

export class EmergencyPathNotAllowedError extends DomainError {
  override readonly name = 'EmergencyPathNotAllowedError';
  readonly code = 'EMERGENCY_PATH_NOT_ALLOWED' as const;
  constructor(readonly environment: string) {
    super(`${environment} has no emergency path; submit a normal change`);
  }
}

/**
 * The approvals a change needs:
 * - normal: the matrix; standard: nothing when the matrix pre-approves standard changes and names templates;
 * - emergency: the emergency path's expedited approvals *instead of* the matrix (the seeds'
 *   fast track "reduced approval requirements": Tech Lead + SRE on call);
 * - plus the migration approval when the change includes a migration;
 * - plus the window-bypass role (VP Engineering) when an emergency deploys outside windows.
 * Requirements for the same role merge: highest count, on-call if any source asks for it.
 */
export function computeRequiredApprovals(environment: string, matrix: ApprovalMatrix, emergency: EmergencyPath, context: ApprovalContext): RequiredApproval[] {
  const wanted: Array<{ role: Role; count: number; onCall: boolean; source: RequirementSource }> = [];
  if (context.kind === 'emergency') {
    if (!emergency.allowed) throw new EmergencyPathNotAllowedError(environment);
    wanted.push(...emergency.approvals.map((r) => ({ ...r, source: 'emergency' as const })));
  } else if (!(context.kind === 'standard' && matrix.standardChangesPreApproved && matrix.standardChangeTemplates.length > 0)) {
    wanted.push(...matrix.required.map((r) => ({ ...r, source: 'matrix' as const })));
  }
  if (context.includesMigration && matrix.migrationApproval !== undefined) wanted.push({ ...matrix.migrationApproval, source: 'migration' });
  if (context.kind === 'emergency' && context.emergencyOutsideWindows && emergency.windowBypassRole !== undefined) {
    wanted.push({ role: emergency.windowBypassRole, count: 1, onCall: false, source: 'window_bypass' });
  }
  const byRole = new Map<Role, RequiredApproval>();
  for (const w of wanted) {
    const existing = byRole.get(w.role);
    byRole.set(
      w.role,
      existing === undefined
        ? { role: w.role, count: w.count, onCall: w.onCall, sources: [w.source] }
        : { role: w.role, count: Math.max(existing.count, w.count), onCall: existing.onCall || w.onCall, sources: [...new Set([...existing.sources, w.source])] },
    );
  }
  return [...byRole.values()];
}
