import { asFileMarker, asUpstreamMarker, type FileRef } from './form.js';

/** Makes the link of a stored file for one answer (served by this process, or presigned). */
export type LinkFile = (file: FileRef) => Promise<string> | string;

/**
 * Whether a stored output needs rendering at all: it holds a marker or an escaped key somewhere.
 * Outputs without (text, pending jobs' null) are shown as stored, with no copy made.
 */
export function needsRender(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(needsRender);
  for (const key in value) {
    if (key.charCodeAt(0) === 36 /* $ */) return true;
    if (needsRender((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/**
 * The public form of a stored output: each `$file` marker becomes the link `link` makes for it,
 * each `$upstream` marker its URL, each escaped key (`$$x`) its own name again (`$x`). Links are
 * made all at once; an output with nothing to render is returned as it is.
 */
export async function renderOutput(value: unknown, link: LinkFile): Promise<unknown> {
  if (!needsRender(value)) return value;
  const files: FileRef[] = [];
  collect(value, files);
  const links = await Promise.all(files.map((f) => link(f)));
  let next = 0;
  return rebuild(value, () => links[next++] as string);
}

function collect(value: unknown, files: FileRef[]): void {
  if (value === null || typeof value !== 'object') return;
  const file = asFileMarker(value);
  if (file) {
    files.push(file);
    return;
  }
  if (asUpstreamMarker(value) !== null) return;
  for (const v of Array.isArray(value) ? value : Object.values(value)) collect(v, files);
}

/** Same walk, same order as `collect`, so the nth file found takes the nth link. */
function rebuild(value: unknown, nextLink: () => string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (asFileMarker(value)) return nextLink();
  const upstream = asUpstreamMarker(value);
  if (upstream !== null) return upstream;
  if (Array.isArray(value)) return value.map((v) => rebuild(v, nextLink));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // A lone `$` key that is not a valid marker cannot come from a producer (sealOutput doubles
    // them all): it is left out rather than shown.
    if (k.startsWith('$$')) out[k.slice(1)] = rebuild(v, nextLink);
    else if (!k.startsWith('$')) out[k] = rebuild(v, nextLink);
  }
  return out;
}

/** Every stored file an output names, in order (what a job keeps in storage). */
export function filesOf(value: unknown): FileRef[] {
  const files: FileRef[] = [];
  collect(value, files);
  return files;
}
