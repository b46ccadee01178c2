/**
 * Sign-in through the company's identity provider: OAuth 2.0 authorization code with PKCE (RFC 7636)
 * for a public client, as browser apps must do it. The gateway publishes the provider
 * (`GET /api/auth/config`); the console redirects there with a one-time S256 code challenge and
 * state, and on return to `/auth/callback` exchanges the code for an access token at the provider's
 * token endpoint, then hands the token to {@link signInWithToken} like any other.
 */
import { SignInError } from './session.js';

export interface ProviderSignIn {
  issuer: string;
  clientId: string;
  audience: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

const PENDING_KEY = 'gatehouse.oidc.pending';
export const CALLBACK_PATH = '/auth/callback';

/** The provider to offer on the sign-in page, or null when the gateway names none (or it cannot be reached). */
export async function providerSignIn(): Promise<ProviderSignIn | null> {
  try {
    const response = await fetch('/api/auth/config', { headers: { accept: 'application/json' } });
    if (!response.ok) return null;
    const { oidc } = (await response.json()) as { oidc: { issuer: string; audience: string; clientId: string | null; authorizationEndpoint: string | null; tokenEndpoint: string | null; reachable: boolean } | null };
    if (oidc === null || !oidc.reachable || oidc.clientId === null || oidc.authorizationEndpoint === null || oidc.tokenEndpoint === null) return null;
    return { issuer: oidc.issuer, clientId: oidc.clientId, audience: oidc.audience, authorizationEndpoint: oidc.authorizationEndpoint, tokenEndpoint: oidc.tokenEndpoint };
  } catch {
    return null;
  }
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** Leaves for the provider: a fresh verifier and state are kept in this tab until the callback. */
export async function startProviderSignIn(provider: ProviderSignIn): Promise<void> {
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const redirectUri = `${window.location.origin}${CALLBACK_PATH}`;
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, redirectUri, provider }));
  const url = new URL(provider.authorizationEndpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: provider.clientId,
    redirect_uri: redirectUri,
    scope: 'openid profile',
    resource: provider.audience,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  window.location.assign(url.toString());
}

/** On `/auth/callback`: checks the state, exchanges the code (with the verifier) for the access token. */
export async function finishProviderSignIn(): Promise<string> {
  const params = new URLSearchParams(window.location.search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  // Leave the callback address (the code is single-use) and let the router see it.
  history.replaceState(null, '', '/');
  window.dispatchEvent(new PopStateEvent('popstate'));
  if (params.get('error') !== null) throw new SignInError(`the identity provider refused the sign-in: ${params.get('error_description') ?? params.get('error')}`);
  if (raw === null) throw new SignInError('no sign-in was started in this tab: start again');
  const pending = JSON.parse(raw) as { verifier: string; state: string; redirectUri: string; provider: ProviderSignIn };
  if (params.get('state') !== pending.state) throw new SignInError('the sign-in answer does not match the one this tab started (state): start again');
  const code = params.get('code');
  if (code === null) throw new SignInError('the identity provider sent no code');
  const response = await fetch(pending.provider.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: pending.redirectUri, client_id: pending.provider.clientId, code_verifier: pending.verifier, resource: pending.provider.audience }),
  });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!response.ok || body.access_token === undefined) throw new SignInError(`the identity provider did not issue a token: ${body.error_description ?? body.error ?? response.status}`);
  return body.access_token;
}
