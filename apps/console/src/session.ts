/**
 * Who is signed in. A session is an access token kept in sessionStorage (gone when the tab closes)
 * plus what the gateway said about it (GET /api/session): the subject and roles the UI follows.
 *
 * Sign-in methods are pluggable: today a pasted token (or one handed over in the URL fragment by
 * `gatehouse login`, which never reaches a server log); an OpenID Connect authorization-code + PKCE
 * redirect plugs in as another {@link SignInMethod} whose `start()` redirects to the provider and
 * whose callback ends in {@link signInWithToken} with the token it obtained.
 */
export interface Session {
  token: string;
  subject: string;
  name: string;
  roles: string[];
  expiresAt: string | null;
}

export interface SignInMethod {
  id: string;
  label: string;
}

/** The methods the sign-in page offers; the OIDC one joins this list when the gateway announces a provider. */
export const SIGN_IN_METHODS: readonly SignInMethod[] = [{ id: 'token', label: 'Paste an access token' }, { id: 'oidc', label: 'sign in with the identity provider (when the gateway names one)' }];

const STORAGE_KEY = 'gatehouse.session';

export function storedSession(): Session | null {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (raw === null) return null;
  try {
    const session = JSON.parse(raw) as Session;
    if (session.expiresAt !== null && Date.parse(session.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(STORAGE_KEY);
      return null;
    }
    return session;
  } catch {
    sessionStorage.removeItem(STORAGE_KEY);
    return null;
  }
}

export class SignInError extends Error {
  override readonly name = 'SignInError';
}

/** Asks the gateway who the token is (it verifies it); keeps it only when the gateway accepts it. */
export async function signInWithToken(token: string): Promise<Session> {
  const trimmed = token.trim().replace(/^Bearer\s+/i, '');
  if (trimmed === '') throw new SignInError('Paste a token first');
  const response = await fetch('/api/session', { headers: { authorization: `Bearer ${trimmed}`, accept: 'application/json' } });
  const body = (await response.json().catch(() => ({}))) as { subject?: string; name?: string; roles?: string[]; expiresAt?: string | null; message?: string };
  if (!response.ok) throw new SignInError(body.message ?? `the gateway refused the token (${response.status})`);
  const session: Session = { token: trimmed, subject: body.subject ?? '', name: body.name ?? body.subject ?? '', roles: body.roles ?? [], expiresAt: body.expiresAt ?? null };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  return session;
}

/** `#token=<jwt>` (what `gatehouse login` opens): taken once, then removed from the address bar. */
export function tokenFromFragment(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match?.[1] === undefined) return null;
  history.replaceState(null, '', window.location.pathname + window.location.search);
  return decodeURIComponent(match[1]);
}

export function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Roles that may submit change requests (the gateway's CHANGE_AUTHOR_ROLES). */
export const CHANGE_AUTHOR_ROLES = ['developer', 'tech_lead', 'release_engineer', 'sre', 'dba', 'qa', 'security'];

/** Fired when the gateway stops accepting the session's token (expired, secret rotated): the console asks to sign in again. */
export const SESSION_ENDED = 'gatehouse:session-ended';

export function endSession(): void {
  signOut();
  window.dispatchEvent(new Event(SESSION_ENDED));
}

/** Roles that may read the audit log and change stories (the gateway's AUDIT_READER_ROLES). */
export const AUDIT_READER_ROLES = ['auditor', 'security', 'sre', 'release_engineer', 'tech_lead', 'vp_engineering'];

export function holdsAny(session: Session | null, roles: readonly string[]): boolean {
  return session !== null && session.roles.some((role) => roles.includes(role));
}
