import { rewriteOldOutputs, type DescribeFile } from '../jobs/output-rewrites.js';
import type { Store } from '../store/store.js';
import type { Chore } from './service.js';

/**
 * Outputs stored with file URLs before references (listed by migration sqlite 0009 / postgres
 * 0010) are rewritten to references once their jobs are finished, a batch at a time. Once the
 * list is empty a run costs one indexed read.
 */
export function rewriteOldOutputsChore(deps: { store: Store; describe: DescribeFile }, p: { everyMs: number; batch?: number }): Chore {
  return {
    name: 'rewrite-old-outputs',
    everyMs: p.everyMs,
    // A run is bounded, so the leader's other chores keep their turns; the rest waits for the next.
    run: () => rewriteOldOutputs(deps.store, deps.describe, { batch: p.batch ?? 100, maxBatches: 20 }),
  };
}
