/**
 * The stored form of a job's output (`jobs.output_data` in the store). Clients never see it: every
 * answer renders it at read time (render.ts). Where the public output holds a URL, the stored one
 * holds a marker object with exactly one key:
 *
 * - `{"$file": {"key", "size"?, "contentType"?, "sha256"?}}`: a file in genjobs' storage, named by
 *   its storage key (`<job id>/<random>.<ext>`); it becomes a link made by the process that reads it.
 * - `{"$upstream": "https://…"}`: a provider's own URL, kept as is (providers whose files are not
 *   copied, `copy_outputs: false`); it renders as that URL.
 *
 * Everything else is the output as produced. Producers' data (providers' answers, workers'
 * reports) goes through `sealOutput` first, which doubles the `$` of every key starting with one:
 * so no value that came from outside can ever read as a marker, and rendering gives the key back
 * with its single `$`, losing nothing.
 */

/** A file in genjobs' storage as the stored output names it. Only `key` is always known (rows migrated from URLs may lack the rest). */
export interface FileRef {
  key: string;
  size?: number;
  contentType?: string;
  sha256?: string;
}

export interface FileMarker { $file: FileRef }
export interface UpstreamMarker { $upstream: string }

/** A storage key: `<job id>/<name>.<extension>`, both parts plain (no dots in the job id, no slashes, no `..`). */
const KEY = /^[\w-]{1,128}\/[\w-]{1,64}\.\w{1,16}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export const isStorageKey = (key: unknown): key is string => typeof key === 'string' && KEY.test(key);

/** The job a storage key belongs to: its first part (retention deletes by it). */
export const jobOfKey = (key: string): string => key.slice(0, key.indexOf('/'));

/** The marker for a stored file; refuses a malformed one, so a bad producer fails loudly rather than storing junk. */
export function fileMarker(file: FileRef): FileMarker {
  const ref = fileRefOf(file);
  if (!ref) throw new Error(`not a valid stored file: ${JSON.stringify(file)}`);
  return { $file: ref };
}

/** The marker for a provider's own URL (http, https or data). */
export function upstreamMarker(url: string): UpstreamMarker {
  if (!/^(https?:|data:)/.test(url)) throw new Error('an upstream output must be an http(s) or data URL');
  return { $upstream: url };
}

/** The file a `$file` value names, with only the known fields, or null when it is not a valid one. */
export function fileRefOf(value: unknown): FileRef | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  if (!isStorageKey(v.key)) return null;
  for (const k of Object.keys(v)) if (!['key', 'size', 'contentType', 'sha256'].includes(k)) return null;
  if (v.size !== undefined && !(Number.isSafeInteger(v.size) && (v.size as number) >= 0)) return null;
  if (v.contentType !== undefined && (typeof v.contentType !== 'string' || v.contentType.length > 255)) return null;
  if (v.sha256 !== undefined && !(typeof v.sha256 === 'string' && SHA256.test(v.sha256))) return null;
  const ref: FileRef = { key: v.key };
  if (v.size !== undefined) ref.size = v.size as number;
  if (v.contentType !== undefined) ref.contentType = v.contentType as string;
  if (v.sha256 !== undefined) ref.sha256 = v.sha256 as string;
  return ref;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The file of a `$file` marker, or null when `value` is not one (a marker has that one key and a valid file). */
export function asFileMarker(value: unknown): FileRef | null {
  if (!isPlainObject(value) || !('$file' in value)) return null;
  const keys = Object.keys(value);
  return keys.length === 1 ? fileRefOf(value.$file) : null;
}

/** The URL of an `$upstream` marker, or null when `value` is not one. */
export function asUpstreamMarker(value: unknown): string | null {
  if (!isPlainObject(value) || !('$upstream' in value)) return null;
  const url = value.$upstream;
  return Object.keys(value).length === 1 && typeof url === 'string' && /^(https?:|data:)/.test(url) ? url : null;
}

/**
 * A producer's output (JSON from a provider or a worker) made safe to store: every key starting
 * with `$`, at any depth, gets one more `$` (rendering takes it off again), so none can read as a
 * marker. The value is copied only where a key changes; anything that is not JSON data is refused.
 */
export function sealOutput<T>(value: T): T {
  return seal(value, 0) as T;
}

function seal(value: unknown, depth: number): unknown {
  if (depth > 64) throw new Error('the output nests too deep');
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    value.forEach((v, i) => {
      const s = seal(v, depth + 1);
      if (s !== v) (out ??= value.slice())[i] = s;
    });
    return out ?? value;
  }
  if (!isPlainObject(value)) return value;
  let changed = false;
  const entries = Object.entries(value).map(([k, v]) => {
    const key = k.startsWith('$') ? `$${k}` : k;
    const s = seal(v, depth + 1);
    if (key !== k || s !== v) changed = true;
    return [key, s] as const;
  });
  return changed ? Object.fromEntries(entries) : value;
}
