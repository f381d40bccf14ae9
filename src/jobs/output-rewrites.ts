import type { Store } from '../store/store.js';
import { fileMarker, sealOutput, type FileRef } from '../outputs/form.js';
import { keyOfFileUrl } from '../outputs/urls.js';

/** What storage knows of a file (size, content type, checksum), or null when it holds no such file. */
export type DescribeFile = (key: string) => Promise<FileRef | null>;

/** Content types of the files genjobs made before references, for files storage no longer holds. */
const TYPES: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', mp4: 'video/mp4',
  webm: 'video/webm', mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', glb: 'model/gltf-binary', txt: 'text/plain', json: 'application/json',
};

/**
 * An output stored before references, in today's form: keys starting with `$` escaped, and
 * each URL of one of the job's own files (`<any origin>/files/<job id>/<name>`) a `$file` marker,
 * filled in from storage when the file is there, else with what its name tells. `outputText`
 * is text whatever it reads like, and URLs of other jobs' files (an upstream genjobs whose
 * files were not copied) stay as they are.
 */
export async function rewriteOldOutput(jobId: string, output: unknown, describe: DescribeFile): Promise<unknown> {
  const walk = async (value: unknown, key: string | null): Promise<unknown> => {
    if (typeof value === 'string') {
      const fileKey = key === 'outputText' ? null : keyOfFileUrl(value, jobId);
      if (!fileKey) return value;
      const known = await describe(fileKey);
      const extension = fileKey.slice(fileKey.lastIndexOf('.') + 1).toLowerCase();
      return fileMarker(known ?? { key: fileKey, ...(TYPES[extension] ? { contentType: TYPES[extension] } : {}) });
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => walk(v, key)));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await walk(v, k)] as const));
      return Object.fromEntries(entries);
    }
    return value;
  };
  return walk(sealOutput(output), null);
}

/**
 * Rewrites the finished jobs listed by the migration (sqlite 0009, postgres 0010), `batch` at a
 * time, each batch its own short transactions, giving the event loop back between batches.
 * Idempotent: a job is struck off the list in the transaction that rewrites it. Unfinished jobs
 * stay listed until they finish. Returns how many jobs were rewritten.
 */
export async function rewriteOldOutputs(store: Store, describe: DescribeFile, p: { batch: number; maxBatches?: number }): Promise<number> {
  let done = 0;
  for (let round = 0; round < (p.maxBatches ?? Infinity); round++) {
    const listed = await store.jobOutputRewritesNext({ limit: p.batch });
    for (const job of listed) {
      const outputData = job.exists ? await rewriteOldOutput(job.id, job.outputData, describe) : undefined;
      if (await store.jobOutputRewrite({ id: job.id, ...(outputData === undefined ? {} : { outputData }) })) done++;
    }
    if (listed.length < p.batch) break;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return done;
}
