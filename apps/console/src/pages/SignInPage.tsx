import { type FormEvent, useEffect, useState } from 'react';
import { type Session, SIGN_IN_METHODS, signInWithToken } from '../session.js';
import { type ProviderSignIn, providerSignIn, startProviderSignIn } from '../oidc.js';
import { Problem } from '../components/Status.js';

export function SignInPage({ onSignedIn, initialError }: { onSignedIn(session: Session): void; initialError: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(initialError);
  useEffect(() => setError(initialError), [initialError]);
  const [busy, setBusy] = useState(false);
  // How this gateway accepts tokens (GET /api/auth/config): its own development tokens, an identity provider's, or both.
  const [config, setConfig] = useState<{ gatehouseTokens: boolean; oidc: { issuer: string; audience: string } | null }>();
  useEffect(() => {
    fetch('/api/auth/config')
      .then((r) => (r.ok ? r.json() : undefined))
      .then(setConfig, () => undefined);
  }, []);
  // The identity provider to sign in with by redirect (authorization code + PKCE), when the gateway names one.
  const [provider, setProvider] = useState<ProviderSignIn | null>(null);
  useEffect(() => {
    void providerSignIn().then(setProvider);
  }, []);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signInWithToken(token));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="signin">
      <h1>Sign in to Gatehouse</h1>
      <p>
        {SIGN_IN_METHODS.map((m) => m.label).join(' or ')}. The token stays in this tab only (session storage); what the console shows follows its roles.
      </p>
      {config === undefined || config.gatehouseTokens ? (
        <p>
          Mint a development token with <code>gatehouse token --sub &lt;you&gt; --roles &lt;roles&gt;</code>, or run <code>gatehouse login</code>.
        </p>
      ) : null}
      {provider !== null ? (
        <p>
          <button type="button" data-testid="oidc-sign-in" onClick={() => void startProviderSignIn(provider).catch((e: Error) => setError(e.message))}>
            Sign in with {new URL(provider.issuer).host}
          </button>
        </p>
      ) : config?.oidc ? (
        <p data-testid="oidc-hint">
          This gateway accepts access tokens from {config.oidc.issuer} for {config.oidc.audience}: paste one issued to you (for example by <code>gatehouse login --device</code>).
        </p>
      ) : null}
      <form onSubmit={submit}>
        <label htmlFor="token">Access token</label>
        <textarea id="token" name="token" rows={4} value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" spellCheck={false} required />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <Problem message={error} />
    </section>
  );
}
