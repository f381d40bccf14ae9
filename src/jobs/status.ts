/**
 * The job statuses and priorities, for the layers above the store that may not import it
 * directly (the API's schemas): the vocabulary itself lives in the store layer (src/store/vocabulary.ts).
 */
export { JOB_PRIORITIES, JOB_STATUSES, type JobPriority, type JobStatus } from '../store/store.js';
