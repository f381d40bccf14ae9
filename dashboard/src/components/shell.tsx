import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { useSession } from '../session.js';

const USER_LINKS = [['/jobs', 'Jobs'], ['/run', 'Run'], ['/account', 'Account']] as const;
const OPERATOR_LINKS = [['/operator/accounts', 'Accounts'], ['/operator/workers', 'Workers'], ['/operator/queue', 'Queue'], ['/operator/audit', 'Audit log']] as const;

/** The frame of every page: a skip link, the brand, the navigation of the session's role, sign-out. */
export function Shell({ children }: { children: ComponentChildren }) {
  const { session, signOut } = useSession();
  const { path, route } = useLocation();
  const links = session?.role === 'user' ? USER_LINKS : session?.role === 'operator' ? OPERATOR_LINKS : [];
  const current = (href: string) => path === href || path.startsWith(`${href}/`);
  // After a move to another page, focus goes to its content, so keyboard and screen-reader users
  // start there (the link they followed may be gone). Not on the first page load.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: false });
  }, [path]);
  return (
    <>
      <a class="skip-link" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/">genjobs</a>
        {session && (
          <nav aria-label={session.role === 'user' ? 'Dashboard' : 'Operator'}>
            <ul>
              {links.map(([href, label]) => (
                <li key={href}><a href={href} aria-current={current(href) ? 'page' : undefined}>{label}</a></li>
              ))}
            </ul>
          </nav>
        )}
        {session && (
          <div class="who">
            <span class="role">{session.role === 'user' ? 'Signed in with an API key' : 'Operator'}</span>
            <button type="button" class="secondary" onClick={() => { signOut(); route('/sign-in'); }}>Sign out</button>
          </div>
        )}
      </header>
      <main id="main" tabIndex={-1}>{children}</main>
    </>
  );
}
