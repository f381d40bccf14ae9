import type { ComponentType } from 'preact';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { loadSession, SessionContext, storeSession, type Session } from './session.js';
import { Shell } from './components/shell.js';
import { SignIn } from './pages/sign-in.js';
import { Jobs } from './pages/jobs.js';
import { JobPage } from './pages/job.js';
import { Run, RunApp, RunModel } from './pages/run.js';
import { AccountPage } from './pages/account.js';
import { Accounts } from './pages/operator/accounts.js';
import { AccountDetail } from './pages/operator/account-detail.js';
import { Workers } from './pages/operator/workers.js';
import { Queue } from './pages/operator/queue.js';
import { Audit } from './pages/operator/audit.js';
import { NotFound } from './pages/not-found.js';

/** Where each kind of session lands after signing in. */
export const HOME = { user: '/jobs', operator: '/operator/accounts' } as const;

/** Sends a visitor without the right session to sign in (or home), and shows the page otherwise. */
function guard(role: Session['role'], Page: ComponentType<Record<string, unknown>>) {
  return function Guarded(props: Record<string, unknown>) {
    const { route, url } = useLocation();
    const session = loadSession();
    const allowed = session?.role === role;
    useEffect(() => {
      if (!allowed) route(session ? HOME[session.role] : `/sign-in?next=${encodeURIComponent(url)}`, true);
    }, [allowed]);
    return allowed ? <Page {...props} /> : null;
  };
}

function Home() {
  const { route } = useLocation();
  useEffect(() => {
    const s = loadSession();
    route(s ? HOME[s.role] : '/sign-in', true);
  }, []);
  return null;
}

const pages = {
  jobs: guard('user', Jobs),
  job: guard('user', JobPage as ComponentType<Record<string, unknown>>),
  run: guard('user', Run),
  runModel: guard('user', RunModel as ComponentType<Record<string, unknown>>),
  runApp: guard('user', RunApp as ComponentType<Record<string, unknown>>),
  account: guard('user', AccountPage),
  accounts: guard('operator', Accounts),
  accountDetail: guard('operator', AccountDetail as ComponentType<Record<string, unknown>>),
  workers: guard('operator', Workers),
  queue: guard('operator', Queue),
  audit: guard('operator', Audit),
};

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const signIn = useCallback((s: Session) => {
    storeSession(s);
    setSession(s);
  }, []);
  const signOut = useCallback(() => {
    storeSession(null);
    setSession(null);
  }, []);
  const value = useMemo(() => ({ session, signIn, signOut }), [session]);
  return (
    <SessionContext.Provider value={value}>
      <LocationProvider>
        <Shell>
          <Router>
            <Route path="/" component={Home} />
            <Route path="/sign-in" component={SignIn} />
            <Route path="/jobs" component={pages.jobs} />
            <Route path="/jobs/:id" component={pages.job} />
            <Route path="/run" component={pages.run} />
            <Route path="/run/model/:owner/:name" component={pages.runModel} />
            <Route path="/run/app/:id" component={pages.runApp} />
            <Route path="/account" component={pages.account} />
            <Route path="/operator/accounts" component={pages.accounts} />
            <Route path="/operator/accounts/:id" component={pages.accountDetail} />
            <Route path="/operator/workers" component={pages.workers} />
            <Route path="/operator/queue" component={pages.queue} />
            <Route path="/operator/audit" component={pages.audit} />
            <Route default component={NotFound} />
          </Router>
        </Shell>
      </LocationProvider>
    </SessionContext.Provider>
  );
}
