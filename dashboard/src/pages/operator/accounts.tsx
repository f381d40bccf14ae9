import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ErrorNote, Loading, Section, Time } from '../../components/common.js';
import { checkedOf, numberOf, SimpleForm, valueOf } from '../../components/simple-form.js';
import { formatCredits } from '../../format.js';
import { useLoad, useTitle } from '../../hooks.js';
import { useAdminApi } from '../../session.js';

export function Accounts() {
  useTitle('Accounts');
  const api = useAdminApi();
  const { route } = useLocation();
  const [cursors, setCursors] = useState<string[]>([]);
  const after = cursors[cursors.length - 1];
  const users = useLoad(() => api.users(after), [api, after]);
  const list = users.data?.data ?? [];
  const last = list[list.length - 1];
  return (
    <>
      <h1>Accounts</h1>
      <SimpleForm id="new-account" title="Create an account" submitLabel="Create account"
        action={async (form) => {
          const credits = numberOf(form, 'credits');
          const name = valueOf(form, 'name');
          const user = await api.createUser({
            ...(name ? { name } : {}), ...(credits !== undefined ? { credits: credits as number } : {}), api_access: checkedOf(form, 'api_access'),
          });
          route(`/operator/accounts/${user.id}`);
        }}>
        <div class="field"><label for="account-name">Name</label><input id="account-name" name="name" maxLength={200} /></div>
        <div class="field"><label for="account-credits">Credits to start with</label><input id="account-credits" name="credits" type="number" min={0} step={1} inputMode="numeric" /></div>
        <div class="field field-check"><input id="account-access" name="api_access" type="checkbox" defaultChecked /><label for="account-access">API access</label></div>
      </SimpleForm>
      <Section title="All accounts">
        <ErrorNote error={users.error} />
        {users.loading && !users.data && <Loading what="accounts" />}
        {users.data && list.length === 0 && <p class="muted">No accounts yet.</p>}
        {list.length > 0 && (
          <table class="table responsive">
            <caption class="visually-hidden">Accounts, newest first</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Credits</th><th scope="col">API access</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {list.map((u) => (
                <tr key={u.id}>
                  <th scope="row" data-label="Name"><a href={`/operator/accounts/${u.id}`}>{u.name ?? <code>{u.id}</code>}</a></th>
                  <td data-label="Credits">{formatCredits(u.credits)}</td>
                  <td data-label="API access">{u.api_access ? 'enabled' : 'disabled'}</td>
                  <td data-label="Created"><Time iso={u.created_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav class="pager" aria-label="Pages of accounts">
          <button type="button" class="secondary" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
          <button type="button" class="secondary" disabled={!users.data?.has_more || !last} onClick={() => last && setCursors((c) => [...c, last.id])}>Older</button>
        </nav>
      </Section>
    </>
  );
}
