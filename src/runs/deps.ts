import type { AppDirectory } from '../apps/directory.js';
import type { JobsDeps } from '../jobs/deps.js';

/** What the run use cases need: the job use cases' dependencies and where apps come from. */
export interface RunsDeps extends JobsDeps {
  apps: AppDirectory;
  /** Whether webhook targets may be private or local addresses (GENJOBS_WEBHOOK_ALLOW_PRIVATE). */
  webhookAllowPrivate: boolean;
}
