import { Agent, request, type Dispatcher } from 'undici';
import { assertPublicLiteral, guardedLookup, PrivateTargetError } from '../../http/addresses.js';
import { FileSizeError, FileTypeError, type FileStorage } from '../../files/storage.js';
import { fileMarker, upstreamMarker, type FileMarker, type UpstreamMarker } from '../../outputs/form.js';
import { ProviderError } from '../provider.js';

/** Largest output file of a provider kept in genjobs' storage, copied from a URL or sent inline (base64). */
export const MAX_BYTES = 512 * 1024 * 1024;

/** Time to open a connection to a provider's storage. (Default: 10000 ms) */
const CONNECT_TIMEOUT_MS = 10_000;

/** Redirects followed per file: providers' file URLs often answer 302 to a signed storage URL. */
const MAX_REDIRECTS = 5;

/** Names what lets output copies reach private addresses, for the refusal's message. */
const ALLOW_SETTING = 'provider.allow_private_outputs: true in the catalog';

/**
 * Two connection pools: one for the provider's own origin (the operator chose it, and a local
 * provider may well live on a private address), and one for every other host, which must
 * resolve to public addresses only, checked on the address actually connected to.
 */
let trustedPool: Dispatcher | undefined;
let publicPool: Dispatcher | undefined;
const trusted = (): Dispatcher => (trustedPool ??= new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS } }));
const publicOnly = (): Dispatcher => (publicPool ??= new Agent({ connect: { timeout: CONNECT_TIMEOUT_MS, lookup: guardedLookup(ALLOW_SETTING) } }));

/** Where a copy may connect: the provider's origin freely, anything else only if public. */
export interface OutputOrigins {
  /** The provider's API origin (its `base_url`), trusted like the provider itself. */
  trustedOrigin?: string;
  /** Whether other hosts may be private too (`allow_private_outputs`). (Default: false) */
  allowPrivate?: boolean;
}

/**
 * GETs `url`, following redirects by hand so that every hop is checked: a file on the provider's
 * origin may redirect to storage elsewhere, and that hop must be public like any other.
 */
async function getFollowing(url: string, o: OutputOrigins, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  let target = new URL(url);
  for (let hop = 0; ; hop++) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`a redirect leads to a ${target.protocol} URL, not http(s)`);
    const own = o.allowPrivate === true || target.origin === o.trustedOrigin;
    if (!own) assertPublicLiteral(target, ALLOW_SETTING);
    const res = await request(target, { method: 'GET', dispatcher: own ? trusted() : publicOnly(), signal });
    const location = res.headers.location;
    if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string' || hop >= MAX_REDIRECTS) return res;
    await res.body.dump();
    target = new URL(location, target);
  }
}

/** A URL as shown in messages: without its query, which may hold a storage signature. */
const shown = (url: string): string => url.split(/[?#]/)[0] ?? url;

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif',
  'video/mp4': 'mp4', 'video/webm': 'webm', 'audio/mpeg': 'mp3', 'audio/wav': 'wav', 'audio/x-wav': 'wav',
  'audio/ogg': 'ogg', 'model/gltf-binary': 'glb', 'text/plain': 'txt', 'application/json': 'json',
};

function extensionOf(contentType: string | undefined, url: string): string {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (EXTENSIONS[type]) return EXTENSIONS[type];
  const fromPath = /\.([a-z0-9]{1,5})(?:$|\?)/i.exec(new URL(url, 'http://x').pathname)?.[1];
  return fromPath ? fromPath.toLowerCase() : 'bin';
}

/**
 * Copies one output file into genjobs' storage and returns its `$file` marker, so the job keeps
 * working links after the provider's expire. Accepts http(s) URLs and base64 `data:` URLs.
 */
export async function copyOutput(p: { url: string; jobId: string; files: FileStorage; signal: AbortSignal; timeoutMs: number } & OutputOrigins): Promise<FileMarker> {
  const data = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(p.url);
  if (data) {
    const bytes = data[2] ? Buffer.from(data[3] ?? '', 'base64') : Buffer.from(decodeURIComponent(data[3] ?? ''));
    try {
      return fileMarker(await p.files.put({ jobId: p.jobId, extension: extensionOf(data[1], 'x'), source: bytes, limit: MAX_BYTES }));
    } catch (err) {
      if (err instanceof FileSizeError) throw new ProviderError(`could not copy a data: URL output: ${err.reason === 'empty' ? 'it is empty' : `it is larger than ${MAX_BYTES} bytes`}`);
      throw err;
    }
  }
  const fail = (problem: string) => new ProviderError(`could not copy the output ${shown(p.url)}: ${problem}`);
  try {
    const res = await getFollowing(p.url, p, AbortSignal.any([p.signal, AbortSignal.timeout(p.timeoutMs)]));
    const type = res.headers['content-type'];
    // Only a 2xx carries the file: a 3xx left over (too many redirects, 304) has no usable body.
    if (res.statusCode < 200 || res.statusCode >= 300) {
      await res.body.dump();
      throw fail(`the provider's storage answered ${res.statusCode}`);
    }
    // Streamed to storage as it arrives: memory stays bounded whatever the file's size.
    const contentType = Array.isArray(type) ? type[0] : type;
    const extension = extensionOf(contentType, p.url);
    // The declared type goes along: an HTML error page at a .png URL is refused, not kept as an image.
    try {
      return fileMarker(await p.files.put({ jobId: p.jobId, extension, contentType, source: res.body, limit: MAX_BYTES }));
    } catch (err) {
      // A refusal before the first byte leaves the answer unread: discard it so its connection goes.
      await res.body.dump().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    if (p.signal.aborted) throw p.signal.reason;
    if (err instanceof ProviderError) throw err;
    if (err instanceof FileSizeError) throw fail(err.reason === 'empty' ? 'it is empty' : `it is larger than ${MAX_BYTES} bytes`);
    if (err instanceof FileTypeError) throw fail(`its content type contradicts its name (${err.message})`);
    const refused = err instanceof PrivateTargetError ? err : (err as { cause?: unknown }).cause;
    if (refused instanceof PrivateTargetError) throw fail(refused.message);
    // Otherwise the job would show undici's own words, such as "The operation was aborted due to timeout".
    throw fail((err as Error).name === 'TimeoutError' ? `no complete answer within ${p.timeoutMs} ms` : (err as Error).message);
  }
}

/** Copies every URL in an output value (a string, or an array of them) and puts its marker in its place, keeping the shape. */
export async function copyOutputs(value: unknown, p: { jobId: string; files: FileStorage; signal: AbortSignal; timeoutMs: number } & OutputOrigins): Promise<unknown> {
  if (typeof value === 'string' && /^(https?:|data:)/.test(value)) return copyOutput({ ...p, url: value });
  if (Array.isArray(value)) return Promise.all(value.map((v) => copyOutputs(v, p)));
  return value;
}

/**
 * For providers whose files are not copied (`copy_outputs: false`): every URL in an output
 * value (a string, or an array of them) marked as the provider's own, keeping the shape.
 */
export function markUpstream(value: unknown): unknown {
  if (typeof value === 'string' && /^(https?:|data:)/.test(value)) return upstreamMarker(value) satisfies UpstreamMarker;
  if (Array.isArray(value)) return value.map(markUpstream);
  return value;
}
