import mime from 'mime-types';
import { FileTypeError } from './storage.js';

/**
 * A stored file's content type follows its extension, on every adapter: the local folder keeps
 * no metadata, and the type served must never disagree with the name that decides whether a
 * file is shown inline or downloaded (src/files/safety-headers.ts).
 */
export function contentTypeOf(extension: string): string {
  return mime.lookup(extension) || 'application/octet-stream';
}

/**
 * Refuses a declared type that names a different kind of file than the extension (an image/png
 * stored as .html). Generic or unknown types, and unknown or generic extensions (`.bin`: kept as
 * bytes, served as a download), are not contradictions.
 */
export function assertTypeMatches(declared: string | undefined, extension: string): void {
  const type = specificType(declared);
  if (type === null) return;
  const extensions = mime.extensions[type];
  const named = mime.lookup(extension);
  if (!extensions || named === false || named === 'application/octet-stream') return;
  if (!extensions.includes(extension.toLowerCase())) throw new FileTypeError(type, extension);
}

/** The usual extension of a content type (`image/png` -> `png`), or null for a generic or unknown one. */
export function extensionFor(contentType: string | undefined): string | null {
  const type = specificType(contentType);
  return type === null ? null : mime.extension(type) || null;
}

/** A Content-Type's media type without parameters, lower case; null when absent or generic (`application/octet-stream`). */
function specificType(contentType: string | undefined): string | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === '' || type === 'application/octet-stream' ? null : type;
}
