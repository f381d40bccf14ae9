import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNote, Loading, Time } from '../../components/common.js';
import { useLoad, useTitle } from '../../hooks.js';
import { useAdminApi } from '../../session.js';
import type { AuditFilter } from '../../api/admin.js';
import type { AuditEntry } from '../../api/types.js';

/** The actions the audit log records (docs/api.md, "Audit log"). */
const ACTIONS = [
  'user.create', 'user.update', 'user.credits.grant', 'user.credits.deduct', 'api_key.create', 'api_key.revoke',
  'app.create', 'app.replace', 'app.update', 'worker.register', 'worker.revoke',
] as const;

/** Where a change's target is shown: its account's page, or the workers page. */
const targetHref = (e: AuditEntry): string | null => {
  if (e.user_id) return `/operator/accounts/${e.user_id}`;
  if (e.target_type === 'worker') return '/operator/workers';
  return null;
};

/** The audit log: every change made with the admin token or the operator CLI, newest first. */
export function Audit() {
  useTitle('Audit log');
  const api = useAdminApi();
  // An account's page links here with ?user_id=: its changes, and those of its keys and apps.
  const { query } = useLocation();
  const [filter, setFilter] = useState<AuditFilter>(query.user_id ? { user_id: query.user_id } : {});
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors[cursors.length - 1];
  const page = useLoad(() => api.audit({ ...filter, ...(after ? { starting_after: after } : {}) }), [api, filter, after]);
  const entries = page.data?.data ?? [];
  const last = entries[entries.length - 1];
  const setField = (key: keyof AuditFilter) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement | HTMLSelectElement).value.trim();
    setCursors([]);
    setFilter((f) => ({ ...f, [key]: value || undefined }));
  };
  return (
    <>
      <div class="page-head">
        <h1>Audit log</h1>
        <button type="button" class="secondary" onClick={page.reload}>Refresh</button>
      </div>
      <form class="filters" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="audit-action">Action</label>
          <select id="audit-action" value={filter.action ?? ''} onChange={setField('action')}>
            <option value="">Any action</option>
            {ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="audit-target">Target id</label>
          <input id="audit-target" value={filter.target_id ?? ''} onChange={setField('target_id')} maxLength={200} spellcheck={false} />
        </div>
        <div class="field">
          <label for="audit-user">Account id</label>
          <input id="audit-user" value={filter.user_id ?? ''} onChange={setField('user_id')} maxLength={200} spellcheck={false} />
        </div>
      </form>
      <ErrorNote error={page.error} />
      {page.loading && !page.data && <Loading what="the audit log" />}
      {page.data && entries.length === 0 && <p class="muted">No changes recorded{filter.action || filter.target_id || filter.user_id ? ' that match' : ' yet'}.</p>}
      {entries.length > 0 && (
        <table class="table responsive audit" data-testid="audit">
          <caption class="visually-hidden">Changes, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Who</th><th scope="col">Request</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {entries.map((e) => {
              const href = targetHref(e);
              return (
                <tr key={e.id}>
                  <td data-label="When"><Time iso={e.at} /></td>
                  <th scope="row" data-label="Action"><code>{e.action}</code></th>
                  <td data-label="Target"><span>{e.target_type} {href ? <a href={href}><code>{e.target_id}</code></a> : <code>{e.target_id}</code>}</span></td>
                  <td data-label="Who"><span>{e.actor}{e.client_address ? <span class="muted"> from {e.client_address}</span> : null}</span></td>
                  <td data-label="Request">{e.request_id ? <code>{e.request_id}</code> : '—'}</td>
                  <td data-label="Details"><code>{JSON.stringify(e.details)}</code></td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages of the audit log">
        <button type="button" class="secondary" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <button type="button" class="secondary" disabled={!page.data?.has_more || !last} onClick={() => last && setCursors((c) => [...c, last.id])}>Older</button>
      </nav>
    </>
  );
}
