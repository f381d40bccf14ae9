import { useEffect, useRef, useState } from 'preact/hooks';
import { newer, type Job, type JobStatus } from '../api/types.js';
import type { JobFilter } from '../api/user.js';
import { ErrorNote, Loading, StatusBadge, Time } from '../components/common.js';
import { formatCredits, shortId } from '../format.js';
import { useLoad, useTitle } from '../hooks.js';
import { useUserApi } from '../session.js';

const STATUSES: JobStatus[] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];
const PAGE = 20;

function matches(job: Job, f: JobFilter): boolean {
  return (!f.status || job.status === f.status) && (!f.model_id || job.model_id === f.model_id) && (!f.app_id || job.app_id === f.app_id);
}

export function StatusCell({ job }: { job: Job }) {
  return (
    <>
      <StatusBadge status={job.status} />
      {job.status === 'pending' && job.queue_position !== undefined && <span class="muted small"> {job.queue_position} ahead</span>}
      {job.status === 'processing' && job.progress !== null && <span class="muted small"> {Math.round(job.progress * 100)} %</span>}
    </>
  );
}

export function Jobs() {
  useTitle('Jobs');
  const api = useUserApi();
  const [filter, setFilter] = useState<JobFilter>({});
  // The cursors of the pages before this one; empty on the newest page.
  const [cursors, setCursors] = useState<string[]>([]);
  const [live, setLive] = useState<'connecting' | 'live' | 'off'>('connecting');
  const [announcement, setAnnouncement] = useState('');
  const after = cursors[cursors.length - 1];
  const list = useLoad(() => api.listJobs({ ...filter, limit: PAGE, ...(after ? { starting_after: after } : {}) }), [api, filter, after]);
  const models = useLoad(() => api.models(), [api]);
  const apps = useLoad(() => api.apps(), [api]);

  // The latest state the stream told of each job: a page read while the stream runs may carry an
  // older one (they cross on the wire), so the page shows whichever is further along.
  const heard = useRef(new Map<string, Job>());
  useEffect(() => api.followAccount((e) => {
    if (e.event !== 'status') return;
    const job = e.data;
    const before = heard.current.get(job.id);
    heard.current.set(job.id, before ? newer(before, job) : job);
    list.set((old) => {
      if (!old) return old;
      const shown = old.data.find((j) => j.id === job.id);
      if (shown) {
        if (shown.status !== job.status) setAnnouncement(`Job ${shortId(job.id)} is now ${job.status}`);
        return { ...old, data: old.data.map((j) => (j.id === job.id ? newer(j, job) : j)) };
      }
      // A job new to this list shows up at the top of the newest page when the filter takes it.
      const newest = old.data[0];
      if (cursors.length > 0 || !matches(job, filter) || (newest && job.created_at < newest.created_at)) return old;
      setAnnouncement(`New job ${shortId(job.id)}, ${job.status}`);
      return { ...old, data: [job, ...old.data].slice(0, PAGE), has_more: old.has_more || old.data.length >= PAGE };
    });
  }, { onOpen: () => setLive('live'), onError: () => setLive('off') }), [api, filter, cursors.length]);

  const setField = (key: keyof JobFilter) => (e: Event) => {
    const value = (e.currentTarget as HTMLSelectElement).value;
    setCursors([]);
    setFilter((f) => ({ ...f, [key]: value || undefined }));
  };
  const jobs = (list.data?.data ?? []).map((j) => {
    const told = heard.current.get(j.id);
    return told ? newer(j, told) : j;
  });
  const last = jobs[jobs.length - 1];

  return (
    <>
      <div class="page-head">
        <h1>Jobs</h1>
        <span class={`live live-${live}`}>{live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Not live'}</span>
        <a class="button" href="/run">Run a model or app</a>
      </div>
      <p class="visually-hidden" role="status" aria-live="polite">{announcement}</p>
      <form class="filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={filter.status ?? ''} onChange={setField('status')}>
            <option value="">Any status</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="filter-model">Model</label>
          <select id="filter-model" value={filter.model_id ?? ''} onChange={setField('model_id')}>
            <option value="">Any model</option>
            {models.data?.data.map((m) => <option key={m.id} value={m.id}>{m.name} ({m.id})</option>)}
          </select>
        </div>
        <div class="field">
          <label for="filter-app">App</label>
          <select id="filter-app" value={filter.app_id ?? ''} onChange={setField('app_id')}>
            <option value="">Any app</option>
            {apps.data?.data.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </div>
      </form>
      <ErrorNote error={list.error} />
      {list.loading && !list.data && <Loading what="jobs" />}
      {list.data && jobs.length === 0 && <p class="muted">No jobs {cursors.length ? 'on this page' : 'yet'}. <a href="/run">Run a model</a> to make one.</p>}
      {jobs.length > 0 && (
        <table class="table responsive">
          <caption class="visually-hidden">Your jobs, newest first</caption>
          <thead>
            <tr><th scope="col">Job</th><th scope="col">Model or app</th><th scope="col">Status</th><th scope="col">Charged</th><th scope="col">Refunded</th><th scope="col">Created</th><th scope="col">Finished</th></tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id} data-job-id={j.id}>
                <th scope="row" data-label="Job"><a href={`/jobs/${j.id}`} aria-label={`Job ${shortId(j.id)}`}><code>{shortId(j.id)}</code></a></th>
                <td data-label="Model or app">{j.model_id ?? j.app_name ?? j.output_data?.app_name ?? j.app_id}</td>
                <td data-label="Status"><StatusCell job={j} /></td>
                <td data-label="Charged">{formatCredits(j.credits_charged)}</td>
                <td data-label="Refunded">{j.credits_refunded ? formatCredits(j.credits_refunded) : '—'}</td>
                <td data-label="Created"><Time iso={j.created_at} /></td>
                <td data-label="Finished"><Time iso={j.completed_at} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages of jobs">
        <button type="button" class="secondary" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <button type="button" class="secondary" disabled={!list.data?.has_more || !last} onClick={() => last && setCursors((c) => [...c, last.id])}>Older</button>
      </nav>
    </>
  );
}
