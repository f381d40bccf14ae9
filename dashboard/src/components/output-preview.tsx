import type { Output } from '../api/types.js';

/**
 * Previews of a job's outputs. Outputs are untrusted: a URL is shown only if it is http(s), as
 * an <img>, <video> or <audio> (none of which can run script in this page) or as a download
 * link; text is shown as text. Nothing is ever put in an iframe or inserted as HTML.
 */

function safeUrl(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

const KINDS: Record<string, string> = { outputImage: 'Image', outputVideo: 'Video', outputAudio: 'Audio', outputText: 'Text' };

function fileName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() || 'output');
}

function One({ field, value, label }: { field: string; value: unknown; label: string }) {
  if (field === 'outputText' && typeof value === 'string') {
    return <pre class="output-text" aria-label={label}>{value}</pre>;
  }
  const url = safeUrl(value);
  if (!url) return <pre class="output-text" aria-label={label}>{JSON.stringify(value, null, 2)}</pre>;
  const link = <a href={url} download={fileName(url)} rel="noopener noreferrer">Download {fileName(url)}</a>;
  // Built-in "videos" are animated GIFs: an image element plays them.
  const isGif = /\.gif$/i.test(new URL(url).pathname);
  if (field === 'outputImage' || (field === 'outputVideo' && isGif)) {
    return <figure><img src={url} alt={label} loading="lazy" referrerpolicy="no-referrer" /><figcaption>{link}</figcaption></figure>;
  }
  if (field === 'outputVideo') {
    return <figure><video src={url} controls preload="metadata" aria-label={label} /><figcaption>{link}</figcaption></figure>;
  }
  if (field === 'outputAudio') {
    return <figure><audio src={url} controls preload="metadata" aria-label={label} /><figcaption>{link}</figcaption></figure>;
  }
  return <p>{link}</p>;
}

/** Every field of one output (a model job's output_data, or one app node's output). */
export function OutputPreview({ output, name }: { output: Output; name: string }) {
  const fields = Object.entries(output).filter(([k]) => k !== 'app_id' && k !== 'app_name' && k !== 'node_outputs');
  if (fields.length === 0) return <p class="muted">No output.</p>;
  return (
    <div class="outputs">
      {fields.map(([field, value]) => (
        <One key={field} field={field} value={value} label={`${KINDS[field] ?? field} output of ${name}`} />
      ))}
    </div>
  );
}
