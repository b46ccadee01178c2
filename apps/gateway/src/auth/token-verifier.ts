import { decodeProtectedHeader } from 'jose';
import { InvalidTokenError, JWT_ALGORITHM, type Principal, verifyAccessToken } from './jwt.js';
import type { OidcVerifier } from './oidc.js';

/** Turns a bearer token into the verified caller, or throws InvalidTokenError (401) / IdentityProviderUnavailableError (503). */
export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * The gateway's two kinds of token: HS256 tokens minted with its own secret (`gatehouse token`:
 * CI and development), and the identity provider's RS256/ES256 tokens when OIDC is configured. The
 * token's header picks the path; each path checks its own algorithm list, so a token cannot be
 * moved from one to the other (an HS256 token signed with the provider's public key is refused).
 */
export function tokenVerifier({ hs256Secret, oidc }: { hs256Secret?: string; oidc?: OidcVerifier }): TokenVerifier {
  return async (token) => {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new InvalidTokenError('token is not a well-formed JWT');
    }
    if (alg === JWT_ALGORITHM) {
      if (hs256Secret === undefined) throw new InvalidTokenError('HS256 tokens are not accepted here: sign in with the identity provider (gatehouse login)');
      return verifyAccessToken(token, hs256Secret);
    }
    if (oidc === undefined) throw new InvalidTokenError(`token algorithm not allowed; only ${JWT_ALGORITHM} is accepted`);
    return oidc.verify(token);
  };
}
