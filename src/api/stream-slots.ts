import { apiError } from '../errors/api-error.js';

/** What a client refused a stream is told to wait before it tries again. */
const RETRY_AFTER_S = 10;

/**
 * Open event streams, counted per API key and for the whole process. Each stream holds a
 * socket and some memory for as long as it is open, so neither one key nor all keys together
 * may hold more than their share.
 */
export class StreamSlots {
  private total = 0;
  private readonly byKey = new Map<string, number>();

  constructor(private readonly perKey: number, private readonly max: number) {}

  /** Takes a slot for a stream of `keyId` and returns what gives it back, or throws a 429 `too_many_streams`. */
  take(keyId: string): () => void {
    const held = this.byKey.get(keyId) ?? 0;
    const refuse = (detail: string) => apiError('too_many_streams', { detail }, { headers: { 'Retry-After': String(RETRY_AFTER_S) } });
    if (held >= this.perKey) throw refuse(`this API key has ${held} open, the most one key may hold (GENJOBS_STREAMS_PER_KEY)`);
    if (this.total >= this.max) throw refuse(`this server has ${this.total} open, the most it holds (GENJOBS_STREAMS_MAX)`);
    this.byKey.set(keyId, held + 1);
    this.total++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.total--;
      const left = (this.byKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.byKey.set(keyId, left);
      else this.byKey.delete(keyId);
    };
  }

  get open(): number {
    return this.total;
  }
}
