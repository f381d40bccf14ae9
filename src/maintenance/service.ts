import type { Logger } from 'pino';
import type { Millis, Store } from '../store/store.js';

/**
 * One periodic piece of upkeep: it runs every `everyMs` in the process that leads, and says how
 * many things it changed (for the log). Chores must be safe to run again after a crash halfway:
 * each change they make is one guarded store call.
 */
export interface Chore {
  /** Names the chore in logs. */
  name: string;
  /** How often it runs. */
  everyMs: number;
  /** `signal` is aborted when the service stops: a chore that works in several steps ends after the current one. */
  run(now: Millis, signal?: AbortSignal): Promise<number>;
}

export interface MaintenanceOptions {
  store: Store;
  logger: Logger;
  chores: Chore[];
  /** How often the service checks that it leads and runs the chores that are due. (Default: 1000 ms) */
  tickMs?: number;
  /** The leadership the processes sharing the store compete for. (Default: "maintenance") */
  leaderName?: string;
}

/**
 * The maintenance service: the periodic chores of a deployment (failing abandoned jobs,
 * cancelling jobs past their deadline, pruning old rate-limit counts, deleting old finished jobs),
 * each on its own schedule, run by one process at a time. Every process that starts it takes
 * part in the election (a PostgreSQL advisory lock, see `Store.leaderTryAcquire`); the leader runs
 * the chores and the others only keep asking, so when the leader dies or stops, another takes
 * over at its next tick. On SQLite the one process always leads.
 */
export class MaintenanceService {
  private readonly tickMs: number;
  private readonly leaderName: string;
  private readonly lastRun = new Map<string, Millis>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> = Promise.resolve();
  private busy = false;
  private leading = false;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly o: MaintenanceOptions) {
    this.tickMs = o.tickMs ?? 1_000;
    this.leaderName = o.leaderName ?? 'maintenance';
  }

  /** The chores this service runs, by name, in the order it runs them. */
  get choreNames(): string[] {
    return this.o.chores.map((c) => c.name);
  }

  /** Whether this process led at its last tick. */
  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    void this.tick();
  }

  /** One tick now, unless one is under way: the chores that are due, if this process leads. */
  tick(now = Date.now()): Promise<unknown> {
    if (this.busy || this.stopped) return this.round;
    this.busy = true;
    this.round = this.runDue(now).finally(() => { this.busy = false; });
    return this.round;
  }

  private async runDue(now: Millis): Promise<void> {
    try {
      const leading = await this.o.store.leaderTryAcquire({ name: this.leaderName });
      if (leading !== this.leading) this.o.logger.info({ leading }, leading ? 'maintenance: this process leads' : 'maintenance: another process leads');
      this.leading = leading;
    } catch (err) {
      this.leading = false;
      this.o.logger.error({ err }, 'maintenance: the leader election failed');
    }
    if (!this.leading) return;
    for (const chore of this.o.chores) {
      if (this.stopped) return;
      if (now - (this.lastRun.get(chore.name) ?? -Infinity) < chore.everyMs) continue;
      this.lastRun.set(chore.name, now);
      try {
        const changed = await chore.run(now, this.stopping.signal);
        if (changed > 0) this.o.logger.debug({ chore: chore.name, changed }, 'maintenance: chore done');
      } catch (err) {
        this.o.logger.error({ err, chore: chore.name }, 'maintenance: chore failed');
      }
    }
  }

  /** Stops ticking, lets a round under way finish, and gives the leadership up for another process. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopping.abort();
    clearInterval(this.timer);
    await this.round;
    this.leading = false;
    await this.o.store.leaderRelease({ name: this.leaderName }).catch((err: unknown) => this.o.logger.error({ err }, 'maintenance: giving up the leadership failed'));
  }
}
