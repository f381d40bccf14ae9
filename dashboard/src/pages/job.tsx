import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { newer, TERMINAL, type Job, type WebhookDelivery } from '../api/types.js';
import { ErrorNote, Loading, Section, StatusBadge, Time } from '../components/common.js';
import { OutputPreview } from '../components/output-preview.js';
import { formatCredits, shortId } from '../format.js';
import { useLoad, useTitle } from '../hooks.js';
import { useUserApi } from '../session.js';

/** How often the deliveries are read again while one is still being tried. */
const DELIVERY_POLL_MS = 2000;
/** How many times a finished job without deliveries is looked at again. */
const EMPTY_LOOKS = 3;

function Deliveries({ job }: { job: Job }) {
  const api = useUserApi();
  const terminal = TERMINAL.includes(job.status);
  const list = useLoad(() => api.webhookDeliveries(job.id), [api, job.id, terminal]);
  const deliveries = list.data?.data ?? [];
  // A job that ended while the page was open may have its delivery queued a moment later: a few
  // more looks then, and more while a delivery is still being tried (the key's rate limit is shared).
  const [looks, setLooks] = useState(0);
  const waiting = terminal && (deliveries.some((d) => d.status === 'pending') || (deliveries.length === 0 && looks < EMPTY_LOOKS));
  useEffect(() => {
    if (!waiting || list.loading) return;
    const t = setTimeout(() => { setLooks((n) => n + 1); list.reload(); }, DELIVERY_POLL_MS);
    return () => clearTimeout(t);
  }, [waiting, list.data, list.loading]);
  return (
    <Section title="Webhook deliveries">
      <ErrorNote error={list.error} />
      {deliveries.length === 0
        ? <p class="muted">{terminal ? 'No webhook deliveries.' : 'A run with a webhook address has it called when the job ends.'}</p>
        : (
          <table class="table responsive">
            <thead><tr><th scope="col">Event</th><th scope="col">Address</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Delivered</th></tr></thead>
            <tbody>
              {deliveries.map((d: WebhookDelivery) => (
                <tr key={d.id}>
                  <td data-label="Event">{d.event}</td>
                  <td data-label="Address" class="break">{d.url}</td>
                  <td data-label="Status"><span class={`badge badge-delivery-${d.status}`}>{d.status}</span></td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Last answer">{d.last_status_code ?? d.last_error ?? '—'}</td>
                  <td data-label="Delivered"><Time iso={d.delivered_at} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </Section>
  );
}

export function JobPage({ id }: { id: string }) {
  useTitle(`Job ${shortId(id)}`);
  const api = useUserApi();
  const { route } = useLocation();
  const [job, setJob] = useState<Job | undefined>(undefined);
  const [loadError, setLoadError] = useState<Error | null>(null);
  const [logs, setLogs] = useState<{ seq: number; line: string }[]>([]);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (change: (j: Job) => Job) => setJob((j) => (j ? change(j) : j));

  useEffect(() => {
    setJob(undefined);
    setLogs([]);
    setLoadError(null);
    let gone = false;
    // The stream's first event is the job as it is; the plain read shows it sooner. Whichever
    // comes second must not put an older state back (they can cross on the wire).
    api.job(id).then((j) => { if (!gone) setJob((old) => (old ? newer(j, old) : j)); }, (err: Error) => { if (!gone) setLoadError(err); });
    const stop = api.followJob(id, (e) => {
      if (e.event === 'status') setJob((old) => (old ? newer(old, e.data) : e.data));
      else if (e.event === 'progress') update((j) => ({ ...j, progress: e.data.progress }));
      else if (e.event === 'log') setLogs((l) => (l.some((x) => x.seq === e.data.seq) ? l : [...l, { seq: e.data.seq, line: e.data.line }]));
      else if (e.event === 'node') {
        update((j) => {
          const data = j.output_data ?? {};
          return { ...j, output_data: { ...data, node_outputs: { ...(data.node_outputs ?? {}), [e.data.node_id]: e.data.output } } };
        });
      }
    }, { onError: (err) => { if (!gone) setLoadError(err); } });
    return () => {
      gone = true;
      stop();
    };
  }, [api, id]);

  const act = async (what: () => Promise<void>) => {
    setBusy(true);
    setActionError(null);
    try {
      await what();
    } catch (err) {
      setActionError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  if (loadError && !job) return <><h1>Job {shortId(id)}</h1><ErrorNote error={loadError} /><p><a href="/jobs">Back to the jobs</a></p></>;
  if (!job) return <Loading what="the job" />;
  const cancellable = job.status === 'pending' || job.status === 'processing';
  const nodes = Object.entries(job.output_data?.node_outputs ?? {});
  const name = job.model_id ?? job.app_name ?? job.output_data?.app_name ?? job.app_id ?? 'job';
  const input = job.input_data?.input ?? job.input_data?.inputs ?? {};

  return (
    <>
      <div class="page-head">
        <h1>Job <code>{shortId(job.id)}</code></h1>
        <span aria-live="polite" aria-atomic="true" data-testid="job-status"><StatusBadge status={job.status} /></span>
      </div>
      <div class="actions">
        {cancellable && (
          <button type="button" class="danger" disabled={busy} onClick={() => act(async () => {
            const r = await api.cancel(job.id);
            update((j) => newer(j, { ...j, status: 'cancelled', credits_refunded: r.credits_refunded }));
          })}>Cancel job</button>
        )}
        <button type="button" class="secondary" disabled={busy} onClick={() => act(async () => {
          const next = await api.retry(job.id);
          route(`/jobs/${next.id}`);
        })}>Retry as a new job</button>
      </div>
      <ErrorNote error={actionError} />
      <dl class="facts">
        <div><dt>{job.run_type === 'app' ? 'App' : 'Model'}</dt><dd>{name}</dd></div>
        <div><dt>Job id</dt><dd><code class="break">{job.id}</code></dd></div>
        <div><dt>Charged</dt><dd>{formatCredits(job.credits_charged)}</dd></div>
        <div><dt>Refunded</dt><dd data-testid="refunded">{formatCredits(job.credits_refunded)}</dd></div>
        <div><dt>Created</dt><dd><Time iso={job.created_at} /></dd></div>
        <div><dt>Started</dt><dd><Time iso={job.started_at} /></dd></div>
        <div><dt>Finished</dt><dd><Time iso={job.completed_at} /></dd></div>
        {job.status === 'pending' && job.queue_position !== undefined && <div><dt>Queue position</dt><dd>{job.queue_position} ahead</dd></div>}
        {job.retry_of && <div><dt>Retry of</dt><dd><a href={`/jobs/${job.retry_of}`}><code>{shortId(job.retry_of)}</code></a></dd></div>}
      </dl>
      {job.status === 'processing' && job.progress !== null && (
        <p><label for="job-progress">Progress</label> <progress id="job-progress" max={1} value={job.progress}>{Math.round(job.progress * 100)} %</progress> <span aria-hidden="true">{Math.round(job.progress * 100)} %</span></p>
      )}
      {job.error_message && <p class="note note-error" role="alert"><strong>Error:</strong> {job.error_message}</p>}
      <Section title="Input">
        <pre class="output-text">{JSON.stringify(input, null, 2)}</pre>
      </Section>
      {job.run_type === 'app'
        ? (
          <Section title="Node outputs">
            {nodes.length === 0 && <p class="muted">{TERMINAL.includes(job.status) ? 'No node finished.' : 'Each node\'s output appears here as it finishes.'}</p>}
            <ol class="nodes" aria-live="polite">
              {nodes.map(([nodeId, output]) => (
                <li key={nodeId} data-node={nodeId}>
                  <h3>Node <code>{nodeId}</code></h3>
                  <OutputPreview output={output} name={`node ${nodeId}`} />
                </li>
              ))}
            </ol>
          </Section>
        )
        : (
          <Section title="Output">
            {job.output_data ? <OutputPreview output={job.output_data} name={name} /> : <p class="muted">{TERMINAL.includes(job.status) ? 'No output.' : 'The output appears here when the job completes.'}</p>}
          </Section>
        )}
      {logs.length > 0 && (
        <Section title="Log">
          <ol class="log">{logs.map((l) => <li key={l.seq}><code>{l.line}</code></li>)}</ol>
        </Section>
      )}
      <Deliveries job={job} />
    </>
  );
}
