import { Gauge } from 'prom-client';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

interface Snapshot {
  queue: Awaited<ReturnType<Store['jobQueueStats']>>;
  oldestWebhookAt: number | null;
  at: number;
}

/**
 * The backlog gauges, read from the store when Prometheus scrapes: pending jobs per model, the
 * age of the oldest pending job and of the oldest webhook delivery still owed. Two grouped reads
 * on partial indexes, cached for `cacheMs` so that several scrapers (or a fast one) cost one
 * read. On PostgreSQL every process reports the same shared figures: aggregate them with max().
 */
export function registerQueueProbe(metrics: Metrics, store: Store, opts: { cacheMs?: number; now?: () => number } = {}): void {
  const cacheMs = opts.cacheMs ?? 2_000;
  const now = opts.now ?? Date.now;
  let last: Promise<Snapshot> | null = null;
  let lastAt = 0;
  const read = (): Promise<Snapshot> => {
    const t = now();
    if (last === null || t - lastAt >= cacheMs) {
      lastAt = t;
      last = Promise.all([store.jobQueueStats(), store.webhookOldestPendingAt()]).then(([queue, oldestWebhookAt]) => ({ queue, oldestWebhookAt, at: t }));
      // A failed read is not kept: the next scrape tries again.
      last.catch(() => { last = null; });
    }
    return last;
  };
  const seen = new Set<string>();
  new Gauge({
    name: 'genjobs_queue_depth', help: 'Pending jobs per model (app: app runs), read from the store.', labelNames: ['model'], registers: [metrics.registry],
    async collect() {
      const s = await read();
      const found = new Map(s.queue.map((r) => [r.modelId ?? 'app', r.pending]));
      for (const m of found.keys()) seen.add(m);
      // Models seen before and now empty stay at 0 rather than vanishing.
      for (const m of seen) this.set({ model: m }, found.get(m) ?? 0);
    },
  });
  new Gauge({
    name: 'genjobs_queue_oldest_pending_seconds', help: 'Age of the oldest pending job, 0 when none is.', registers: [metrics.registry],
    async collect() {
      const s = await read();
      const oldest = Math.min(...s.queue.map((r) => r.oldestCreatedAt));
      this.set(Number.isFinite(oldest) ? Math.max(0, s.at - oldest) / 1000 : 0);
    },
  });
  new Gauge({
    name: 'genjobs_webhook_oldest_undelivered_seconds', help: 'Age of the oldest webhook delivery still being tried, 0 when none is.', registers: [metrics.registry],
    async collect() {
      const s = await read();
      this.set(s.oldestWebhookAt === null ? 0 : Math.max(0, s.at - s.oldestWebhookAt) / 1000);
    },
  });
}
