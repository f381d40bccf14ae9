import { WebhookVerificationError } from './errors.js';
import type { WebhookEvent } from './types.js';

export interface VerifyWebhookOptions {
  /** The raw body exactly as received (not re-serialised JSON). */
  body: string | Uint8Array;
  /** The request's headers. */
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The account's webhook secret (`whsec_…`); during a rotation, the new and the previous one. */
  secret: string | string[];
  /** How far `webhook-timestamp` may be from now, against replays. (Default: 300 s) */
  toleranceSeconds?: number;
  /** The time to check against, in ms. (Default: Date.now()) */
  now?: number;
}

const PREFIX = 'whsec_';
const encoder = new TextEncoder();
type Bytes = Uint8Array<ArrayBuffer>;

/**
 * Checks a webhook delivery and returns its parsed event, or throws WebhookVerificationError.
 * Both schemes genjobs signs with are accepted: Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`, checked first, with the timestamp
 * tolerance) and the platform's `X-Armox-Signature: sha256=<hex>` of the body. Uses Web Crypto,
 * so it runs in Node 20 and in browsers alike; comparisons are constant-time (`subtle.verify`).
 */
export async function verifyWebhook(options: VerifyWebhookOptions): Promise<WebhookEvent> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new WebhookVerificationError('Web Crypto (crypto.subtle) is not available here: use Node 20 or a secure (https) page.');
  const body: Bytes = typeof options.body === 'string' ? encoder.encode(options.body) : new Uint8Array(options.body);
  const header = headerReader(options.headers);
  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.length === 0) throw new WebhookVerificationError('No webhook secret to check against.');
  const keys = await Promise.all(secrets.map((s) => subtle.importKey('raw', keyBytes(s), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])));

  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const standard = header('webhook-signature');
  const armox = header('x-armox-signature');
  let verified = false;
  if (id && timestamp && standard) {
    const seconds = Number(timestamp);
    const now = (options.now ?? Date.now()) / 1000;
    if (!Number.isFinite(seconds) || Math.abs(now - seconds) > (options.toleranceSeconds ?? 300)) {
      throw new WebhookVerificationError('webhook-timestamp is too far from now: a stale or replayed delivery.');
    }
    const signed = concat(encoder.encode(`${id}.${timestamp}.`), body);
    const candidates = standard.split(' ').filter((s) => s.startsWith('v1,')).map((s) => base64Bytes(s.slice(3)));
    verified = await anyVerifies(subtle, keys, candidates, signed);
  } else if (armox) {
    const m = /^sha256=([0-9a-f]{64})$/i.exec(armox.trim());
    verified = m !== null && await anyVerifies(subtle, keys, [hexBytes(m[1]!)], body);
  } else {
    throw new WebhookVerificationError('No signature headers: expected webhook-id, webhook-timestamp and webhook-signature, or X-Armox-Signature.');
  }
  if (!verified) throw new WebhookVerificationError('The webhook signature does not match the secret.');
  try {
    return JSON.parse(new TextDecoder().decode(body)) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('The webhook body is not JSON.');
  }
}

async function anyVerifies(subtle: SubtleCrypto, keys: CryptoKey[], signatures: (Bytes | null)[], data: Bytes): Promise<boolean> {
  for (const key of keys) {
    for (const sig of signatures) if (sig && await subtle.verify('HMAC', key, sig, data)) return true;
  }
  return false;
}

function headerReader(headers: VerifyWebhookOptions['headers']): (name: string) => string | null {
  if (typeof (headers as Headers).get === 'function') return (name) => (headers as Headers).get(name);
  const lower = new Map(Object.entries(headers as Record<string, string | string[] | undefined>).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => {
    const v = lower.get(name);
    return Array.isArray(v) ? v.join(' ') : v ?? null;
  };
}

/** The HMAC key of a secret: the bytes its base64 part stands for. */
function keyBytes(secret: string): Bytes {
  const bytes = base64Bytes(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret);
  if (!bytes || bytes.length === 0) throw new WebhookVerificationError('The webhook secret is not a whsec_ secret (base64 after the prefix).');
  return bytes;
}

function base64Bytes(text: string): Bytes | null {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

function hexBytes(hex: string): Bytes {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function concat(a: Bytes, b: Bytes): Bytes {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
