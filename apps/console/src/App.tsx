import { useEffect, useState } from 'react';
import { Link } from './components/Link.js';
import { usePath } from './router.js';
import { AUDIT_READER_ROLES, holdsAny, SESSION_ENDED, type Session, signInWithToken, signOut, storedSession, tokenFromFragment } from './session.js';
import { SignInPage } from './pages/SignInPage.js';
import { CALLBACK_PATH, finishProviderSignIn } from './oidc.js';
import { EnvironmentsPage } from './pages/EnvironmentsPage.js';
import { CalendarPage } from './pages/CalendarPage.js';
import { ChangePage } from './pages/ChangePage.js';
import { ChangesPage } from './pages/ChangesPage.js';
import { ApprovalsPage } from './pages/ApprovalsPage.js';
import { AuditPage } from './pages/AuditPage.js';
import { StatusPage } from './pages/StatusPage.js';

interface NavItem {
  path: string;
  label: string;
  /** Shown only to holders of one of these roles; undefined: to everyone signed in. */
  roles?: readonly string[];
}

const NAV: readonly NavItem[] = [
  { path: '/environments', label: 'Environments' },
  { path: '/calendar', label: 'Release calendar' },
  { path: '/changes', label: 'Changes' },
  { path: '/approvals', label: 'Approval queue' },
  { path: '/audit', label: 'Audit', roles: AUDIT_READER_ROLES },
  { path: '/status', label: 'Status' },
];

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null>(() => storedSession());
  const [handoverError, setHandoverError] = useState<string>();

  useEffect(() => {
    const ended = (): void => {
      setSession(null);
      setHandoverError('Your session ended (the token expired or is no longer accepted): sign in again.');
    };
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, []);

  // A token handed over in the URL fragment (gatehouse login) signs in once; so does the identity
  // provider's answer on /auth/callback (authorization code + PKCE).
  useEffect(() => {
    const token = tokenFromFragment();
    if (token !== null) signInWithToken(token).then(setSession, (error: Error) => setHandoverError(error.message));
    else if (window.location.pathname === CALLBACK_PATH) finishProviderSignIn().then(signInWithToken).then(setSession, (error: Error) => setHandoverError(error.message));
  }, []);

  // The public status page needs no sign-in.
  if (path === '/status') {
    return (
      <Shell session={session} path={path} onSignOut={() => setSession(null)}>
        <StatusPage />
      </Shell>
    );
  }
  if (session === null) {
    return (
      <Shell session={null} path={path} onSignOut={() => undefined}>
        <SignInPage onSignedIn={setSession} initialError={handoverError} />
      </Shell>
    );
  }
  return (
    <Shell session={session} path={path} onSignOut={() => setSession(null)}>
      <Page path={path} session={session} />
    </Shell>
  );
}

function Page({ path, session }: { path: string; session: Session }) {
  const change = /^\/changes\/([^/]+)$/.exec(path);
  if (change?.[1] !== undefined) return <ChangePage session={session} changeRequestId={decodeURIComponent(change[1])} />;
  switch (path) {
    case '/':
    case '/environments':
      return <EnvironmentsPage session={session} />;
    case '/calendar':
      return <CalendarPage session={session} />;
    case '/changes':
      return <ChangesPage session={session} />;
    case '/approvals':
      return <ApprovalsPage session={session} />;
    case '/audit':
      return holdsAny(session, AUDIT_READER_ROLES) ? <AuditPage session={session} /> : <NotAllowed what="The audit log" roles={AUDIT_READER_ROLES} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            The console has no page at {path}. <Link to="/environments">Go to Environments</Link>
          </p>
        </section>
      );
  }
}

function NotAllowed({ what, roles }: { what: string; roles: readonly string[] }) {
  return (
    <section>
      <h1>Not available to your roles</h1>
      <p>
        {what} needs one of the roles {roles.join(', ')}.
      </p>
    </section>
  );
}

function Shell({ session, path, onSignOut, children }: { session: Session | null; path: string; onSignOut(): void; children: React.ReactNode }) {
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Gatehouse</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => (session === null ? item.path === '/status' : item.roles === undefined || holdsAny(session, item.roles))).map((item) => (
              <li key={item.path}>
                <Link to={item.path} current={path === item.path || (item.path === '/changes' && path.startsWith('/changes/'))}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {session !== null ? (
          <div className="who">
            <span>
              {session.name} <span className="roles">({session.roles.join(', ')})</span>
            </span>
            <button
              type="button"
              onClick={() => {
                signOut();
                onSignOut();
              }}
            >
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main">{children}</main>
    </>
  );
}
