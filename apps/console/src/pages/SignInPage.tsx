import { type FormEvent, useEffect, useState } from 'react';
import { type Session, SIGN_IN_METHODS, signInWithToken } from '../session.js';
import { Problem } from '../components/Status.js';

export function SignInPage({ onSignedIn, initialError }: { onSignedIn(session: Session): void; initialError: string | undefined }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(initialError);
  useEffect(() => setError(initialError), [initialError]);
  const [busy, setBusy] = useState(false);
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
        {SIGN_IN_METHODS.map((m) => m.label).join(' or ')}. Mint a development token with <code>gatehouse token --sub &lt;you&gt; --roles &lt;roles&gt;</code>, or run{' '}
        <code>gatehouse login</code>. The token stays in this tab only (session storage); what the console shows follows its roles.
      </p>
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
