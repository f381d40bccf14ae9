/**
 * The database cannot be reached right now (down, restarting, out of connections). The API
 * answers 503 with Retry-After instead of hanging; the executor logs it and tries again later.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  constructor(cause: unknown) {
    super('the database cannot be reached', { cause });
  }
}
