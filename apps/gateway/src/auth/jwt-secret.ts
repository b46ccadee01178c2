import type { GatewayConfig } from '../config.js';
import { INSECURE_DEV_JWT_SECRET } from './jwt.js';
import { OidcVerifier, parseRoleMap } from './oidc.js';
import { tokenVerifier, type TokenVerifier } from './token-verifier.js';

/**
 * The HS256 signing secret in force: the configured one; none when only the identity provider signs
 * tokens; else the insecure development secret (config validation already refused that in production).
 */
export function jwtSecretFor(config: Pick<GatewayConfig, 'GATEHOUSE_JWT_SECRET'> & Partial<Pick<GatewayConfig, 'GATEHOUSE_OIDC_ISSUER'>>): { secret: string | undefined; insecure: boolean } {
  if (config.GATEHOUSE_JWT_SECRET !== undefined) return { secret: config.GATEHOUSE_JWT_SECRET, insecure: false };
  if (config.GATEHOUSE_OIDC_ISSUER !== undefined) return { secret: undefined, insecure: false };
  return { secret: INSECURE_DEV_JWT_SECRET, insecure: true };
}

/** The identity provider's verifier when GATEHOUSE_OIDC_ISSUER is set. */
export function oidcVerifierFor(config: GatewayConfig): OidcVerifier | undefined {
  if (config.GATEHOUSE_OIDC_ISSUER === undefined || config.GATEHOUSE_OIDC_AUDIENCE === undefined) return undefined;
  return new OidcVerifier({
    issuer: config.GATEHOUSE_OIDC_ISSUER,
    audience: config.GATEHOUSE_OIDC_AUDIENCE,
    ...(config.GATEHOUSE_OIDC_CLIENT_ID === undefined ? {} : { clientId: config.GATEHOUSE_OIDC_CLIENT_ID }),
    rolesClaim: config.GATEHOUSE_OIDC_ROLES_CLAIM,
    roleMap: parseRoleMap(config.GATEHOUSE_OIDC_ROLE_MAP),
    algorithms: config.GATEHOUSE_OIDC_ALGORITHMS.split(','),
    jwksCooldownMs: config.GATEHOUSE_OIDC_JWKS_COOLDOWN_MS,
  });
}

/** Everything the gateway accepts as a bearer token, from its configuration. */
export function authFor(config: GatewayConfig): { verify: TokenVerifier; insecure: boolean; gatehouseTokens: boolean; oidc: OidcVerifier | undefined } {
  const { secret, insecure } = jwtSecretFor(config);
  const oidc = oidcVerifierFor(config);
  return { verify: tokenVerifier({ ...(secret === undefined ? {} : { hs256Secret: secret }), ...(oidc === undefined ? {} : { oidc }) }), insecure, gatehouseTokens: secret !== undefined, oidc };
}
