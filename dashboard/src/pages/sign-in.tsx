import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { AdminApi } from '../api/admin.js';
import { ApiError } from '../api/http.js';
import { UserApi } from '../api/user.js';
import { useTitle } from '../hooks.js';
import { useSession, type Session } from '../session.js';
import { HOME } from '../app.js';

/** Why a credential was not accepted, in words that say what to do. */
function refusal(err: unknown, what: 'key' | 'token'): string {
  if (!(err instanceof ApiError)) return 'Signing in failed. Try again.';
  if (err.status === 401) {
    return what === 'key'
      ? `That API key was not accepted (${err.message}). Check that you copied the whole key, starting with sk_live_, and that it has not been revoked.`
      : `That admin token was not accepted (${err.message}). It is the value of GENJOBS_ADMIN_TOKEN on the server.`;
  }
  return err.message;
}

function CredentialForm({ id, title, label, hint, verify }: {
  id: string; title: string; label: string; hint: string; verify: (secret: string) => Promise<Session>;
}) {
  const { signIn } = useSession();
  const { route, query } = useLocation();
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await verify(secret.trim());
      signIn(session);
      const next = query.next && query.next.startsWith('/') && !query.next.startsWith('//') ? query.next : HOME[session.role];
      route(next);
    } catch (err) {
      setError(refusal(err, session(id)));
      document.getElementById(`${id}-secret`)?.focus();
    } finally {
      setBusy(false);
    }
  };
  const errorId = `${id}-error`;
  return (
    <form class="card" aria-labelledby={`${id}-title`} onSubmit={onSubmit} noValidate>
      <h2 id={`${id}-title`}>{title}</h2>
      <div class="field">
        <label for={`${id}-secret`}>{label}</label>
        <input id={`${id}-secret`} type="password" autoComplete="off" spellcheck={false} required value={secret}
          aria-invalid={error ? true : undefined} aria-describedby={`${id}-hint${error ? ` ${errorId}` : ''}`}
          onInput={(e) => setSecret((e.currentTarget as HTMLInputElement).value)} />
        <p class="hint" id={`${id}-hint`}>{hint}</p>
        {error && <p class="field-error" id={errorId} role="alert">{error}</p>}
      </div>
      <button type="submit" disabled={busy || secret.trim() === ''}>{busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  );
}

const session = (formId: string): 'key' | 'token' => (formId === 'user' ? 'key' : 'token');

export function SignIn() {
  useTitle('Sign in');
  return (
    <>
      <h1>Sign in</h1>
      <p>Your key stays in this browser tab only, and is forgotten when you sign out or close the tab.</p>
      <div class="grid-2">
        <CredentialForm id="user" title="With an API key" label="API key" hint="The key you were given, sk_live_…"
          verify={async (key) => {
            await new UserApi(key).account();
            return { role: 'user', key };
          }} />
        <CredentialForm id="operator" title="As the operator" label="Admin token" hint="The server's GENJOBS_ADMIN_TOKEN"
          verify={async (token) => {
            await new AdminApi(token).queue();
            return { role: 'operator', token };
          }} />
      </div>
    </>
  );
}
