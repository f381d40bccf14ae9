import type { Catalog } from '../catalog/load.js';
import type { Store } from '../store/store.js';
import type { JobEvents } from './events.js';
import type { FinalJobCache } from './final-jobs.js';
import type { OutputLinks } from './links.js';

/** What the job use cases need. */
export interface JobsDeps {
  store: Store;
  catalog: Catalog;
  events: JobEvents;
  /** How long a run of a synchronous model waits for its result. (Default: 60000 ms) */
  syncWaitMs: number;
  /** Percent of the charge refunded when a processing job is cancelled. (Default: 100) */
  cancelRefundPercent: number;
  /** Finished jobs read recently, answered without the store (GET /jobs/:id). */
  finalJobs?: FinalJobCache;
  /** How this process links the files of the outputs it shows. */
  links: OutputLinks;
}
