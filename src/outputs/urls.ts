import { isStorageKey } from './form.js';

/**
 * Outputs stored before references, and the URLs workers get for their uploads, name a file of
 * genjobs' storage by its served URL: `<any origin>/files/<job id>/<name>`. The origin says only
 * which process made the link, so it is ignored; the path is the storage key.
 */
export function keyOfFileUrl(url: string, jobId: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const match = /^\/files\/([^/]+)\/([^/]+)$/.exec(parsed.pathname);
  if (!match || match[1] !== jobId) return null;
  const key = `${match[1]}/${match[2]}`;
  return isStorageKey(key) ? key : null;
}

/** The storage key of any served file URL, whatever job it belongs to (built-in models read their image inputs by it). */
export function keyOfAnyFileUrl(url: string): string | null {
  const match = /^https?:\/\/[^/]+(\/files\/([\w-]+)\/[^/?#]+)$/.exec(url);
  return match ? keyOfFileUrl(url, match[2] as string) : null;
}
