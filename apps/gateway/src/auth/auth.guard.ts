import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidTokenError, type Principal } from './jwt.js';
import { IdentityProviderUnavailableError, type OidcVerifier } from './oidc.js';
import type { TokenVerifier } from './token-verifier.js';

/** Injection token of the gateway's JWT verification settings. */
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
export interface AuthOptions {
  /** HS256 tokens minted with the gateway's secret and, when configured, the identity provider's tokens. */
  verify: TokenVerifier;
  /** Whether HS256 tokens minted with the gateway's own secret are accepted (published by GET /api/auth/config). */
  gatehouseTokens: boolean;
  /** The identity provider, when GATEHOUSE_OIDC_ISSUER is set. */
  oidc?: OidcVerifier;
  /**
   * Claim of a CI token naming the person whose push asked for a deployment (GATEHOUSE_CI_INITIATOR_CLAIM).
   * @defaultValue {@link DEFAULT_CI_INITIATOR_CLAIM} (`actor`, as GitHub Actions' OIDC tokens name it)
   */
  ciInitiatorClaim?: string;
}

/** GitHub Actions' OIDC token names the person who triggered the run `actor`. */
export const DEFAULT_CI_INITIATOR_CLAIM = 'actor';

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };
const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * 401 unless the request carries a valid bearer token (Gatehouse HS256 or the identity provider's); 503
 * when the identity provider cannot be reached to check it. The caller becomes `@CurrentPrincipal()`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(@Inject(AUTH_OPTIONS) private readonly options: AuthOptions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    try {
      if (header === undefined) throw new InvalidTokenError('missing bearer token: send "Authorization: Bearer <jwt>" (mint one with gatehouse token)');
      const match = BEARER.exec(header);
      if (!match?.[1]) throw new InvalidTokenError('Authorization header must be "Bearer <jwt>"');
      request.principal = await this.options.verify(match[1]);
      return true;
    } catch (error) {
      if (error instanceof IdentityProviderUnavailableError) throw new ServiceUnavailableException({ error: 'Service Unavailable', message: error.message });
      if (!(error instanceof InvalidTokenError)) throw error;
      void http.getResponse<FastifyReply>().header('www-authenticate', `Bearer error="invalid_token", error_description="${error.reason.replace(/"/g, "'")}"`);
      throw new UnauthorizedException({ error: 'Unauthorized', message: error.reason });
    }
  }
}

/** The verified caller; only on routes behind {@link AuthGuard}. */
export const CurrentPrincipal = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (principal === undefined) throw new Error('CurrentPrincipal used on a route without AuthGuard');
  return principal;
});
