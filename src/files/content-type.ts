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
 * stored as .html). Generic or unknown types, and unknown extensions, are not contradictions.
 */
export function assertTypeMatches(declared: string | undefined, extension: string): void {
  const type = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === '' || type === 'application/octet-stream') return;
  const extensions = mime.extensions[type];
  if (!extensions || mime.lookup(extension) === false) return;
  if (!extensions.includes(extension.toLowerCase())) throw new FileTypeError(type, extension);
}
