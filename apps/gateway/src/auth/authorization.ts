import { ForbiddenException } from '@nestjs/common';
import { getEnvironmentPolicy, type PolicySet, type Role } from '@gatehouse/policy';
import type { Principal } from './jwt.js';

/**
 * Who may ask for what, beyond the environment policies' `access` lists (the seeds name deploy
 * rights per environment, not who authors releases or change requests):
 * - releases and change requests: the roles that build and operate software;
 * - reviews: code reviewers and tech leads;
 * - approvals and rejections: the role being granted, held by the caller;
 * - deployment operations (promote, abort, rollback) and metric samples: `access.deploy` of the environment;
 * - CI ingestion: a CI token carries `release_engineer` (or `developer` for development-only pipelines).
 */
export const RELEASE_AUTHOR_ROLES: readonly Role[] = ['developer', 'tech_lead', 'release_engineer', 'sre'];
export const CHANGE_AUTHOR_ROLES: readonly Role[] = ['developer', 'tech_lead', 'release_engineer', 'sre', 'dba', 'qa', 'security'];
export const REVIEWER_ROLES: readonly Role[] = ['code_reviewer', 'tech_lead'];
export const INGEST_ROLES: readonly Role[] = ['release_engineer', 'developer'];
/** Who may accept a failed `warn` testing gate (with a recorded reason) so a deployment may start. */
export const GATE_OVERRIDE_ROLES: readonly Role[] = ['tech_lead', 'release_engineer'];

/** 403 naming the roles that would have been enough, unless the caller holds one of them. */
export function requireAnyRole(principal: Principal, allowed: readonly Role[], action: string): void {
  if (principal.roles.some((role) => allowed.includes(role))) return;
  throw new ForbiddenException({
    error: 'Forbidden',
    message: `${action} needs one of the roles ${allowed.join(', ')}; ${principal.sub} has ${principal.roles.join(', ')}`,
  });
}

/** Deploy-side actions on an environment need a role of its policy's `access.deploy`. */
export function requireDeployAccess(principal: Principal, policies: PolicySet, environment: string, action: string): void {
  const { access } = getEnvironmentPolicy(policies, environment);
  requireAnyRole(principal, access.deploy, `${action} in ${environment}`);
}
