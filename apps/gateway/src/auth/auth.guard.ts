import { type CanActivate, createParamDecorator, type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InvalidTokenError, type Principal, verifyAccessToken } from './jwt.js';

/** Injection token of the gateway's JWT verification settings. */
export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');
export interface AuthOptions {
  /** HS256 secret shared with whoever mints tokens (`gatehouse token --secret`). */
  jwtSecret: string;
}

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };
const BEARER = /^Bearer\s+(\S+)$/i;

/** 401 unless the request carries a valid Gatehouse bearer token; the caller becomes `@CurrentPrincipal()`. */
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
      request.principal = await verifyAccessToken(match[1], this.options.jwtSecret);
      return true;
    } catch (error) {
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
