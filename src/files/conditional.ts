import type { FileHead, FileRange, SuffixRange } from './storage.js';

/**
 * The parts of HTTP's conditional and range requests (RFC 9110 §13, §14) that serving an output
 * file needs, with no HTTP framework in sight.
 */

/**
 * The one range a `Range` header asks for, or null to send the whole file: no header, another
 * unit, several ranges, or a malformed or backwards range (which HTTP says to ignore).
 */
export function parseRange(header: string | undefined): FileRange | SuffixRange | null {
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/i.exec(header ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') return { suffix: Number(m[2]) };
  const start = Number(m[1]);
  if (m[2] === '') return { start };
  const end = Number(m[2]);
  return end < start ? null : { start, end };
}

const opaque = (tag: string): string => tag.trim().replace(/^W\//, '');

/** Whether `If-None-Match` names the current version (weak comparison; `*` matches any). */
export function noneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/**
 * Whether a range may be served under `If-Range`: without it always; with an entity tag only if
 * it is the current one (strong comparison); with a date only if it is the file's Last-Modified exactly.
 */
export function ifRangeHolds(header: string | undefined, file: Pick<FileHead, 'etag' | 'lastModified'>): boolean {
  if (!header) return true;
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return !value.startsWith('W/') && value === file.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(file.lastModified.getTime() / 1000) * 1000 === date;
}

/**
 * Whether `If-Modified-Since` says the client's copy is current: only when there is no
 * `If-None-Match` (which takes precedence), and the file has not changed since that date.
 */
export function notModifiedSince(header: string | undefined, ifNoneMatch: string | undefined, lastModified: Date): boolean {
  if (!header || ifNoneMatch) return false;
  const date = Date.parse(header);
  return !Number.isNaN(date) && Math.floor(lastModified.getTime() / 1000) * 1000 <= date;
}
