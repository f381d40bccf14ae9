import type { ApiKeyRecord, UserRecord } from '../store/store.js';

/** Who a public API request speaks for: the account and the key it presented. */
export interface Caller {
  user: UserRecord;
  key: ApiKeyRecord;
}
