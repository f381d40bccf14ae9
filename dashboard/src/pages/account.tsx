import { useState } from 'preact/hooks';
import { ErrorNote, Loading, Section, Time } from '../components/common.js';
import { LedgerTable } from '../components/ledger.js';
import { formatCredits } from '../format.js';
import { useLoad, useTitle } from '../hooks.js';
import { useUserApi } from '../session.js';

function WebhookSecretView() {
  const api = useUserApi();
  const secret = useLoad(() => api.webhookSecret(), [api]);
  const [shown, setShown] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const rotate = async () => {
    setError(null);
    try {
      const next = await api.rotateWebhookSecret();
      secret.set(() => next);
      setShown(true);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <Section title="Webhook secret">
      <p class="muted">Webhook deliveries are signed with this secret; check the signature before trusting one.</p>
      <ErrorNote error={secret.error ?? error} />
      {secret.data && (
        <>
          <p><code class="secret break" data-testid="webhook-secret">{shown ? secret.data.secret : `${secret.data.secret.slice(0, 10)}${'•'.repeat(12)}`}</code></p>
          {secret.data.previous_secret_expires_at && <p class="muted small">The previous secret also signs until <Time iso={secret.data.previous_secret_expires_at} />.</p>}
          <div class="actions">
            <button type="button" class="secondary" aria-pressed={shown} onClick={() => setShown((s) => !s)}>{shown ? 'Hide secret' : 'Show secret'}</button>
            <button type="button" class="secondary" onClick={rotate}>Rotate secret</button>
          </div>
        </>
      )}
    </Section>
  );
}

export function AccountPage() {
  useTitle('Account');
  const api = useUserApi();
  const account = useLoad(() => api.account(), [api]);
  const ledger = useLoad(() => api.ledger(), [api]);
  const a = account.data;
  return (
    <>
      <h1>Account</h1>
      <ErrorNote error={account.error} />
      {!a && !account.error && <Loading what="the account" />}
      {a && (
        <dl class="facts">
          <div><dt>Credits</dt><dd data-testid="credits" class="big">{formatCredits(a.credits)}</dd></div>
          <div><dt>Used in the last 30 days</dt><dd>{formatCredits(a.usage.credits_used_last_30d)}</dd></div>
          <div><dt>Runs in the last 30 days</dt><dd>{a.usage.total_requests_last_30d}</dd></div>
          <div><dt>Jobs in all</dt><dd>{a.usage.total_jobs}</dd></div>
          <div><dt>Active API keys</dt><dd>{a.api_keys.active}</dd></div>
          <div><dt>Account id</dt><dd><code class="break">{a.user_id}</code></dd></div>
        </dl>
      )}
      <Section title="Ledger">
        <p class="muted">The last 100 charges, refunds and grants; they add up to your balance.</p>
        <ErrorNote error={ledger.error} />
        {ledger.data && <LedgerTable entries={ledger.data.data} linkJobs />}
      </Section>
      <WebhookSecretView />
    </>
  );
}
