import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AUTH_OPTIONS, type AuthOptions } from './auth.guard.js';
import { IdentityProviderUnavailableError } from './oidc.js';

/** What a client needs to sign in: published without a token, like a provider's discovery document. */
export interface SignInConfiguration {
  /** Tokens minted by `gatehouse token` with the gateway's HS256 secret are accepted. */
  gatehouseTokens: boolean;
  /** The identity provider the console and the CLI sign in with; null when none is configured. */
  oidc: {
    issuer: string;
    audience: string;
    clientId: string | null;
    rolesClaim: string;
    authorizationEndpoint: string | null;
    tokenEndpoint: string | null;
    deviceAuthorizationEndpoint: string | null;
    /** Null when the provider's discovery document could not be read just now. */
    reachable: boolean;
  } | null;
}

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(@Inject(AUTH_OPTIONS) private readonly auth: AuthOptions) {}

  @Get('config')
  @ApiOperation({ summary: 'How to sign in: whether Gatehouse tokens are accepted and the identity provider (issuer, client id, endpoints for authorization code + PKCE and the device flow)' })
  async config(): Promise<SignInConfiguration> {
    const oidc = this.auth.oidc;
    if (oidc === undefined) return { gatehouseTokens: this.auth.gatehouseTokens, oidc: null };
    const { issuer, audience, clientId, rolesClaim } = oidc.settings;
    const base = { issuer, audience, clientId: clientId ?? null, rolesClaim };
    try {
      const metadata = await oidc.metadata();
      return {
        gatehouseTokens: this.auth.gatehouseTokens,
        oidc: {
          ...base,
          authorizationEndpoint: metadata.authorization_endpoint ?? null,
          tokenEndpoint: metadata.token_endpoint ?? null,
          deviceAuthorizationEndpoint: metadata.device_authorization_endpoint ?? null,
          reachable: true,
        },
      };
    } catch (error) {
      if (!(error instanceof IdentityProviderUnavailableError)) throw error;
      return { gatehouseTokens: this.auth.gatehouseTokens, oidc: { ...base, authorizationEndpoint: null, tokenEndpoint: null, deviceAuthorizationEndpoint: null, reachable: false } };
    }
  }
}
