/**
 * The job statuses, for the layers above the store that may not import it directly (the API's
 * schemas): the vocabulary itself lives in the store layer (src/store/vocabulary.ts).
 */
export { JOB_STATUSES, type JobStatus } from '../store/store.js';
