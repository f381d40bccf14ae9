import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Table from 'cli-table3';
import type { Job } from '@genjobs/sdk';
import { seconds } from './progress.js';

/** A table for people: aligned columns under a header, no borders, no colours. */
export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({
    head,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 2 },
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '',
    },
  });
  for (const row of rows) t.push(row.map((c) => (c === null || c === undefined ? '-' : String(c))));
  return t.toString().split('\n').map((l) => l.trimEnd()).join('\n');
}

export const printJson = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
export const print = (text: string): void => void process.stdout.write(`${text}\n`);

/** Every output URL of a job, named by where it sits: `outputImage`, `render.outputImage`, `outputs[1]`. */
export function outputUrls(job: Pick<Job, 'output_data'>): { name: string; url: string }[] {
  const found: { name: string; url: string }[] = [];
  const walk = (value: unknown, name: string) => {
    if (typeof value === 'string' && /^https?:\/\//.test(value)) found.push({ name, url: value });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${name}[${i}]`));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'app_id' || k === 'app_name') continue;
        walk(v, k === 'node_outputs' ? name : name ? `${name}.${k}` : k);
      }
    }
  };
  walk(job.output_data, '');
  // The same file may be listed twice (outputImage and outputs[0]): keep the first.
  return found.filter((f, i) => found.findIndex((g) => g.url === f.url) === i);
}

/** A job for people: what it is, how it ended and what it made. */
export function describeFinished(job: Job): string {
  const what = job.run_type === 'app' ? `app ${job.app_id}` : job.model_id ?? '';
  const took = job.completed_at && job.created_at ? ` in ${seconds(Date.parse(job.completed_at) - Date.parse(job.created_at))}` : '';
  const lines = [`${job.status}${took}  ${job.id}  ${what}`];
  if (job.error_message) lines.push(`error: ${job.error_message}`);
  const text = (job.output_data as { outputText?: unknown } | null)?.outputText;
  if (typeof text === 'string') lines.push(text);
  for (const { name, url } of outputUrls(job)) lines.push(`${name}: ${url}`);
  if (job.credits_refunded > 0) lines.push(`refunded ${job.credits_refunded} of ${job.credits_charged} credits`);
  return lines.join('\n');
}

/** Downloads every output file of a job into `dir`, named after the job and the file; returns the paths. */
export async function download(job: Job, dir: string, fetchFn: typeof fetch = fetch): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  const saved: string[] = [];
  for (const { url } of outputUrls(job)) {
    const res = await fetchFn(url);
    if (!res.ok || !res.body) throw new Error(`downloading ${url} failed: HTTP ${res.status}`);
    const base = path.basename(new URL(url).pathname) || 'output';
    const file = path.join(dir, `${job.id}-${base}`);
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), fs.createWriteStream(file));
    saved.push(file);
  }
  return saved;
}
