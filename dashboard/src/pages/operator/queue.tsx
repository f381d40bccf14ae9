import { useEffect } from 'preact/hooks';
import { ErrorNote, Loading, Section, StatusBadge } from '../../components/common.js';
import { formatAge } from '../../format.js';
import { useLoad, useTitle } from '../../hooks.js';
import { useAdminApi } from '../../session.js';

/** How often the queue is read again while the page is open. */
const REFRESH_MS = 5000;

export function Queue() {
  useTitle('Queue');
  const api = useAdminApi();
  const queue = useLoad(() => api.queue(), [api]);
  useEffect(() => {
    if (queue.loading) return;
    const t = setTimeout(queue.reload, REFRESH_MS);
    return () => clearTimeout(t);
  }, [queue.loading, queue.data]);
  const q = queue.data;
  return (
    <>
      <div class="page-head">
        <h1>Queue</h1>
        <button type="button" class="secondary" onClick={queue.reload}>Refresh</button>
      </div>
      <ErrorNote error={queue.error} />
      {!q && !queue.error && <Loading what="the queue" />}
      {q && (
        <>
          <dl class="facts">
            <div><dt>Pending</dt><dd class="big" data-testid="pending">{q.pending}</dd></div>
            <div><dt>Processing</dt><dd class="big" data-testid="processing">{q.processing}</dd></div>
            <div><dt>Oldest pending job waited</dt><dd class="big">{q.oldest_pending_age_seconds === null ? '—' : formatAge(q.oldest_pending_age_seconds)}</dd></div>
          </dl>
          <Section title="By model">
            {q.by_model.length === 0 ? <p class="muted">Nothing is waiting or running.</p> : (
              <table class="table responsive">
                <thead><tr><th scope="col">Status</th><th scope="col">Model or app</th><th scope="col">Jobs</th></tr></thead>
                <tbody>
                  {q.by_model.map((g) => (
                    <tr key={`${g.status}-${g.model_id ?? g.app_id}`}>
                      <td data-label="Status"><StatusBadge status={g.status} /></td>
                      <td data-label="Model or app">{g.model_id ?? `app ${g.app_id}`}</td>
                      <td data-label="Jobs" class="num">{g.count}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Section>
        </>
      )}
    </>
  );
}
