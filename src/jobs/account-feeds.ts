import { allWithLinks } from './links.js';
import { isTerminal, type JobNotice, type JobRecord, type JobStatus, type UserRecord } from '../store/store.js';
import type { JobsDeps } from './deps.js';
import { AccountWatch, type LiveEvent } from './live.js';

/** How many of an account's newest jobs a sweep reads. */
const SWEEP_LIMIT = 50;
/** How many older unfinished jobs a sweep reads one by one, the longest unread first. */
const SWEEP_OLDER = 100;
/** How many job ids a feed (statuses seen, unfinished jobs) and the router (owners) remember. */
const REMEMBER = 5_000;
/** Streams told of a change between two turns of the event loop. */
const FAN_OUT_BATCH = 100;
/**
 * Accounts swept per `sweepMs`, the longest unswept first: with more accounts than this holding
 * streams, each is swept less often than every `sweepMs`, so idle streams of many accounts do not
 * cost a store read per account every second (1,000 accounts: 1,000 reads of 50 jobs a second).
 * Notices still reach each stream at once; the sweep only finds what no notice told of.
 */
export const SWEEP_ACCOUNTS_PER_TICK = 100;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function remember<V>(map: Map<string, V>, id: string, value: V): void {
  map.delete(id);
  map.set(id, value);
  if (map.size > REMEMBER) map.delete(map.keys().next().value as string);
}

/** One account stream as its feed sees it. */
interface Member {
  watch: AccountWatch;
  deliver: (events: LiveEvent[]) => void;
  left: boolean;
}

/**
 * Runs `step` now, or once more after the run under way: a feed's reads never overlap, so
 * what it hands on is in the order the store changed.
 */
class Serial {
  private busy = false;
  private again = false;

  constructor(private readonly step: () => Promise<void>, private readonly onError: (err: unknown) => void) {}

  poke(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.step().catch(this.onError).finally(() => {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.poke();
      }
    });
  }
}

/**
 * The streams of one account. A changed job is read once here and offered to every stream,
 * which tells it only if its status is new to that stream; a sweep every `sweepMs` (one for
 * all the account's streams) finds changes no notice told of.
 */
class Feed {
  readonly members = new Set<Member>();
  private readonly joining: { member: Member; resolve: (first: LiveEvent[]) => void; reject: (err: unknown) => void }[] = [];
  private readonly ids = new Set<string>();
  private sweepDue = false;
  /** The status this feed last read of each job, and the jobs not finished then. */
  private readonly seen = new Map<string, JobStatus>();
  private readonly open = new Map<string, true>();
  private readonly serial: Serial;

  constructor(private readonly deps: JobsDeps, readonly userId: string, onError: (err: unknown) => void) {
    this.serial = new Serial(() => this.step(), onError);
  }

  get size(): number {
    return this.members.size + this.joining.length;
  }

  join(member: Member): Promise<LiveEvent[]> {
    return new Promise((resolve, reject) => {
      this.joining.push({ member, resolve, reject });
      this.serial.poke();
    });
  }

  leave(member: Member): void {
    member.left = true;
    this.members.delete(member);
  }

  heard(id: string): void {
    this.ids.add(id);
    this.serial.poke();
  }

  sweep(): void {
    this.sweepDue = true;
    this.serial.poke();
  }

  private async step(): Promise<void> {
    // A stream starts between two looks: it is offered every change read after its own first reads.
    for (const { member, resolve, reject } of this.joining.splice(0)) {
      try {
        const first = await member.watch.start();
        if (!member.left) {
          this.members.add(member);
          for (const id of member.watch.unfinished()) remember(this.open, id, true);
        }
        resolve(first);
      } catch (err) {
        reject(err);
      }
    }
    const found: JobRecord[] = [];
    const ids = [...this.ids];
    this.ids.clear();
    for (const id of ids) {
      const job = await this.deps.store.jobGetById({ id, userId: this.userId });
      if (job) found.push(job);
    }
    // A notice may tell of progress or output, not a status: each job read is offered all the same.
    for (const job of found) this.note(job);
    await this.offer(found);
    if (this.sweepDue) {
      this.sweepDue = false;
      await this.sweepNow();
    }
  }

  /** The newest jobs and the unfinished ones seen: those whose status changed since this feed last read them are offered. */
  private async sweepNow(): Promise<void> {
    if (this.members.size === 0) return;
    const recent = (await this.deps.store.jobList({ userId: this.userId, limit: SWEEP_LIMIT })).reverse();
    const inRecent = new Set(recent.map((j) => j.id));
    const older: JobRecord[] = [];
    // A read moves a job to the back of `open` (note), so a long queue is read a slice per sweep.
    const unread = [...this.open.keys()].filter((i) => !inRecent.has(i)).slice(0, SWEEP_OLDER);
    for (const id of unread) {
      const job = await this.deps.store.jobGetById({ id, userId: this.userId });
      if (job) older.push(job);
      else this.open.delete(id);
    }
    await this.offer([...recent, ...older].filter((job) => this.note(job)));
  }

