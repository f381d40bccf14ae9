import { invalid } from '../errors/api-error.js';
import type { FileStorage, StoredFile } from '../files/storage.js';
import { fileMarker, sealOutput, type FileRef } from '../outputs/form.js';
import { keyOfFileUrl } from '../outputs/urls.js';

/** How many uploads a process remembers for the completions that follow them. */
const REMEMBER = 2_000;

/**
 * The files workers uploaded to this process lately, by key: a completion that names one gets its
 * checksum from here. A completion sent to another process (several API processes) finds the
 * file in storage instead and records its size and type, without a checksum.
 */
export class RecentUploads {
  private readonly files = new Map<string, StoredFile>();

  add(file: StoredFile): void {
    this.files.set(file.key, file);
    if (this.files.size > REMEMBER) this.files.delete(this.files.keys().next().value as string);
  }

  /** The upload of `key` (an output may name one file twice: `outputImage` and `outputs[0]`). */
  get(key: string): StoredFile | undefined {
    return this.files.get(key);
  }
}

/**
 * A worker's reported output in its stored form: the worker's data sealed (src/outputs/form.ts),
 * and each URL of a file uploaded for this job (the `url` an upload answered, from whichever API
 * process) a `$file` marker. Other strings stay as they are: text, or links elsewhere. A URL of
 * this job's files that names no stored file is refused: the job would show a dead link.
 */
export async function storedWorkerOutput(files: FileStorage, recent: RecentUploads, jobId: string, output: Record<string, unknown>): Promise<Record<string, unknown>> {
  const walk = async (value: unknown, field: string | null): Promise<unknown> => {
    if (typeof value === 'string') {
      const key = field === 'outputText' ? null : keyOfFileUrl(value, jobId);
      if (!key) return value;
      const known: FileRef | undefined = recent.get(key);
      if (known) return fileMarker(known);
      const head = await files.head(key);
      if (!head) throw invalid('output', `names ${value}, which is no file uploaded for this job: upload it first (POST /worker/v1/jobs/${jobId}/files)`);
      return fileMarker({ key, size: head.size, contentType: head.contentType });
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => walk(v, field)));
    if (value && typeof value === 'object') {
      return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await walk(v, k)] as const)));
    }
    return value;
  };
  return walk(sealOutput(output), null) as Promise<Record<string, unknown>>;
}
