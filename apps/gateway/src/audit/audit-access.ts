import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { Role } from '@gatehouse/policy';
import type { FastifyRequest } from 'fastify';
import { requireAnyRole } from '../auth/authorization.js';
import type { Principal } from '../auth/jwt.js';

/**
 * Who may read the audit log: it exposes every event (who approved what, what each change
 * contains), so only the roles that audit or run releases. Policies stay public.
 */
export const AUDIT_READER_ROLES: readonly Role[] = ['auditor', 'security', 'sre', 'release_engineer', 'tech_lead', 'vp_engineering'];

/**
 * 403 unless the caller holds an audit-reader role. Runs after {@link AuthGuard} (which answers 401
 * and sets the principal) and before validation, so an unauthorised caller learns nothing from a 400.
 */
@Injectable()
export class AuditReaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>().principal;
    if (principal === undefined) throw new Error('AuditReaderGuard must run after AuthGuard');
    requireAnyRole(principal, AUDIT_READER_ROLES, 'reading the audit log');
    return true;
  }
}
