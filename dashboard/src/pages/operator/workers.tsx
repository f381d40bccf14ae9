import { useState } from 'preact/hooks';
import type { Worker } from '../../api/types.js';
import { ErrorNote, Loading, Section, SecretOnce, Time } from '../../components/common.js';
import { SimpleForm, valueOf } from '../../components/simple-form.js';
import { useLoad, useTitle } from '../../hooks.js';
import { useAdminApi } from '../../session.js';

export function Workers() {
  useTitle('Workers');
  const api = useAdminApi();
  const workers = useLoad(() => api.workers(), [api]);
  const [created, setCreated] = useState<Worker | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  const list = workers.data?.data ?? [];
  return (
    <>
      <h1>Workers</h1>
      <p class="muted">Self-hosted workers run the catalog's models with provider <code>worker</code>; see docs/workers.md.</p>
      {created?.token && <SecretOnce label={`The token of worker ${created.name ?? created.id} is:`} value={created.token} />}
      <SimpleForm id="new-worker" title="Create a worker" submitLabel="Create worker"
        action={async (form) => {
          const name = valueOf(form, 'name');
          const models = valueOf(form, 'models').split(/[\s,]+/).filter(Boolean);
          setCreated(await api.createWorker({ ...(name ? { name } : {}), models }));
          workers.reload();
        }}>
        <div class="field"><label for="worker-name">Name</label><input id="worker-name" name="name" maxLength={200} /></div>
        <div class="field">
          <label for="worker-models">Models</label>
          <input id="worker-models" name="models" required aria-describedby="worker-models-hint" />
          <p class="hint" id="worker-models-hint">Model ids such as acme/sdxl, separated by commas or spaces.</p>
        </div>
      </SimpleForm>
      <Section title="All workers">
        <ErrorNote error={workers.error ?? actionError} />
        {workers.loading && !workers.data && <Loading what="workers" />}
        {workers.data && list.length === 0 && <p class="muted">No workers yet.</p>}
        {list.length > 0 && (
          <table class="table responsive">
            <thead><tr><th scope="col">Name</th><th scope="col">Models</th><th scope="col">State</th><th scope="col">Last seen</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {list.map((w) => (
                <tr key={w.id}>
                  <th scope="row" data-label="Name">{w.name ?? <code>{w.id}</code>}</th>
                  <td data-label="Models">{w.models.join(', ')}</td>
                  <td data-label="State">{w.is_active ? 'active' : 'revoked'}</td>
                  <td data-label="Last seen"><Time iso={w.last_seen_at} /></td>
                  <td data-label="Created"><Time iso={w.created_at} /></td>
                  <td data-label="Actions">
                    {w.is_active && <button type="button" class="danger" aria-label={`Revoke worker ${w.name ?? w.id}`} onClick={async () => {
                      setActionError(null);
                      try {
                        await api.revokeWorker(w.id);
                        workers.reload();
                      } catch (err) {
                        setActionError(err as Error);
                      }
                    }}>Revoke</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
    </>
  );
}
