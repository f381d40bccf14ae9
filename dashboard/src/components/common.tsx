import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { JobStatus } from '../api/types.js';
import { formatTime } from '../format.js';

export function StatusBadge({ status }: { status: JobStatus }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  return iso ? <time dateTime={iso}>{formatTime(iso)}</time> : <span aria-label="not yet">—</span>;
}

/** An error for people: announced by screen readers when it appears. */
export function ErrorNote({ error }: { error: Error | string | null | undefined }) {
  if (!error) return null;
  return <p class="note note-error" role="alert">{typeof error === 'string' ? error : error.message}</p>;
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" role="status">Loading {what}…</p>;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/\W+/g, '-')}-heading`;
  return (
    <section class="card" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

/** A secret shown once (a new key or worker token), with a button that copies it. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="note note-secret" role="status">
      <p><strong>{label}</strong> It is shown only this once: copy it now.</p>
      <p><code class="secret" data-testid="secret">{value}</code></p>
      <button type="button" onClick={() => navigator.clipboard?.writeText(value).then(() => setCopied(true), () => setCopied(false))}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
