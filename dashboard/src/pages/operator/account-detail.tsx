import { useState } from 'preact/hooks';
import type { ApiKey } from '../../api/types.js';
import { ErrorNote, Loading, Section, SecretOnce, Time } from '../../components/common.js';
import { LedgerTable } from '../../components/ledger.js';
import { numberOf, SimpleForm, valueOf } from '../../components/simple-form.js';
import { formatCredits } from '../../format.js';
import { useLoad, useTitle } from '../../hooks.js';
import { useAdminApi } from '../../session.js';

export function AccountDetail({ id }: { id: string }) {
  const api = useAdminApi();
  const user = useLoad(() => api.user(id), [api, id]);
  const keys = useLoad(() => api.keys(id), [api, id]);
  const ledger = useLoad(() => api.ledger(id), [api, id]);
  const [newKey, setNewKey] = useState<ApiKey | null>(null);
  const [amountError, setAmountError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const u = user.data;
  useTitle(u ? `Account ${u.name ?? u.id}` : 'Account');

  const run = async (what: () => Promise<void>) => {
    setActionError(null);
    try {
      await what();
    } catch (err) {
      setActionError(err as Error);
    }
  };
  if (user.error && !u) return <><h1>Account</h1><ErrorNote error={user.error} /><p><a href="/operator/accounts">Back to the accounts</a></p></>;
  if (!u) return <Loading what="the account" />;
  return (
    <>
      <h1>Account {u.name ?? ''}</h1>
      <dl class="facts">
        <div><dt>Credits</dt><dd class="big" data-testid="credits">{formatCredits(u.credits)}</dd></div>
        <div><dt>API access</dt><dd>{u.api_access ? 'enabled' : 'disabled'}</dd></div>
        <div><dt>Account id</dt><dd><code class="break">{u.id}</code></dd></div>
        <div><dt>Created</dt><dd><Time iso={u.created_at} /></dd></div>
      </dl>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => run(async () => { const next = await api.setApiAccess(u.id, !u.api_access); user.set(() => next); })}>
          {u.api_access ? 'Disable API access' : 'Enable API access'}
        </button>
        <a class="button secondary" href={`/operator/audit?user_id=${encodeURIComponent(u.id)}`}>Audit log of this account</a>
      </div>
      <ErrorNote error={actionError} />
      <SimpleForm id="grant" title="Grant or remove credits" submitLabel="Apply"
        fieldError={(field, message) => {
          if (field !== 'amount') return false;
          setAmountError(message.slice('amount: '.length));
          return true;
        }}
        action={async (form) => {
          setAmountError(null);
          const amount = numberOf(form, 'amount');
          const reason = valueOf(form, 'reason');
          const r = await api.grantCredits(u.id, amount as number, reason || undefined);
          user.set((old) => (old ? { ...old, credits: r.credits } : old));
          ledger.reload();
        }}>
        <div class="field">
          <label for="grant-amount">Amount</label>
          <input id="grant-amount" name="amount" type="number" step={1} required aria-describedby={`grant-amount-hint${amountError ? ' grant-amount-error' : ''}`} aria-invalid={amountError ? true : undefined} />
          <p class="hint" id="grant-amount-hint">A negative amount removes credits; a balance never goes below zero.</p>
          {amountError && <p class="field-error" id="grant-amount-error">{amountError}</p>}
        </div>
        <div class="field"><label for="grant-reason">Reason</label><input id="grant-reason" name="reason" maxLength={200} /></div>
      </SimpleForm>
      <Section title="API keys">
        {newKey?.key && <SecretOnce label={`The new key ${newKey.name ? `"${newKey.name}" ` : ''}is:`} value={newKey.key} />}
        <ErrorNote error={keys.error} />
        {keys.data && keys.data.data.length === 0 && <p class="muted">No keys yet.</p>}
        {keys.data && keys.data.data.length > 0 && (
          <table class="table responsive">
            <thead><tr><th scope="col">Key</th><th scope="col">Name</th><th scope="col">Per minute</th><th scope="col">State</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td data-label="Key"><code>{k.key_prefix}…</code></td>
                  <td data-label="Name">{k.name ?? '—'}</td>
                  <td data-label="Per minute">{k.rate_limit_per_minute}</td>
                  <td data-label="State">{k.is_active ? 'active' : 'revoked'}</td>
                  <td data-label="Created"><Time iso={k.created_at} /></td>
                  <td data-label="Actions">
                    {k.is_active && <button type="button" class="danger" aria-label={`Revoke key ${k.key_prefix}`}
                      onClick={() => run(async () => { await api.revokeKey(u.id, k.id); keys.reload(); })}>Revoke</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <SimpleForm id="new-key" title="Create an API key" submitLabel="Create key"
        action={async (form) => {
          const name = valueOf(form, 'name');
          const rate = numberOf(form, 'rate');
          const key = await api.createKey(u.id, { ...(name ? { name } : {}), ...(rate !== undefined ? { rate_limit_per_minute: rate as number } : {}) });
          setNewKey(key);
          keys.reload();
        }}>
        <div class="field"><label for="key-name">Name</label><input id="key-name" name="name" maxLength={200} /></div>
        <div class="field">
          <label for="key-rate">Requests per minute</label>
          <input id="key-rate" name="rate" type="number" min={1} step={1} aria-describedby="key-rate-hint" />
          <p class="hint" id="key-rate-hint">Empty: the server's default (GENJOBS_DEFAULT_RATE_LIMIT). The dashboard's live pages use a few requests a minute.</p>
        </div>
      </SimpleForm>
      <Section title="Ledger">
        <ErrorNote error={ledger.error} />
        {ledger.data && <LedgerTable entries={ledger.data.data} linkJobs={false} />}
      </Section>
    </>
  );
}
