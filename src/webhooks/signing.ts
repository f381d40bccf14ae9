import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new webhook secret in the Standard Webhooks form: `whsec_` and base64 of 24 random bytes. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** The HMAC key of a secret: the bytes its base64 part stands for. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/**
 * The signature headers of one attempt. Standard Webhooks: `webhook-signature` holds
 * `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret (the current one first, then the
 * previous one while a rotation's grace lasts). The platform's own header: `X-Armox-Signature:
 * sha256=<hex HMAC-SHA256 of the body>` with the current secret, and the previous secret's in
 * `X-Armox-Signature-Previous` during the grace period. Both HMACs use the same key bytes.
 */
export function signatureHeaders(p: { secrets: string[]; id: string; timestamp: number; body: string }): Record<string, string> {
  const [current, ...older] = p.secrets;
  if (!current) throw new Error('no webhook secret to sign with');
  const standard = (secret: string) => `v1,${createHmac('sha256', keyOf(secret)).update(`${p.id}.${p.timestamp}.${p.body}`).digest('base64')}`;
  const hex = (secret: string) => `sha256=${createHmac('sha256', keyOf(secret)).update(p.body).digest('hex')}`;
  return {
    'webhook-id': p.id,
    'webhook-timestamp': String(p.timestamp),
    'webhook-signature': p.secrets.map(standard).join(' '),
    'x-armox-signature': hex(current),
    ...(older[0] ? { 'x-armox-signature-previous': hex(older[0]) } : {}),
  };
}
