import type { AppDirectory } from '../apps/directory.js';
import type { JobsDeps } from '../jobs/deps.js';

/** What the run use cases need: the job use cases' dependencies and where apps come from. */
export interface RunsDeps extends JobsDeps {
  apps: AppDirectory;
}