  /** Records a read of `job`; true when its status is not the one this feed read before. */
  private note(job: JobRecord): boolean {
    const changed = this.seen.get(job.id) !== job.status;
    remember(this.seen, job.id, job.status);
    if (isTerminal(job.status)) this.open.delete(job.id);
    else remember(this.open, job.id, true);
    return changed;
  }

  /**
   * Offers `jobs` to every stream, giving the event loop back every FAN_OUT_BATCH streams: a
   * change told to thousands of streams must not hold up the requests that arrive meanwhile.
   */
  private async offer(jobs: JobRecord[]): Promise<void> {
    if (jobs.length === 0) return;
    // Links made once per read, by this process, for every stream of the account.
    const shown = await allWithLinks(jobs, this.deps.links);
    let n = 0;
    for (const member of [...this.members]) {
      if (member.left) continue;
      const events = member.watch.offer(shown);
      if (events.length > 0) member.deliver(events);
      if (++n % FAN_OUT_BATCH === 0) await yieldToLoop();
    }
  }
}

/**
 * The account event streams of this process (GET /jobs/events), grouped by account. One
 * subscription to the process's job notices, held while any stream is open, serves them all:
 * a notice reaches only its account's feed, and a changed job is read once for all of that
 * account's streams, so a stream costs in proportion to its own events, not to how many
 * streams are open.
 */
export class AccountFeeds {
  private readonly feeds = new Map<string, Feed>();
  /** Whose job each id is, so a notice that does not say reaches its feed without a read. */
  private readonly owners = new Map<string, string>();
  private readonly unrouted = new Set<string>();
  private readonly router: Serial;
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: JobsDeps, private readonly opts: { sweepMs?: number; onError?: (err: unknown) => void } = {}) {
    this.router = new Serial(() => this.route(), (err) => this.opts.onError?.(err));
  }

  /**
   * Adds a stream of `user`'s jobs: resolves with its first events (the unfinished jobs) and a
   * `leave` to call when the stream ends; `deliver` gets each later batch of events, in order.
   */
  async join(user: UserRecord, deliver: (events: LiveEvent[]) => void): Promise<{ first: LiveEvent[]; leave: () => void }> {
    this.subscribe();
    let feed = this.feeds.get(user.id);
    if (!feed) {
      feed = new Feed(this.deps, user.id, (err) => this.opts.onError?.(err));
      this.feeds.set(user.id, feed);
    }
    const member: Member = { watch: new AccountWatch(this.deps, user), deliver, left: false };
    const leave = () => {
      if (member.left) return;
      feed.leave(member);
      if (feed.size === 0 && this.feeds.get(user.id) === feed) {
        this.feeds.delete(user.id);
        if (this.feeds.size === 0) this.unsubscribeAll();
      }
    };
    try {
      return { first: await feed.join(member), leave };
    } catch (err) {
      leave();
      throw err;
    }
  }

  /** What is open: accounts with streams, streams, and subscriptions to the process's job notices. */
  get stats(): { accounts: number; streams: number; subscriptions: number } {
    let streams = 0;
    for (const feed of this.feeds.values()) streams += feed.members.size;
    return { accounts: this.feeds.size, streams, subscriptions: this.unsubscribe ? 1 : 0 };
  }

  /**
   * Sweeps the SWEEP_ACCOUNTS_PER_TICK accounts swept longest ago (every one when there are no
   * more); runs every `sweepMs` while any stream is open.
   */
  sweepTick(): void {
    const due = [...this.feeds.keys()].slice(0, SWEEP_ACCOUNTS_PER_TICK);
    for (const userId of due) {
      const feed = this.feeds.get(userId)!;
      // To the back of the order: the next tick starts with the accounts not swept here.
      this.feeds.delete(userId);
      this.feeds.set(userId, feed);
      feed.sweep();
    }
  }

  private subscribe(): void {
    if (this.unsubscribe) return;
    const offChanged = this.deps.events.onChanged((n) => this.heard(n));
    const offCreated = this.deps.events.onCreated((n) => this.heard(n));
    this.sweepTimer = setInterval(() => this.sweepTick(), this.opts.sweepMs ?? 1_000);
    this.unsubscribe = () => {
      offChanged();
      offCreated();
    };
  }

  private unsubscribeAll(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  private heard(notice?: JobNotice): void {
    if (!notice) {
      // Notices may have been missed: every account looks again.
      for (const feed of this.feeds.values()) feed.sweep();
      return;
    }
    if (notice.userId) remember(this.owners, notice.id, notice.userId);
    const owner = notice.userId ?? this.owners.get(notice.id);
    if (owner !== undefined) {
      this.feeds.get(owner)?.heard(notice.id);
      return;
    }
    this.unrouted.add(notice.id);
    this.router.poke();
  }

  /**
   * Finds the owner of each job not known yet, then tells its account's feed, which reads the
   * job itself: only a feed's own reads, one after another, decide the order of its events.
   */
  private async route(): Promise<void> {
    const ids = [...this.unrouted];
    this.unrouted.clear();
    for (const id of ids) {
      const job = await this.deps.store.jobGetById({ id });
      if (!job) continue;
      remember(this.owners, id, job.userId);
      this.feeds.get(job.userId)?.heard(id);
    }
  }
}
