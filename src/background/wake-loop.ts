/**
 * Runs `work` whenever it is woken, never twice at once: a wake that arrives while it runs makes
 * it run once more afterwards, and so does `work` answering true (a full batch: more is likely
 * waiting). The executor's claims and the webhook dispatcher's both run this way.
 */
export class WakeLoop {
  private running = false;
  private again = false;
  private stopped = false;
  /** When `work` last came back (either way), or when the loop was made: readiness watches it. */
  lastTurnAt = Date.now();

  constructor(private readonly work: () => Promise<boolean>, private readonly onError: (err: unknown) => void) {}

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.work()
      .then((more) => { if (more) this.again = true; }, this.onError)
      .finally(() => {
        this.running = false;
        this.lastTurnAt = Date.now();
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  stop(): void {
    this.stopped = true;
  }
}
