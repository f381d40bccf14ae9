import { createContext } from 'preact';
import { useContext, useMemo } from 'preact/hooks';
import { AdminApi } from './api/admin.js';
import { UserApi } from './api/user.js';

/**
 * Who is signed in: a user with an API key, or the operator with the admin token. Kept in
 * sessionStorage, so it lasts as long as the browser tab and is forgotten on sign-out.
 */
export type Session = { role: 'user'; key: string } | { role: 'operator'; token: string };

const STORAGE_KEY = 'genjobs.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    const s = raw ? JSON.parse(raw) as Session : null;
    if (s?.role === 'user' && typeof s.key === 'string') return s;
    if (s?.role === 'operator' && typeof s.token === 'string') return s;
  } catch {
    // Storage unavailable or unreadable: nobody is signed in.
  }
  return null;
}

export function storeSession(s: Session | null): void {
  if (s) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export interface SessionState {
  session: Session | null;
  signIn(s: Session): void;
  signOut(): void;
}

export const SessionContext = createContext<SessionState>({ session: null, signIn() {}, signOut() {} });

export const useSession = () => useContext(SessionContext);

/** The public API with the signed-in user's key (pages that use it are shown only to users). */
export function useUserApi(): UserApi {
  const { session } = useSession();
  const key = session?.role === 'user' ? session.key : '';
  return useMemo(() => new UserApi(key), [key]);
}

export function useAdminApi(): AdminApi {
  const { session } = useSession();
  const token = session?.role === 'operator' ? session.token : '';
  return useMemo(() => new AdminApi(token), [token]);
}
