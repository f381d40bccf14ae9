/**
 * An HTTP `Retry-After` header (seconds, or an HTTP date) in milliseconds from `now`; null when
 * absent or unreadable. Read by the provider clients (a 429 from upstream) and by the webhook
 * dispatcher (a 429 or 503 from a receiver).
 */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
